"""Validating HDF5 files and split directories in The Well's layout, and the
boundary mode their boundary conditions ask for (`docs/data.md`)."""

import os
from typing import List

import numpy as np

from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.well_schema import BC_TYPES
from keras_wavelit.data.well_schema import FIELD_GROUPS
from keras_wavelit.data.well_schema import REQUIRED_GROUPS
from keras_wavelit.data.well_schema import REQUIRED_ROOT_ATTRS
from keras_wavelit.data.well_schema import FieldInfo
from keras_wavelit.data.well_schema import WellFileInfo
from keras_wavelit.data.well_schema import allowed_shapes
from keras_wavelit.data.well_schema import as_str
from keras_wavelit.data.well_schema import as_str_list


def _open_hdf5(path: str):
    """Opens `path` read-only, turning h5py's low-level errors into WellDataError."""
    import h5py

    if not os.path.isfile(path):
        raise WellDataError(f"{path}: file not found.")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise WellDataError(
            f"{path}: cannot be opened as HDF5; the file is truncated or corrupted "
            f"({err}). Re-download or regenerate it."
        ) from None


def _get_attr(obj, key: str, path: str, where: str):
    if key not in obj.attrs:
        raise WellDataError(
            f"{path}: {where} lacks the required attribute '{key}' "
            f"(has: {sorted(obj.attrs.keys())})."
        )
    try:
        return obj.attrs[key]
    except (OSError, RuntimeError, KeyError) as err:
        raise WellDataError(
            f"{path}: attribute '{key}' of {where} cannot be read; the file is corrupted ({err})."
        ) from None


def _get_child(group, key: str, path: str, where: str):
    try:
        present = key in group
    except (OSError, RuntimeError) as err:
        raise WellDataError(
            f"{path}: {where} cannot be read; the file is corrupted ({err})."
        ) from None
    if not present:
        raise WellDataError(
            f"{path}: {where} lacks the required entry '{key}' (has: {sorted(group.keys())})."
        )
    try:
        return group[key]
    except (OSError, RuntimeError, KeyError) as err:
        raise WellDataError(
            f"{path}: '{key}' in {where} cannot be read; the file is corrupted ({err})."
        ) from None


def _read_root(f, path, require_2d):
    """`(dataset_name, grid_type, n_spatial_dims, n_trajectories)`, checked."""
    try:
        root_keys = set(f.keys())
    except (OSError, RuntimeError) as err:
        raise WellDataError(
            f"{path}: the root group cannot be read; the file is corrupted ({err})."
        ) from None
    for key in REQUIRED_ROOT_ATTRS:
        _get_attr(f, key, path, "the root group")
    for group in REQUIRED_GROUPS:
        if group not in root_keys:
            raise WellDataError(
                f"{path}: missing the required group '{group}' (The Well's layout needs "
                f"{list(REQUIRED_GROUPS)}; found {sorted(root_keys)})."
            )
    dataset_name = as_str(_get_attr(f, "dataset_name", path, "the root group"))
    grid_type = as_str(_get_attr(f, "grid_type", path, "the root group"))
    try:
        n_spatial_dims = int(_get_attr(f, "n_spatial_dims", path, "the root group"))
        n_trajectories = int(_get_attr(f, "n_trajectories", path, "the root group"))
    except (TypeError, ValueError) as err:
        raise WellDataError(
            f"{path}: n_spatial_dims / n_trajectories are not integers ({err})."
        ) from None
    if require_2d and n_spatial_dims != 2:
        raise WellDataError(
            f"{path}: dataset '{dataset_name}' has n_spatial_dims={n_spatial_dims}; "
            "keras_wavelit supports 2D data only."
        )
    if n_trajectories < 1:
        raise WellDataError(f"{path}: n_trajectories={n_trajectories}; expected at least 1.")
    return dataset_name, grid_type, n_spatial_dims, n_trajectories


def _read_dimensions(f, path, n_spatial_dims):
    """`(spatial_dims, n_steps, spatial_shape)` from the `dimensions` group."""
    dims_group = f["dimensions"]
    spatial_dims = tuple(
        as_str_list(_get_attr(dims_group, "spatial_dims", path, "group 'dimensions'"))
    )
    if len(spatial_dims) != n_spatial_dims:
        raise WellDataError(
            f"{path}: dimensions.attrs['spatial_dims']={list(spatial_dims)} does not "
            f"match n_spatial_dims={n_spatial_dims}."
        )
    time_ds = _get_child(dims_group, "time", path, "group 'dimensions'")
    _get_attr(time_ds, "sample_varying", path, "dataset 'dimensions/time'")
    if len(time_ds.shape) == 0:
        raise WellDataError(f"{path}: 'dimensions/time' is a scalar; expected a time axis.")
    spatial_shape = []
    for d in spatial_dims:
        ds = _get_child(dims_group, d, path, "group 'dimensions'")
        _get_attr(ds, "sample_varying", path, f"dataset 'dimensions/{d}'")
        if len(ds.shape) == 0:
            raise WellDataError(f"{path}: 'dimensions/{d}' is a scalar; expected coordinates.")
        spatial_shape.append(int(ds.shape[-1]))
    return spatial_dims, int(time_ds.shape[-1]), tuple(spatial_shape)


