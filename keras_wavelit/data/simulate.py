"""Generating the embedded datasets in The Well's on-disk layout."""

import dataclasses
import importlib
import os
import time
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

from keras_wavelit.data.errors import WellDataError

# Dataset name -> module implementing `run(...)`.
SYSTEMS = {
    "acoustic_scattering_2d": "keras_wavelit.data.acoustics",
    "gray_scott_2d": "keras_wavelit.data.gray_scott",
    "kolmogorov_2d": "keras_wavelit.data.kolmogorov",
}
SPLITS = ("train", "valid", "test")


def available_datasets() -> List[str]:
    """Names accepted by `simulate` and `wavelit generate`.

    Example:

    ```python
    from keras_wavelit.data import available_datasets

    assert "gray_scott_2d" in available_datasets()
    ```
    """
    return sorted(SYSTEMS)


def _system(name: str):
    if name not in SYSTEMS:
        raise WellDataError(
            f"Unknown embedded dataset {name!r}; available: {available_datasets()}."
        )
    return importlib.import_module(SYSTEMS[name])


def default_sizes(name: str) -> Tuple[int, int]:
    """`(n_trajectories, n_steps)` used by `simulate` when not given.

    Example:

    ```python
    from keras_wavelit.data import default_sizes

    n_trajectories, n_steps = default_sizes("acoustic_scattering_2d")
    ```
    """
    module = _system(name)
    return module.DEFAULT_N_TRAJECTORIES, module.DEFAULT_N_STEPS


def split_counts(
    n_trajectories: int, fractions: Sequence[float] = (0.75, 0.125, 0.125)
) -> Dict[str, int]:
    """Trajectories per split: valid and test get their fraction (at least 1), train the rest.

    Args:
        n_trajectories: int >= 3, trajectories over the three splits.
        fractions: `(train, valid, test)` fractions. Defaults to
            `(0.75, 0.125, 0.125)`.

    Returns:
        `{"train": n, "valid": n, "test": n}`.

    Example:

    ```python
    from keras_wavelit.data import split_counts

    assert split_counts(32) == {"train": 24, "valid": 4, "test": 4}
    ```
    """
    if n_trajectories < 3:
        raise WellDataError(
            f"n_trajectories={n_trajectories}: need at least 3 (one each for train, valid, test)."
        )
    n_valid = max(1, int(round(n_trajectories * fractions[1])))
    n_test = max(1, int(round(n_trajectories * fractions[2])))
    n_train = n_trajectories - n_valid - n_test
    if n_train < 1:
        raise WellDataError(f"n_trajectories={n_trajectories} leaves no training trajectory.")
    return {"train": n_train, "valid": n_valid, "test": n_test}


@dataclasses.dataclass
class GeneratedDataset:
    """What `simulate` wrote.

    Attributes:
        name: dataset name.
        well_base_path: the base directory (pass it to `WellSequence`).
        dataset_dir: `<well_base_path>/datasets/<name>`.
        files: split name to the HDF5 file written.
        stats_path: path of `stats.yaml`.
        n_trajectories: split name to trajectory count.
        n_steps: snapshots per trajectory.
        resolution: grid points per side.
        seconds: wall-clock time of simulation and writing.
        bytes: total size of the files written.
        diagnostics: solver facts (time step, CFL number, ...).
    """

    name: str
    well_base_path: str
    dataset_dir: str
    files: Dict[str, str]
    stats_path: str
    n_trajectories: Dict[str, int]
    n_steps: int
    resolution: int
    seconds: float
    bytes: int
    diagnostics: Dict[str, object]


def dataset_dir(out_dir: str, name: str) -> str:
    """`<out_dir>/datasets/<name>`: where `simulate` writes (The Well's layout)."""
    return os.path.join(out_dir, "datasets", name)


def _check_sizes(resolution, n_steps):
    if resolution < 8:
        raise WellDataError(f"resolution={resolution}: need at least 8 grid points per side.")
    if n_steps < 2:
        raise WellDataError(f"n_steps={n_steps}: need at least 2 snapshots per trajectory.")


def _clear_existing(name, ds_dir, split_paths, stats_path, overwrite):
    """Removes a previous dataset's files, or refuses without `overwrite`."""
    existing = [p for p in list(split_paths.values()) + [stats_path] if os.path.exists(p)]
    for s in SPLITS:
        d = os.path.join(ds_dir, "data", s)
        if os.path.isdir(d):
            existing += [os.path.join(d, f) for f in os.listdir(d) if f.endswith((".hdf5", ".h5"))]
    existing = sorted(set(existing))
    if existing and not overwrite:
        raise WellDataError(
            f"{ds_dir}: dataset '{name}' already exists ({len(existing)} files); "
            "pass overwrite=True (CLI: --overwrite) to replace it."
        )
    for p in existing:
        os.remove(p)


def _progress_callback(verbose):
    """A `progress(done, total)` callback drawing a Keras progress bar, or None."""
    if not verbose:
        return None
    import keras

    bar = None

    def progress(done, total):
        nonlocal bar
        if bar is None:
            bar = keras.utils.Progbar(total, unit_name="snapshot")
        bar.update(done)

    return progress


