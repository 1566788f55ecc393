"""The HDF5 layout: our writer, our validator, and The Well's own reader."""

import os

import numpy as np
import pytest

from keras_wavelit.data import WellBoundaryCondition
from keras_wavelit.data import WellDataError
from keras_wavelit.data import WellField
from keras_wavelit.data import WellScalar
from keras_wavelit.data import validate_well_file
from keras_wavelit.data import write_well_file


def _write_small(path, n_traj=2, n_t=5, n=8, with_profile=True):
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, n, endpoint=False).astype(np.float32)
    u = rng.normal(size=(n_traj, n_t, n, n)).astype(np.float32)
    vel = rng.normal(size=(n_traj, n_t, n, n, 2)).astype(np.float32)
    stress = rng.normal(size=(n_traj, n_t, n, n, 2, 2)).astype(np.float32)
    rho = rng.uniform(1, 2, size=(n_traj, n, n)).astype(np.float32)
    profile = rng.normal(size=(n_t, n)).astype(np.float32)  # varies in time and x only
    mask = np.zeros(n, bool)
    mask[[0, -1]] = True
    t0 = {"u": WellField(u), "rho": WellField(rho, time_varying=False)}
    if with_profile:
        t0["profile"] = WellField(profile, sample_varying=False, dim_varying=(True, False))
    write_well_file(
        path,
        dataset_name="tiny",
        time=np.arange(n_t, dtype=np.float32),
        space={"x": x, "y": x},
        t0_fields=t0,
        t1_fields={"velocity": WellField(vel)},
        t2_fields={"stress": WellField(stress)},
        scalars={"nu": WellScalar(np.float32(0.1))},
        boundary_conditions={
            "x_wall": WellBoundaryCondition("WALL", ("x",), mask),
            "y_periodic": WellBoundaryCondition("PERIODIC", ("y",), mask),
        },
        simulation_parameters={"nu": 0.1},
    )
    return u, vel, stress, rho, profile


def test_write_then_validate(tmp_path):
    path = str(tmp_path / "tiny.hdf5")
    _write_small(path)
    info = validate_well_file(path)
    assert info.dataset_name == "tiny"
    assert (info.n_trajectories, info.n_steps, info.spatial_shape) == (2, 5, (8, 8))
    assert info.variable_channel_names == [
        "u",
        "profile",
        "velocity_x",
        "velocity_y",
        "stress_xx",
        "stress_xy",
        "stress_yx",
        "stress_yy",
    ]
    assert info.constant_channel_names == ["rho"]
    assert sorted(info.bc_types) == ["PERIODIC", "WALL"]


def test_the_well_reads_our_file_exactly(tmp_path):
    """the_well.data.WellDataset, with its default options, reads what we wrote."""
    from the_well.data import WellDataset

    directory = tmp_path / "tiny" / "data" / "train"
    directory.mkdir(parents=True)
    u, vel, stress, rho, _ = _write_small(str(directory / "tiny.hdf5"), with_profile=False)
    ds = WellDataset(
        path=str(tmp_path / "tiny"), well_split_name="train", n_steps_input=2, n_steps_output=1
    )
    assert len(ds) == 2 * (5 - 3 + 1)
    sample = ds[4]  # trajectory 1, window starting at step 1
    x = sample["input_fields"].numpy()
    y = sample["output_fields"].numpy()
    assert x.shape == (2, 8, 8, 7) and y.shape == (1, 8, 8, 7)
    np.testing.assert_array_equal(x[..., 0], u[1, 1:3])
    np.testing.assert_array_equal(x[..., 1:3], vel[1, 1:3])
    np.testing.assert_array_equal(x[..., 3:7], stress[1, 1:3].reshape(2, 8, 8, 4))
    np.testing.assert_array_equal(y[0, ..., 0], u[1, 3])
    np.testing.assert_array_equal(sample["constant_fields"].numpy()[..., 0], rho[1])
    np.testing.assert_allclose(sample["constant_scalars"].numpy(), [0.1])
    # Boundary codes of The Well: WALL = 0 on x, PERIODIC = 2 on y.
    np.testing.assert_array_equal(sample["boundary_conditions"].numpy(), [[0, 0], [2, 2]])
    assert sample["space_grid"].shape == (8, 8, 2)