def _read_boundary_conditions(f, path, spatial_dims):
    """The `bc_type` of every boundary condition, checked."""
    bc_types = []
    bcs = f["boundary_conditions"]
    for name in bcs.keys():
        where = f"boundary condition 'boundary_conditions/{name}'"
        bc = bcs[name]
        bc_type = as_str(_get_attr(bc, "bc_type", path, where)).upper()
        if bc_type not in BC_TYPES:
            raise WellDataError(
                f"{path}: {where} has bc_type={bc_type!r}; expected one of {BC_TYPES}."
            )
        for d in as_str_list(_get_attr(bc, "associated_dims", path, where)):
            if d not in spatial_dims:
                raise WellDataError(
                    f"{path}: {where} refers to axis '{d}', "
                    f"not in spatial_dims {list(spatial_dims)}."
                )
        _get_child(bc, "mask", path, where)
        bc_types.append(bc_type)
    return bc_types


def _read_scalars(f, path):
    scal = f["scalars"]
    scalar_names = as_str_list(_get_attr(scal, "field_names", path, "group 'scalars'"))
    for name in scalar_names:
        ds = _get_child(scal, name, path, "group 'scalars'")
        for key in ("time_varying", "sample_varying"):
            _get_attr(ds, key, path, f"scalar 'scalars/{name}'")
    return scalar_names


def _read_field(ds, name, order, group_name, path, sizes):
    n_trajectories, n_steps, spatial_shape = sizes
    where = f"field '{group_name}/{name}'"
    tv = bool(_get_attr(ds, "time_varying", path, where))
    sv = bool(_get_attr(ds, "sample_varying", path, where))
    dv = tuple(bool(v) for v in np.asarray(_get_attr(ds, "dim_varying", path, where)).reshape(-1))
    if len(dv) != len(spatial_shape):
        raise WellDataError(
            f"{path}: {where} has dim_varying={list(dv)}; expected {len(spatial_shape)} entries."
        )
    shapes = allowed_shapes(sv, tv, dv, n_trajectories, n_steps, spatial_shape, order)
    if tuple(ds.shape) not in shapes:
        raise WellDataError(
            f"{path}: {where} has shape {tuple(ds.shape)}, expected {shapes[0]} "
            f"(n_trajectories={n_trajectories}, n_steps={n_steps}, "
            f"grid={spatial_shape}, sample_varying={sv}, time_varying={tv})."
        )
    return FieldInfo(name, order, tv, sv, dv, tuple(ds.shape))


def _read_fields(f, path, sizes):
    fields = []
    for order, group_name in enumerate(FIELD_GROUPS):
        g = f[group_name]
        for name in as_str_list(_get_attr(g, "field_names", path, f"group '{group_name}'")):
            ds = _get_child(g, name, path, f"group '{group_name}'")
            fields.append(_read_field(ds, name, order, group_name, path, sizes))
    if not any(fi.time_varying for fi in fields):
        raise WellDataError(f"{path}: no time-varying field found in {list(FIELD_GROUPS)}.")
    return fields


def validate_well_file(path: str, *, require_2d: bool = True) -> WellFileInfo:
    """Checks that an HDF5 file follows The Well's layout and describes it.

    Everything `the_well.data.WellDataset` reads is checked: the root
    attributes, the `dimensions`, `boundary_conditions`, `scalars` and
    `t0/t1/t2_fields` groups with their attributes, and the shape of every
    field against the trajectory count, time axis and grid. Field values are
    not read.

    Args:
        path: path of the `.hdf5` / `.h5` file.
        require_2d: if True (default), reject data that is not 2D, since the
            models of this library are 2D only.

    Returns:
        A `WellFileInfo` (dataset name, trajectory and step counts, grid,
        fields in `WellDataset`'s channel order).

    Raises:
        WellDataError: naming the file and the group, attribute, field or
            shape at fault; also for files that cannot be opened (truncated or
            corrupted).

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.data import WellField, validate_well_file, write_well_file

    x = np.arange(8.0)
    path = write_well_file(
        os.path.join(tempfile.mkdtemp(), "demo.hdf5"),
        dataset_name="demo",
        time=np.arange(3.0),
        space={"x": x, "y": x},
        t1_fields={"velocity": WellField(np.zeros((1, 3, 8, 8, 2)))},
    )
    info = validate_well_file(path)
    assert info.variable_channel_names == ["velocity_x", "velocity_y"]
    ```
    """
    with _open_hdf5(path) as f:
        dataset_name, grid_type, n_dims, n_trajectories = _read_root(f, path, require_2d)
        spatial_dims, n_steps, spatial_shape = _read_dimensions(f, path, n_dims)
        bc_types = _read_boundary_conditions(f, path, spatial_dims)
        scalar_names = _read_scalars(f, path)
        fields = _read_fields(f, path, (n_trajectories, n_steps, spatial_shape))
    return WellFileInfo(
        path=path,
        dataset_name=dataset_name,
        grid_type=grid_type,
        n_spatial_dims=n_dims,
        n_trajectories=n_trajectories,
        n_steps=n_steps,
        spatial_dims=spatial_dims,
        spatial_shape=spatial_shape,
        fields=fields,
        scalar_names=scalar_names,
        bc_types=bc_types,
    )