def _write_splits(result, counts, split_paths, stats_path):
    """Writes each split's trajectories (atomically), validates them, then the stats."""
    from keras_wavelit.data.stats import compute_stats
    from keras_wavelit.data.stats import write_stats
    from keras_wavelit.data.well_validator import validate_well_file
    from keras_wavelit.data.well_writer import write_well_file

    first = 0
    for split in SPLITS:
        idx = list(range(first, first + counts[split]))
        first += counts[split]
        tmp = split_paths[split] + ".part"
        write_well_file(tmp, **result.subset(idx))
        os.replace(tmp, split_paths[split])
        validate_well_file(split_paths[split])
    write_stats(stats_path, compute_stats([split_paths["train"]]))


def simulate(
    name: str,
    out_dir: str,
    resolution: int = 64,
    n_trajectories: Optional[int] = None,
    n_steps: Optional[int] = None,
    seed: int = 0,
    *,
    verbose: int = 1,
    overwrite: bool = False,
    **params,
) -> GeneratedDataset:
    """Simulates an embedded dataset and writes it in The Well's layout.

    Files go to `<out_dir>/datasets/<name>/data/{train,valid,test}/<name>_<split>.hdf5`
    and the statistics of the training split to
    `<out_dir>/datasets/<name>/stats.yaml`, so `out_dir` is a `well_base_path`
    for `WellSequence` and the directory `<out_dir>/datasets/<name>` is a
    `path` for `the_well.data.WellDataset`.

    Trajectories are split 75% / 12.5% / 12.5% (at least one each for valid
    and test). Trajectory `i` depends only on `(seed, i)`, so generation is
    deterministic.

    Args:
        name: one of `available_datasets()`: `"acoustic_scattering_2d"`,
            `"gray_scott_2d"`, `"kolmogorov_2d"`.
        out_dir: base directory.
        resolution: grid points per side (the grid is square).
        n_trajectories: total trajectories over the three splits (default 32).
        n_steps: snapshots per trajectory (default 80).
        seed: random seed.
        verbose: 1 shows a progress bar, 0 is silent.
        overwrite: replace an existing dataset of the same name in `out_dir`.
        **params: physical and numerical parameters of the system (see the
            `DEFAULT_PARAMS` of `keras_wavelit.data.acoustics`,
            `keras_wavelit.data.gray_scott`, `keras_wavelit.data.kolmogorov`).

    Returns:
        A `GeneratedDataset` describing the files written.

    Example:

    ```python
    import tempfile
    from keras_wavelit.data import simulate, validate_split

    info = simulate(
        "acoustic_scattering_2d",
        tempfile.mkdtemp(),
        resolution=16,
        n_trajectories=4,
        n_steps=6,
        verbose=0,
    )
    assert info.n_trajectories == {"train": 2, "valid": 1, "test": 1}
    validate_split(info.dataset_dir + "/data/train")
    # Then: WellSequence(info.well_base_path, "acoustic_scattering_2d", split="train")
    ```
    """
    module = _system(name)
    n_trajectories = (
        module.DEFAULT_N_TRAJECTORIES if n_trajectories is None else int(n_trajectories)
    )
    n_steps = module.DEFAULT_N_STEPS if n_steps is None else int(n_steps)
    resolution = int(resolution)
    _check_sizes(resolution, n_steps)
    counts = split_counts(n_trajectories)
    ds_dir = dataset_dir(out_dir, name)
    split_paths = {s: os.path.join(ds_dir, "data", s, f"{name}_{s}.hdf5") for s in SPLITS}
    stats_path = os.path.join(ds_dir, "stats.yaml")
    _clear_existing(name, ds_dir, split_paths, stats_path, overwrite)

    start = time.perf_counter()
    if verbose:
        print(
            f"Simulating {name}: {n_trajectories} trajectories x {n_steps} steps at "
            f"{resolution}x{resolution} (seed {seed})"
        )
    result = module.run(
        resolution=resolution,
        n_trajectories=n_trajectories,
        n_steps=n_steps,
        seed=seed,
        progress=_progress_callback(verbose),
        **params,
    )
    result.check_finite()
    _write_splits(result, counts, split_paths, stats_path)
    seconds = time.perf_counter() - start
    size = sum(os.path.getsize(p) for p in split_paths.values()) + os.path.getsize(stats_path)
    if verbose:
        print(
            f"Wrote {ds_dir} ({size / 2**20:.1f} MiB, train/valid/test = "
            f"{counts['train']}/{counts['valid']}/{counts['test']} trajectories) "
            f"in {seconds:.1f} s"
        )
    return GeneratedDataset(
        name=name,
        well_base_path=out_dir,
        dataset_dir=ds_dir,
        files=split_paths,
        stats_path=stats_path,
        n_trajectories=counts,
        n_steps=n_steps,
        resolution=resolution,
        seconds=seconds,
        bytes=size,
        diagnostics=dict(result.diagnostics),
    )
