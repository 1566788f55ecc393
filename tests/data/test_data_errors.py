"""Bad input gets a clear WellDataError naming what is at fault."""

import os
import shutil

import h5py
import numpy as np
import pytest

from keras_wavelit.data import WellDataError
from keras_wavelit.data import WellField
from keras_wavelit.data import WellSequence
from keras_wavelit.data import validate_well_file
from keras_wavelit.data import write_well_file

AC = "acoustic_scattering_2d"


@pytest.fixture
def base_copy(well_base, tmp_path):
    """A private copy of the small acoustic dataset, safe to damage."""
    shutil.copytree(os.path.join(well_base, "datasets", AC), tmp_path / "datasets" / AC)
    return str(tmp_path)


def _train_file(base):
    return os.path.join(base, "datasets", AC, "data", "train", f"{AC}_train.hdf5")


def test_error_is_a_value_error():
    assert issubclass(WellDataError, ValueError)


def test_missing_base_path(tmp_path):
    missing = str(tmp_path / "nowhere")
    with pytest.raises(WellDataError, match="well_base_path .*nowhere.* does not exist"):
        WellSequence(missing, AC)


def test_unknown_dataset_name_lists_what_exists(well_base):
    with pytest.raises(
        WellDataError,
        match=r"Unknown dataset 'navier_stokes_9d'.*acoustic_scattering_2d.*gray_scott_2d",
    ):
        WellSequence(well_base, "navier_stokes_9d")


def test_missing_split(base_copy):
    shutil.rmtree(os.path.join(base_copy, "datasets", AC, "data", "test"))
    with pytest.raises(WellDataError, match=r"Split 'test' .*not found.*\['train', 'valid'\]"):
        WellSequence(base_copy, AC, "test")


def test_empty_split(base_copy):
    os.remove(os.path.join(base_copy, "datasets", AC, "data", "valid", f"{AC}_valid.hdf5"))
    with pytest.raises(WellDataError, match=r"valid: split is empty"):
        WellSequence(base_copy, AC, "valid")


