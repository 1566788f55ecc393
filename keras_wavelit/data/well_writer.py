"""Writing HDF5 files in The Well's layout (see `keras_wavelit.data.well_schema`)."""

import os
from typing import Mapping
from typing import Optional

import numpy as np

from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.well_schema import BC_TYPES
from keras_wavelit.data.well_schema import FIELD_GROUPS
from keras_wavelit.data.well_schema import WellBoundaryCondition
from keras_wavelit.data.well_schema import WellField
from keras_wavelit.data.well_schema import WellScalar
from keras_wavelit.data.well_schema import allowed_shapes
from keras_wavelit.data.well_schema import str_array


def _check_grid(path, time, space):
    time = np.asarray(time)
    if time.ndim != 1:
        raise WellDataError(f"{path}: `time` must be 1D, got shape {time.shape}.")
    coords = {k: np.asarray(v) for k, v in space.items()}
    for name, c in coords.items():
        if c.ndim != 1:
            raise WellDataError(
                f"{path}: coordinates of spatial axis '{name}' must be 1D, got shape {c.shape}."
            )
    return time, coords


def _infer_n_trajectories(path, groups):
    counts = {
        np.asarray(f.data).shape[0]
        for group in groups.values()
        for f in group.values()
        if f.sample_varying and np.asarray(f.data).ndim > 0
    }
    if len(counts) != 1:
        raise WellDataError(
            f"{path}: cannot infer n_trajectories from the sample-varying fields "
            f"(leading sizes found: {sorted(counts)}); pass n_trajectories."
        )
    return int(counts.pop())


def _check_fields(path, groups, dims, n_trajectories, n_steps, spatial_shape):
    for order, group_name in enumerate(FIELD_GROUPS):
        for name, field in groups[group_name].items():
            data = np.asarray(field.data)
            dim_varying = tuple(bool(v) for v in field.dim_varying)
            if len(dim_varying) != len(dims):
                raise WellDataError(
                    f"{path}: field '{name}' has dim_varying={dim_varying} but the grid "
                    f"has {len(dims)} spatial axes {dims}."
                )
            shapes = allowed_shapes(
                field.sample_varying,
                field.time_varying,
                dim_varying,
                n_trajectories,
                n_steps,
                spatial_shape,
                order,
            )
            if data.shape not in shapes:
                raise WellDataError(
                    f"{path}: field '{name}' in {group_name} has shape {data.shape}, "
                    f"expected {shapes[0]} (n_trajectories={n_trajectories}, "
                    f"n_steps={n_steps}, grid={spatial_shape}, tensor order {order})."
                )


def _check_scalars(path, scalars, n_trajectories, n_steps):
    for name, scalar in scalars.items():
        data = np.asarray(scalar.data)
        expected = ((n_trajectories,) if scalar.sample_varying else ()) + (
            (n_steps,) if scalar.time_varying else ()
        )
        if data.shape != expected:
            raise WellDataError(
                f"{path}: scalar '{name}' has shape {data.shape}, expected {expected}."
            )


def _check_boundary_conditions(path, boundary_conditions, dims):
    for name, bc in boundary_conditions.items():
        if str(bc.bc_type).upper() not in BC_TYPES:
            raise WellDataError(
                f"{path}: boundary condition '{name}' has bc_type={bc.bc_type!r}; "
                f"expected one of {BC_TYPES}."
            )
        for d in bc.associated_dims:
            if d not in dims:
                raise WellDataError(
                    f"{path}: boundary condition '{name}' refers to unknown axis '{d}' "
                    f"(axes: {dims})."
                )


def _write_root(f, dataset_name, grid_type, n_dims, n_trajectories, simulation_parameters):
    f.attrs["dataset_name"] = str(dataset_name)
    f.attrs["grid_type"] = str(grid_type)
    f.attrs["n_spatial_dims"] = int(n_dims)
    f.attrs["n_trajectories"] = int(n_trajectories)
    f.attrs["simulation_parameters"] = str_array(list(simulation_parameters))
    for key, value in simulation_parameters.items():
        f.attrs[key] = value


def _write_dimensions(f, time, coords):
    g = f.create_group("dimensions")
    g.attrs["spatial_dims"] = str_array(list(coords))
    ds = g.create_dataset("time", data=time)
    ds.attrs["sample_varying"] = False
    ds.attrs["time_varying"] = True
    for d, values in coords.items():
        ds = g.create_dataset(d, data=values)
        ds.attrs["sample_varying"] = False
        ds.attrs["time_varying"] = False


def _write_boundary_conditions(f, boundary_conditions):
    g = f.create_group("boundary_conditions")
    for name, bc in boundary_conditions.items():
        sub = g.create_group(name)
        sub.attrs["associated_dims"] = str_array(bc.associated_dims)
        sub.attrs["associated_fields"] = str_array(bc.associated_fields)
        sub.attrs["bc_type"] = str(bc.bc_type).upper()
        sub.attrs["sample_varying"] = False
        sub.attrs["time_varying"] = False
        sub.create_dataset("mask", data=np.asarray(bc.mask, dtype=bool))


