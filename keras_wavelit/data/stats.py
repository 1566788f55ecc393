"""Normalization statistics (`stats.yaml`) in The Well's format.

The Well ships, next to each dataset's `data/` directory, a `stats.yaml` with
six top-level keys: `mean`, `std`, `rms` (over all time-varying and constant
fields) and `mean_delta`, `std_delta`, `rms_delta` (over the time increments
`u[t + 1] - u[t]` of the time-varying fields). Each maps a field name to a
number for a scalar field, a list of 2 numbers for a vector field and a 2x2
nested list for a rank-2 tensor field (one value per component).
"""

import os
from typing import Dict
from typing import Iterable
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

import numpy as np

from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.well_schema import FIELD_GROUPS
from keras_wavelit.data.well_schema import FieldInfo
from keras_wavelit.data.well_validator import validate_well_file

STATS_KEYS = ("mean", "std", "rms", "mean_delta", "std_delta", "rms_delta")
DELTA_KEYS = ("mean_delta", "std_delta", "rms_delta")


class _Accumulator:
    """Streaming per-component sum / sum of squares in float64."""

    def __init__(self):
        self.total = None
        self.total_sq = None
        self.count = 0

    def add(self, values: np.ndarray, n_component_axes: int):
        values = np.asarray(values, dtype=np.float64)
        axes = tuple(range(values.ndim - n_component_axes))
        s = values.sum(axis=axes)
        sq = np.square(values).sum(axis=axes)
        n = int(np.prod([values.shape[a] for a in axes])) if axes else 1
        if self.total is None:
            self.total, self.total_sq = s, sq
        else:
            self.total = self.total + s
            self.total_sq = self.total_sq + sq
        self.count += n

    def result(self) -> Dict[str, np.ndarray]:
        mean = self.total / self.count
        mean_sq = self.total_sq / self.count
        return {
            "mean": mean,
            "std": np.sqrt(np.maximum(mean_sq - mean**2, 0.0)),
            "rms": np.sqrt(mean_sq),
        }


def _to_yaml_value(value: np.ndarray):
    value = np.asarray(value, dtype=np.float64)
    if value.ndim == 0:
        return float(value)
    return value.tolist()


def compute_stats(paths: Sequence[str]) -> Dict[str, Dict[str, object]]:
    """Computes The Well's normalization statistics over a set of files.

    Statistics are per field and per tensor component, over all trajectories,
    time steps and grid points of the given files (normally the training
    split). Data are read one trajectory at a time.

    Args:
        paths: HDF5 files in The Well's layout (all of one dataset).

    Returns:
        A dict with the keys `mean`, `std`, `rms`, `mean_delta`, `std_delta`,
        `rms_delta`, each mapping field names to a float or nested list. The
        `_delta` keys only list time-varying fields.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.data import WellField, compute_stats, load_stats, write_stats
    from keras_wavelit.data import write_well_file

    folder = tempfile.mkdtemp()
    u = np.stack([np.full((4, 8, 8), 1.0), np.full((4, 8, 8), 3.0)])  # two trajectories
    path = write_well_file(
        os.path.join(folder, "train.hdf5"),
        dataset_name="demo",
        time=np.arange(4.0),
        space={"x": np.arange(8.0), "y": np.arange(8.0)},
        t0_fields={"u": WellField(u)},
    )
    stats = compute_stats([path])
    assert stats["mean"]["u"] == 2.0 and stats["std"]["u"] == 1.0
    stats_path = write_stats(os.path.join(folder, "stats.yaml"), stats)
    assert load_stats(stats_path)["rms"]["u"] == stats["rms"]["u"]
    ```
    """
    import h5py

    if not paths:
        raise WellDataError("compute_stats: no files given.")
    acc: Dict[str, _Accumulator] = {}
    acc_delta: Dict[str, _Accumulator] = {}
    for path in paths:
        info = validate_well_file(path)
        with h5py.File(path, "r") as f:
            for fi in info.fields:
                ds = f[FIELD_GROUPS[fi.order]][fi.name]
                a = acc.setdefault(fi.name, _Accumulator())
                d = acc_delta.setdefault(fi.name, _Accumulator()) if fi.time_varying else None
                chunks = range(ds.shape[0]) if fi.sample_varying else [None]
                for i in chunks:
                    data = ds[i] if i is not None else ds[()]
                    a.add(data, fi.order)
                    if d is not None and data.shape[0] > 1:
                        d.add(np.diff(np.asarray(data, dtype=np.float64), axis=0), fi.order)
    stats: Dict[str, Dict[str, object]] = {k: {} for k in STATS_KEYS}
    for name, a in acc.items():
        r = a.result()
        for k in ("mean", "std", "rms"):
            stats[k][name] = _to_yaml_value(r[k])
    for name, d in acc_delta.items():
        if d.count == 0:
            continue
        r = d.result()
        for k in ("mean", "std", "rms"):
            stats[f"{k}_delta"][name] = _to_yaml_value(r[k])
    return stats