def test_truncated_file_is_named(base_copy):
    path = _train_file(base_copy)
    with open(path, "rb") as f:
        head = f.read(os.path.getsize(path) // 2)
    with open(path, "wb") as f:
        f.write(head)
    with pytest.raises(
        WellDataError,
        match=f"{AC}_train.hdf5: cannot be opened as HDF5; the file is truncated or corrupted",
    ):
        WellSequence(base_copy, AC, "train")


def test_corrupted_header_is_named(base_copy):
    path = _train_file(base_copy)
    with open(path, "r+b") as f:
        f.write(b"\x00garbage" * 64)
    with pytest.raises(WellDataError, match=f"{AC}_train.hdf5: cannot be opened"):
        validate_well_file(path)


def test_not_hdf5_at_all(base_copy):
    path = os.path.join(base_copy, "datasets", AC, "data", "train", "notes.h5")
    with open(path, "w") as f:
        f.write("these are not the data you are looking for")
    with pytest.raises(WellDataError, match="notes.h5: cannot be opened as HDF5"):
        WellSequence(base_copy, AC, "train")


def test_missing_group_is_named(base_copy):
    with h5py.File(_train_file(base_copy), "r+") as f:
        del f["t1_fields"]
    with pytest.raises(
        WellDataError, match=f"{AC}_train.hdf5: missing the required group 't1_fields'"
    ):
        WellSequence(base_copy, AC, "train")


def test_missing_root_attribute_is_named(base_copy):
    with h5py.File(_train_file(base_copy), "r+") as f:
        del f.attrs["n_trajectories"]
    with pytest.raises(
        WellDataError, match="the root group lacks the required attribute 'n_trajectories'"
    ):
        WellSequence(base_copy, AC, "train")


def test_missing_field_attribute_is_named(base_copy):
    with h5py.File(_train_file(base_copy), "r+") as f:
        del f["t0_fields/pressure"].attrs["time_varying"]
    with pytest.raises(
        WellDataError,
        match="field 't0_fields/pressure' lacks the required attribute 'time_varying'",
    ):
        WellSequence(base_copy, AC, "train")


def test_field_shape_mismatch_is_named(base_copy):
    with h5py.File(_train_file(base_copy), "r+") as f:
        f.attrs["n_trajectories"] = 5
    with pytest.raises(
        WellDataError,
        match=r"field 't0_fields/pressure' has shape \(2, 12, 32, 32\), expected \(5, 12, 32, 32\)",
    ):
        WellSequence(base_copy, AC, "train")


@pytest.mark.parametrize("in_memory", [True, False])
def test_nan_is_located_when_check_finite(base_copy, in_memory):
    with h5py.File(_train_file(base_copy), "r+") as f:
        f["t0_fields/pressure"][1, 5, 3, 4] = np.nan
        f["t1_fields/velocity"][0, 7, 0, 0, 1] = np.inf
    seq = WellSequence(
        base_copy, AC, "train", batch_size=4, shuffle=False, check_finite=True, in_memory=in_memory
    )
    with pytest.raises(
        WellDataError,
        match=(
            rf"{AC}_train.hdf5: non-finite value \(inf\) in field 'velocity_y' "
            r"at trajectory 0, time step 7"
        ),
    ):
        for i in range(len(seq)):
            seq[i]
    late = WellSequence(
        base_copy,
        AC,
        "train",
        batch_size=4,
        shuffle=False,
        check_finite=True,
        in_memory=in_memory,
        n_steps_input=3,
    )
    with pytest.raises(
        WellDataError,
        match=r"non-finite value \(nan\) in field 'pressure' at trajectory 1, time step 5",
    ):
        # Skip trajectory 0 (which holds the inf): its windows come first.
        for i in range(len(late) // 2, len(late)):
            late[i]


def test_nan_in_constant_field(base_copy):
    with h5py.File(_train_file(base_copy), "r+") as f:
        f["t0_fields/density"][1, 0, 0] = np.nan
    seq = WellSequence(base_copy, AC, "train", batch_size=64, check_finite=True)
    with pytest.raises(WellDataError, match="constant field 'density' of trajectory 1"):
        seq[0]


def test_3d_data_is_rejected(tmp_path):
    directory = tmp_path / "datasets" / "cube" / "data" / "train"
    n = 4
    write_well_file(
        str(directory / "cube.hdf5"),
        dataset_name="cube",
        time=np.arange(3.0),
        space={"x": np.arange(n), "y": np.arange(n), "z": np.arange(n)},
        t0_fields={
            "u": WellField(np.zeros((1, 3, n, n, n), np.float32), dim_varying=(True, True, True))
        },
    )
    with pytest.raises(
        WellDataError, match="n_spatial_dims=3; keras_wavelit supports 2D data only"
    ):
        WellSequence(str(tmp_path), "cube", "train", normalize=False)


def test_missing_stats(base_copy):
    os.remove(os.path.join(base_copy, "datasets", AC, "stats.yaml"))
    with pytest.raises(WellDataError, match="stats.yaml not found"):
        WellSequence(base_copy, AC, "train")
    seq = WellSequence(base_copy, AC, "train", normalize=False)  # raw values need no statistics
    assert seq.mean is None and seq.denormalize(1.5) == 1.5


def test_stats_lacking_keys(base_copy):
    path = os.path.join(base_copy, "datasets", AC, "stats.yaml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("std:", "spread:", 1))
    with pytest.raises(WellDataError, match=r"stats.yaml: lacks the keys \['std'\]"):
        WellSequence(base_copy, AC, "train")


def test_too_few_steps(well_base):
    with pytest.raises(
        WellDataError, match="trajectories have 12 steps; 10 input \\+ 5 output steps"
    ):
        WellSequence(well_base, AC, "train", n_steps_input=10, n_steps_output=5)


def test_bad_arguments(well_base):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        WellSequence(well_base, AC, "train", batch_size=0)
    with pytest.raises(ValueError, match="n_steps_input"):
        WellSequence(well_base, AC, "train", n_steps_input=1.5)