def list_split_files(split_dir: str) -> List[str]:
    """Sorted `.hdf5` / `.h5` files of one split directory (as `WellDataset` globs)."""
    if not os.path.isdir(split_dir):
        return []
    return sorted(
        os.path.join(split_dir, n)
        for n in os.listdir(split_dir)
        if n.endswith((".hdf5", ".h5")) and os.path.isfile(os.path.join(split_dir, n))
    )


def _check_agree(info, ref):
    for attr in ("dataset_name", "spatial_shape", "spatial_dims"):
        if getattr(info, attr) != getattr(ref, attr):
            raise WellDataError(
                f"{info.path}: {attr}={getattr(info, attr)!r} differs from "
                f"{getattr(ref, attr)!r} in {ref.path}; all files of a split must agree."
            )
    if [(fi.name, fi.order, fi.time_varying) for fi in info.fields] != [
        (fi.name, fi.order, fi.time_varying) for fi in ref.fields
    ]:
        raise WellDataError(
            f"{info.path}: fields {[fi.name for fi in info.fields]} differ from "
            f"{[fi.name for fi in ref.fields]} in {ref.path}; all files of a split must agree."
        )


def validate_split(split_dir: str, *, require_2d: bool = True) -> List[WellFileInfo]:
    """Validates every file of one split directory and checks they agree.

    Args:
        split_dir: directory such as `<base>/datasets/<name>/data/train`.
        require_2d: reject data that is not 2D. Defaults to True.

    Returns:
        One `WellFileInfo` per file, sorted by path.

    Raises:
        WellDataError: if the directory is missing or empty, a file is invalid,
            or files disagree on dataset name, grid or fields.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.data import WellField, validate_split, write_well_file

    split = tempfile.mkdtemp()
    for i in range(2):
        write_well_file(
            os.path.join(split, f"part{i}.hdf5"),
            dataset_name="demo",
            time=np.arange(3.0),
            space={"x": np.arange(8.0), "y": np.arange(8.0)},
            t0_fields={"u": WellField(np.zeros((1, 3, 8, 8)))},
        )
    assert len(validate_split(split)) == 2
    ```
    """
    if not os.path.isdir(split_dir):
        raise WellDataError(f"{split_dir}: split directory not found.")
    files = list_split_files(split_dir)
    if not files:
        raise WellDataError(f"{split_dir}: split is empty (no .hdf5 or .h5 files).")
    infos = [validate_well_file(p, require_2d=require_2d) for p in files]
    for info in infos[1:]:
        _check_agree(info, infos[0])
    return infos


def boundary_mode(path: str) -> str:
    """The `boundary` argument of `WaveLiT` that suits a dataset's boundaries.

    Reads the `boundary_conditions` group of The Well's files: `"periodic"`
    when every condition is `PERIODIC` (e.g. `gray_scott_2d`,
    `kolmogorov_2d`: the DWT and the depthwise convolutions then wrap
    around, as the data does), else `"reflect"` (walls or open boundaries,
    e.g. `acoustic_scattering_2d`). See `docs/design.md` §2.1.

    Args:
        path: one HDF5 file, a split directory (`.../data/train`) or a
            dataset directory (`<base>/datasets/<name>`, whose `train` split
            is read).

    Returns:
        `"periodic"` or `"reflect"`.

    Raises:
        WellDataError: if no valid Well file is found at `path`.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.data import WellBoundaryCondition, WellField
    from keras_wavelit.data import boundary_mode, write_well_file

    x = np.arange(8.0)
    mask = np.zeros(8, bool)
    mask[[0, -1]] = True
    path = write_well_file(
        os.path.join(tempfile.mkdtemp(), "periodic.hdf5"),
        dataset_name="demo",
        time=np.arange(3.0),
        space={"x": x, "y": x},
        t0_fields={"u": WellField(np.zeros((1, 3, 8, 8)))},
        boundary_conditions={
            "x_periodic": WellBoundaryCondition("PERIODIC", ("x",), mask),
            "y_periodic": WellBoundaryCondition("PERIODIC", ("y",), mask),
        },
    )
    assert boundary_mode(path) == "periodic"
    ```
    """
    if os.path.isdir(path):
        split = os.path.join(path, "data", "train")
        files = list_split_files(split if os.path.isdir(split) else path)
        if not files:
            raise WellDataError(
                f"{path}: no .hdf5 or .h5 files (expected a Well split directory, "
                "a dataset directory with data/train, or a file)."
            )
        path = files[0]
    return validate_well_file(path, require_2d=False).boundary_mode