def _write_scalars(f, scalars):
    g = f.create_group("scalars")
    g.attrs["field_names"] = str_array(list(scalars))
    for name, scalar in scalars.items():
        ds = g.create_dataset(name, data=np.asarray(scalar.data))
        ds.attrs["sample_varying"] = bool(scalar.sample_varying)
        ds.attrs["time_varying"] = bool(scalar.time_varying)


def _write_fields(f, groups):
    for group_name in FIELD_GROUPS:
        g = f.create_group(group_name)
        g.attrs["field_names"] = str_array(list(groups[group_name]))
        for name, field in groups[group_name].items():
            ds = g.create_dataset(name, data=np.asarray(field.data))
            ds.attrs["dim_varying"] = np.asarray(field.dim_varying, dtype=bool)
            ds.attrs["sample_varying"] = bool(field.sample_varying)
            ds.attrs["time_varying"] = bool(field.time_varying)


def write_well_file(
    path: str,
    *,
    dataset_name: str,
    time: np.ndarray,
    space: Mapping[str, np.ndarray],
    t0_fields: Optional[Mapping[str, WellField]] = None,
    t1_fields: Optional[Mapping[str, WellField]] = None,
    t2_fields: Optional[Mapping[str, WellField]] = None,
    scalars: Optional[Mapping[str, WellScalar]] = None,
    boundary_conditions: Optional[Mapping[str, WellBoundaryCondition]] = None,
    simulation_parameters: Optional[Mapping[str, float]] = None,
    grid_type: str = "cartesian",
    n_trajectories: Optional[int] = None,
) -> str:
    """Writes one HDF5 file in The Well's layout.

    Every field and scalar is checked against the declared trajectory count,
    time axis and grid before anything is written, so that a file written by
    this function always passes `validate_well_file` and is readable by
    `the_well.data.WellDataset`.

    Args:
        path: output file path (`.hdf5`); parent directories are created.
        dataset_name: stored as the root attribute `dataset_name`; every file
            of one dataset must carry the same name.
        time: 1D array of the snapshot times, shape `(n_steps,)`.
        space: ordered mapping from spatial axis name to its 1D coordinates,
            e.g. `{"x": x, "y": y}`; the order defines the array axes.
        t0_fields: scalar fields, name to `WellField`.
        t1_fields: vector fields (last axis of size `len(space)`).
        t2_fields: rank-2 tensor fields (two trailing axes of size `len(space)`).
        scalars: name to `WellScalar` (physical parameters, diagnostics).
        boundary_conditions: name to `WellBoundaryCondition`, e.g.
            `{"x_periodic": ..., "y_periodic": ...}`.
        simulation_parameters: parameters stored as root attributes and listed
            in the root attribute `simulation_parameters`.
        grid_type: stored as the root attribute `grid_type`.
        n_trajectories: number of trajectories; inferred from the
            sample-varying fields when omitted.

    Returns:
        The path written.

    Raises:
        WellDataError: naming the file and the field, scalar, boundary
            condition or shape at fault.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.data import WellField, validate_well_file, write_well_file

    x = np.linspace(0, 1, 16, endpoint=False)
    u = np.random.rand(2, 5, 16, 16).astype("float32")  # (traj, time, x, y)
    path = write_well_file(
        os.path.join(tempfile.mkdtemp(), "demo.hdf5"),
        dataset_name="demo",
        time=np.arange(5.0),
        space={"x": x, "y": x},
        t0_fields={"u": WellField(u)},
    )
    assert validate_well_file(path).n_trajectories == 2
    ```
    """
    import h5py

    time, coords = _check_grid(path, time, space)
    dims = list(coords)
    n_steps = int(time.shape[0])
    spatial_shape = tuple(int(coords[d].shape[0]) for d in dims)
    groups = {
        "t0_fields": dict(t0_fields or {}),
        "t1_fields": dict(t1_fields or {}),
        "t2_fields": dict(t2_fields or {}),
    }
    scalars = dict(scalars or {})
    boundary_conditions = dict(boundary_conditions or {})
    simulation_parameters = dict(simulation_parameters or {})
    if n_trajectories is None:
        n_trajectories = _infer_n_trajectories(path, groups)
    _check_fields(path, groups, dims, n_trajectories, n_steps, spatial_shape)
    _check_scalars(path, scalars, n_trajectories, n_steps)
    _check_boundary_conditions(path, boundary_conditions, dims)

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with h5py.File(path, "w") as f:
        _write_root(f, dataset_name, grid_type, len(dims), n_trajectories, simulation_parameters)
        _write_dimensions(f, time, coords)
        _write_boundary_conditions(f, boundary_conditions)
        _write_scalars(f, scalars)
        _write_fields(f, groups)
    return path