def test_writer_rejects_inconsistent_shapes(tmp_path):
    x = np.arange(4.0)
    with pytest.raises(WellDataError, match=r"field 'u' in t0_fields has shape \(2, 3, 4, 5\)"):
        write_well_file(
            str(tmp_path / "bad.hdf5"),
            dataset_name="bad",
            time=np.arange(3.0),
            space={"x": x, "y": x},
            t0_fields={"u": WellField(np.zeros((2, 3, 4, 5)))},
        )
    with pytest.raises(WellDataError, match="bc_type"):
        write_well_file(
            str(tmp_path / "bad.hdf5"),
            dataset_name="bad",
            time=np.arange(3.0),
            space={"x": x, "y": x},
            t0_fields={"u": WellField(np.zeros((2, 3, 4, 4)))},
            boundary_conditions={"x": WellBoundaryCondition("SLIPPERY", ("x",), np.ones(4, bool))},
        )


def test_dummy_data_of_the_well_validates(dummy_base, split_file):
    """A file written by the_well's own write_dummy_data is an independent fixture."""
    info = validate_well_file(split_file(dummy_base, "dummy"))
    assert info.dataset_name == "dummy_dataset"
    assert (info.n_trajectories, info.n_steps, info.spatial_shape) == (2, 10, (32, 32))
    assert info.variable_channel_names == ["field_x", "field_y"]
    assert info.constant_channel_names == ["constant_field"]


@pytest.mark.parametrize("name", ["acoustic_scattering_2d", "gray_scott_2d", "kolmogorov_2d"])
def test_generated_files_validate(well_base, split_file, name):
    for split in ("train", "valid", "test"):
        path = split_file(well_base, name, split)
        info = validate_well_file(path)
        assert info.dataset_name == name
        assert os.path.basename(path) == f"{name}_{split}.hdf5"


def test_boundary_mode_follows_the_declared_conditions(tmp_path, well_base, split_file):
    from keras_wavelit.data import boundary_mode

    # Walls (acoustics) reflect; all-periodic systems wrap around.
    expected = {
        "acoustic_scattering_2d": "reflect",
        "gray_scott_2d": "periodic",
        "kolmogorov_2d": "periodic",
    }
    for name, mode in expected.items():
        ds_dir = os.path.join(well_base, "datasets", name)
        assert boundary_mode(ds_dir) == mode
        assert boundary_mode(os.path.join(ds_dir, "data", "test")) == mode
        assert boundary_mode(split_file(well_base, name, "valid")) == mode
    # Mixed conditions (one wall, one periodic axis) are not periodic.
    path = str(tmp_path / "mixed.hdf5")
    _write_small(path)
    assert validate_well_file(path).boundary_mode == "reflect"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WellDataError, match="no .hdf5 or .h5 files"):
        boundary_mode(str(empty))


def test_allowed_shapes_and_the_old_import_point():
    from keras_wavelit.data import well_format
    from keras_wavelit.data import well_schema
    from keras_wavelit.data import well_validator
    from keras_wavelit.data import well_writer

    # A field constant along y: the y axis is left out or kept with size 1.
    assert well_schema.allowed_shapes(True, True, (True, False), 3, 7, (8, 16), 0) == (
        (3, 7, 8),
        (3, 7, 8, 1),
    )
    # A time-constant vector field varying everywhere in space: one shape.
    assert well_schema.allowed_shapes(True, False, (True, True), 3, 7, (8, 16), 1) == (
        (3, 8, 16, 2),
        (3, 8, 16, 2),
    )
    # The old module still exports every public name, as the same objects.
    assert well_format.write_well_file is well_writer.write_well_file
    assert well_format.validate_well_file is well_validator.validate_well_file
    assert well_format.WellField is well_schema.WellField
    assert well_format.FIELD_GROUPS == ("t0_fields", "t1_fields", "t2_fields")
