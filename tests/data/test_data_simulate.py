"""simulate() and `wavelit generate`: The Well's layout, readable by The Well."""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from keras_wavelit.cli import main
from keras_wavelit.data import WellDataError
from keras_wavelit.data import available_datasets
from keras_wavelit.data import simulate
from keras_wavelit.data import split_counts

NAMES = ["acoustic_scattering_2d", "gray_scott_2d", "kolmogorov_2d"]


def test_available_datasets_and_splits():
    assert set(NAMES) <= set(available_datasets())
    assert split_counts(32) == {"train": 24, "valid": 4, "test": 4}
    assert split_counts(3) == {"train": 1, "valid": 1, "test": 1}
    with pytest.raises(WellDataError, match="at least 3"):
        split_counts(2)


@pytest.mark.parametrize("name", NAMES)
def test_layout_and_the_wells_reader(well_base, name):
    from the_well.data import WellDataset
    from the_well.data.normalization import ZScoreNormalization

    ds_dir = os.path.join(well_base, "datasets", name)
    assert os.path.isfile(os.path.join(ds_dir, "stats.yaml"))
    for split in ("train", "valid", "test"):
        path = os.path.join(ds_dir, "data", split, f"{name}_{split}.hdf5")
        with h5py.File(path, "r") as f:
            for key in (
                "dataset_name",
                "grid_type",
                "n_spatial_dims",
                "n_trajectories",
                "simulation_parameters",
            ):
                assert key in f.attrs
            for p in f.attrs["simulation_parameters"]:
                assert p in f.attrs
            assert set(f) == {
                "dimensions",
                "boundary_conditions",
                "scalars",
                "t0_fields",
                "t1_fields",
                "t2_fields",
            }
            assert list(f["dimensions"].attrs["spatial_dims"]) == ["x", "y"]
            for d in ("time", "x", "y"):
                assert "sample_varying" in f["dimensions"][d].attrs
            for g in ("t0_fields", "t1_fields", "t2_fields"):
                for field in f[g].attrs["field_names"]:
                    assert {"dim_varying", "sample_varying", "time_varying"} <= set(
                        f[g][field].attrs
                    )
        # The Well's own dataset class opens the split with its default options.
        ds = WellDataset(
            path=ds_dir,
            well_split_name=split,
            n_steps_input=2,
            n_steps_output=1,
            use_normalization=True,
            normalization_type=ZScoreNormalization,
        )
        sample = ds[len(ds) - 1]
        assert sample["input_fields"].shape[1:3] == (32, 32)
        assert np.all(np.isfinite(sample["input_fields"].numpy()))
        assert "boundary_conditions" in sample and "space_grid" in sample


def test_generation_is_deterministic(tmp_path):
    kwargs = dict(resolution=16, n_trajectories=3, n_steps=4, verbose=0)
    a = simulate("acoustic_scattering_2d", str(tmp_path / "a"), seed=7, **kwargs)
    b = simulate("acoustic_scattering_2d", str(tmp_path / "b"), seed=7, **kwargs)
    c = simulate("acoustic_scattering_2d", str(tmp_path / "c"), seed=8, **kwargs)

    def read(info):
        with h5py.File(info.files["train"], "r") as f:
            return f["t0_fields/pressure"][()], f["t0_fields/density"][()]

    for x, y in zip(read(a), read(b)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(read(a)[0], read(c)[0])
    with open(a.stats_path) as fa, open(b.stats_path) as fb:
        assert fa.read() == fb.read()


def test_existing_dataset_needs_overwrite(tmp_path):
    kwargs = dict(resolution=16, n_trajectories=3, n_steps=3, verbose=0)
    simulate("acoustic_scattering_2d", str(tmp_path), **kwargs)
    with pytest.raises(WellDataError, match="already exists.*overwrite=True"):
        simulate("acoustic_scattering_2d", str(tmp_path), **kwargs)
    info = simulate("acoustic_scattering_2d", str(tmp_path), overwrite=True, seed=1, **kwargs)
    assert os.path.isfile(info.files["test"])


def test_bad_simulation_arguments(tmp_path):
    with pytest.raises(WellDataError, match="Unknown embedded dataset 'lava_lamp'"):
        simulate("lava_lamp", str(tmp_path))
    with pytest.raises(WellDataError, match="unknown parameters \\['viscosity'\\]"):
        simulate(
            "acoustic_scattering_2d",
            str(tmp_path),
            resolution=16,
            n_trajectories=3,
            n_steps=3,
            verbose=0,
            viscosity=1.0,
        )
    with pytest.raises(WellDataError, match="unknown regime 'stripes'"):
        simulate(
            "gray_scott_2d",
            str(tmp_path),
            resolution=16,
            n_trajectories=3,
            n_steps=3,
            verbose=0,
            regime="stripes",
        )


def test_cli_generate(tmp_path, capsys):
    out = str(tmp_path / "base")
    args = [
        "generate",
        "gray_scott_2d",
        "--out",
        out,
        "--resolution",
        "16",
        "--trajectories",
        "3",
        "--steps",
        "3",
        "--seed",
        "2",
        "--param",
        "dt_output=5",
        "--param",
        "regime=spots",
    ]
    assert main(args) == 0
    assert "Wrote" in capsys.readouterr().out
    path = os.path.join(
        out, "datasets", "gray_scott_2d", "data", "train", "gray_scott_2d_train.hdf5"
    )
    with h5py.File(path, "r") as f:
        assert f["t0_fields/A"].shape == (1, 3, 16, 16)
        assert f.attrs["F"] == pytest.approx(0.03) and f.attrs["dt_output"] == 5.0
    from keras_wavelit.data import WellSequence

    assert WellSequence(out, "gray_scott_2d", "train").n_samples == 2
    # A second run without --overwrite fails with a message, not a traceback.
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(args + ["--overwrite", "--quiet"]) == 0


def _exit_status(argv):
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own exit
        return exc.code


def test_cli_usage_errors(capsys):
    assert _exit_status(["generate", "lava_lamp", "--out", "x"]) == 2
    assert "lava_lamp" in capsys.readouterr().err
    assert _exit_status(["generate"]) != 0  # NAME and --out are required
    assert "--out" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["generate", "--list"]) == 0
    assert "kolmogorov_2d" in capsys.readouterr().out


def test_module_entry_point():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "keras_wavelit", "generate", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--trajectories" in proc.stdout and "--resolution" in proc.stdout