def write_stats(path: str, stats: Dict[str, Dict[str, object]]) -> str:
    """Writes statistics from `compute_stats` to `path` as YAML.

    Args:
        path: output path, normally `<base>/datasets/<name>/stats.yaml`.
        stats: the dict returned by `compute_stats`.

    Returns:
        The path written.

    Raises:
        WellDataError: if a statistics key is missing.

    Example: see `compute_stats`.
    """
    import yaml

    missing = [k for k in STATS_KEYS if k not in stats]
    if missing:
        raise WellDataError(f"{path}: statistics lack the keys {missing}.")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        yaml.safe_dump({k: stats[k] for k in STATS_KEYS}, f, sort_keys=False)
    return path


def load_stats(
    path: str,
    *,
    fields: Iterable[FieldInfo] = (),
    n_spatial_dims: int = 2,
    required_keys: Sequence[str] = ("mean", "std"),
) -> Dict[str, Dict[str, object]]:
    """Reads and checks a `stats.yaml`.

    Args:
        path: path of the `stats.yaml`.
        fields: fields that must be present (as `FieldInfo` from
            `validate_well_file`); each must have an entry under every
            required key (`_delta` keys only for time-varying fields), with one
            value per tensor component.
        n_spatial_dims: number of spatial axes (size of each component axis).
        required_keys: top-level keys that must be present.

    Returns:
        The parsed statistics dict.

    Raises:
        WellDataError: if the file is missing or not valid YAML, or a key, a
            field entry or a value is missing or malformed (the message names
            the file, key and field).

    Example: see `compute_stats`.
    """
    import yaml

    if not os.path.isfile(path):
        raise WellDataError(
            f"{path}: stats.yaml not found; normalization needs it (pass normalize=False "
            "to train on raw values, or regenerate / re-download the dataset)."
        )
    try:
        with open(path) as f:
            stats = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise WellDataError(f"{path}: not valid YAML ({err}).") from None
    if not isinstance(stats, dict):
        raise WellDataError(
            f"{path}: expected a mapping with keys {list(STATS_KEYS)}, got {type(stats).__name__}."
        )
    missing = [k for k in required_keys if k not in stats]
    if missing:
        raise WellDataError(
            f"{path}: lacks the keys {missing} (found {sorted(stats)}); a Well stats.yaml "
            f"has {list(STATS_KEYS)}."
        )
    for key in required_keys:
        if not isinstance(stats[key], dict):
            raise WellDataError(
                f"{path}: '{key}' must map field names to values, got {stats[key]!r}."
            )
        for fi in fields:
            if key in DELTA_KEYS and not fi.time_varying:
                continue
            if fi.name not in stats[key]:
                raise WellDataError(
                    f"{path}: '{key}' has no entry for field '{fi.name}' "
                    f"(has: {sorted(stats[key])})."
                )
            _component_values(stats[key][fi.name], fi.order, n_spatial_dims, path, key, fi.name)
    return stats


def _component_values(value, order, n_dims, path, key, name) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WellDataError(f"{path}: '{key}/{name}' = {value!r} is not numeric.") from None
    target = (n_dims,) * order
    try:
        arr = np.broadcast_to(arr, target)
    except ValueError:
        raise WellDataError(
            f"{path}: '{key}/{name}' has shape {arr.shape}; a tensor field of order {order} "
            f"needs a single value or shape {target}."
        ) from None
    if not np.all(np.isfinite(arr)):
        raise WellDataError(f"{path}: '{key}/{name}' = {value!r} is not finite.")
    return arr.reshape(-1)


def channel_stats(
    stats: Dict[str, Dict[str, object]],
    fields: Sequence[FieldInfo],
    *,
    key: str = "mean",
    n_spatial_dims: int = 2,
    path: str = "stats.yaml",
    min_value: Optional[float] = None,
) -> np.ndarray:
    """Flattens per-field statistics into one value per channel.

    Channels follow `WellDataset`'s order: fields in the given order, each
    tensor field expanded over its components (`velocity_x`, `velocity_y`).

    Args:
        stats: parsed `stats.yaml`.
        fields: the fields, in channel order.
        key: statistic to read, e.g. `"mean"` or `"std"`.
        n_spatial_dims: number of spatial axes.
        path: file name used in error messages.
        min_value: if set, values are clipped from below (The Well clips
            standard deviations at `1e-4`).

    Returns:
        float32 array of shape `(n_channels,)`.
    """
    values: List[np.ndarray] = []
    for fi in fields:
        if fi.name not in stats.get(key, {}):
            raise WellDataError(f"{path}: '{key}' has no entry for field '{fi.name}'.")
        values.append(
            _component_values(stats[key][fi.name], fi.order, n_spatial_dims, path, key, fi.name)
        )
    out = np.concatenate(values) if values else np.zeros((0,), np.float64)
    if min_value is not None:
        out = np.maximum(out, min_value)
    return out.astype(np.float32)


def channel_mean_std(
    stats,
    fields: Sequence[FieldInfo],
    *,
    n_spatial_dims: int = 2,
    path: str = "stats.yaml",
    min_std: float = 1e-4,
) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel `(mean, std)` for z-score normalization, std clipped at `min_std`."""
    mean = channel_stats(stats, fields, key="mean", n_spatial_dims=n_spatial_dims, path=path)
    std = channel_stats(
        stats, fields, key="std", n_spatial_dims=n_spatial_dims, path=path, min_value=min_std
    )
    return mean, std
