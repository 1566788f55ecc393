"""Writing and validating HDF5 files in The Well's layout.

A file in The Well's format holds `n_trajectories` simulations of one physical
system on one grid. Its layout, which `the_well.data.WellDataset` reads, is:

- root attributes `dataset_name`, `grid_type`, `n_spatial_dims`,
  `n_trajectories`, `simulation_parameters` (names of the parameters, each of
  which is also stored as a root attribute);
- group `dimensions` (attribute `spatial_dims`, e.g. `["x", "y"]`) with one
  dataset per coordinate (`time`, `x`, `y`), each with the attributes
  `sample_varying` and `time_varying`;
- group `boundary_conditions` with one sub-group per condition (attributes
  `bc_type`, `associated_dims`, `associated_fields`, `sample_varying`,
  `time_varying`, dataset `mask`);
- group `scalars` (attribute `field_names`), one dataset per scalar with the
  attributes `sample_varying` and `time_varying`;
- groups `t0_fields`, `t1_fields`, `t2_fields` (scalar, vector and rank-2
  tensor fields; attribute `field_names`), one dataset per field with the
  attributes `dim_varying`, `sample_varying` and `time_varying`. A field that
  varies over samples, time and both spatial axes has the shape
  `(n_trajectories, n_steps, H, W)` followed by one axis of size 2 per tensor
  order.
"""

import dataclasses
import os
from typing import Dict
from typing import List
from typing import Mapping
from typing import Optional
from typing import Sequence
from typing import Tuple

import numpy as np

from keras_wavelit.data.errors import WellDataError

FIELD_GROUPS = ("t0_fields", "t1_fields", "t2_fields")
REQUIRED_ROOT_ATTRS = ("dataset_name", "grid_type", "n_spatial_dims", "n_trajectories")
REQUIRED_GROUPS = ("dimensions", "boundary_conditions", "scalars") + FIELD_GROUPS
BC_TYPES = ("WALL", "OPEN", "PERIODIC")


@dataclasses.dataclass
class WellField:
    """A field to write with `write_well_file`.

    Args:
        data: array of shape `[n_trajectories] + [n_steps] + spatial + [2] * order`
            where the leading axes are present only when the field varies over
            samples (`sample_varying`) and over time (`time_varying`), and a
            spatial axis is present only where `dim_varying` is True.
        time_varying: whether the field changes over time. Fields that do not
            are The Well's "constant fields".
        sample_varying: whether the field differs between trajectories.
        dim_varying: per spatial axis, whether the field varies along it.
            An axis the field does not vary along is either left out of
            `data` or kept with size 1; only the latter is readable by
            `the_well.data.WellDataset`.
    """

    data: np.ndarray
    time_varying: bool = True
    sample_varying: bool = True
    dim_varying: Tuple[bool, ...] = (True, True)


@dataclasses.dataclass
class WellScalar:
    """A scalar to write with `write_well_file` (e.g. a simulation parameter).

    Args:
        data: a number, or an array with a leading `n_trajectories` axis when
            `sample_varying` and an `n_steps` axis when `time_varying`.
        time_varying: whether the scalar changes over time.
        sample_varying: whether the scalar differs between trajectories.
    """

    data: np.ndarray
    time_varying: bool = False
    sample_varying: bool = False


@dataclasses.dataclass
class WellBoundaryCondition:
    """A boundary condition to write with `write_well_file`.

    Args:
        bc_type: one of `"WALL"`, `"OPEN"`, `"PERIODIC"`.
        associated_dims: names of the spatial axes it applies to, e.g. `("x",)`.
        mask: boolean array over the associated axis, True where the condition
            holds (for a whole-side condition: the first and last points).
        associated_fields: names of the fields it applies to (empty: all).
    """

    bc_type: str
    associated_dims: Tuple[str, ...]
    mask: np.ndarray
    associated_fields: Tuple[str, ...] = ()


@dataclasses.dataclass
class FieldInfo:
    """Description of one field of a validated Well file."""

    name: str
    order: int
    time_varying: bool
    sample_varying: bool
    dim_varying: Tuple[bool, ...]
    shape: Tuple[int, ...]

    @property
    def omits_constant_axes(self) -> bool:
        """True if spatial axes the field does not vary along are left out of its shape."""
        return not all(self.dim_varying) and len(self.shape) < (
            int(self.sample_varying) + int(self.time_varying) + len(self.dim_varying) + self.order
        )

    def channel_names(self, spatial_dims: Sequence[str]) -> List[str]:
        """Flattened channel names, in the order `WellDataset` stacks them."""
        import itertools

        suffixes = ["".join(p) for p in itertools.product(spatial_dims, repeat=self.order)]
        return [f"{self.name}_{s}" if s else self.name for s in suffixes]


@dataclasses.dataclass
class WellFileInfo:
    """Summary of a validated Well file, returned by `validate_well_file`."""

    path: str
    dataset_name: str
    grid_type: str
    n_spatial_dims: int
    n_trajectories: int
    n_steps: int
    spatial_dims: Tuple[str, ...]
    spatial_shape: Tuple[int, ...]
    fields: List[FieldInfo]
    scalar_names: List[str]
    bc_types: List[str]

    @property
    def boundary_mode(self) -> str:
        """The model boundary mode the data asks for: `"periodic"` when every
        boundary condition of the file is `PERIODIC`, else `"reflect"`
        (walls, open boundaries, or none declared)."""
        if self.bc_types and all(t == "PERIODIC" for t in self.bc_types):
            return "periodic"
        return "reflect"

    @property
    def variable_fields(self) -> List[FieldInfo]:
        """Time-varying fields, in `WellDataset`'s channel order."""
        return [f for f in self.fields if f.time_varying]

    @property
    def constant_fields(self) -> List[FieldInfo]:
        """Time-constant fields, in `WellDataset`'s channel order."""
        return [f for f in self.fields if not f.time_varying]

    @property
    def variable_channel_names(self) -> List[str]:
        names = []
        for f in self.variable_fields:
            names += f.channel_names(self.spatial_dims)
        return names

    @property
    def constant_channel_names(self) -> List[str]:
        names = []
        for f in self.constant_fields:
            names += f.channel_names(self.spatial_dims)
        return names


def _as_str(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _as_str(value.item())
    return str(value)


def _as_str_list(value) -> List[str]:
    if isinstance(value, (str, bytes)):
        return [_as_str(value)]
    return [_as_str(v) for v in np.asarray(value).reshape(-1)]


def _str_array(names: Sequence[str]) -> np.ndarray:
    import h5py

    return np.array([str(n) for n in names], dtype=h5py.string_dtype())


def _expected_shape(
    sample_varying: bool,
    time_varying: bool,
    dim_varying: Sequence[bool],
    n_trajectories: int,
    n_steps: int,
    spatial_shape: Sequence[int],
    order: int,
) -> Tuple[int, ...]:
    shape = []
    if sample_varying:
        shape.append(n_trajectories)
    if time_varying:
        shape.append(n_steps)
    shape += [n for n, used in zip(spatial_shape, dim_varying) if used]
    shape += [len(spatial_shape)] * order
    return tuple(shape)


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

    Example:

    ```python
    import numpy as np
    from keras_wavelit.data import WellField, write_well_file

    x = np.linspace(0, 1, 16, endpoint=False)
    u = np.random.rand(2, 5, 16, 16).astype("float32")  # (traj, time, x, y)
    write_well_file(
        "demo.hdf5",
        dataset_name="demo",
        time=np.arange(5.0),
        space={"x": x, "y": x},
        t0_fields={"u": WellField(u)},
    )
    ```
    """
    import h5py

    time = np.asarray(time)
    if time.ndim != 1:
        raise WellDataError(f"{path}: `time` must be 1D, got shape {time.shape}.")
    n_steps = int(time.shape[0])
    dims = list(space.keys())
    coords = {k: np.asarray(v) for k, v in space.items()}
    for name, c in coords.items():
        if c.ndim != 1:
            raise WellDataError(
                f"{path}: coordinates of spatial axis '{name}' must be 1D, got shape {c.shape}."
            )
    spatial_shape = tuple(int(coords[d].shape[0]) for d in dims)
    groups = {
        "t0_fields": dict(t0_fields or {}),
        "t1_fields": dict(t1_fields or {}),
        "t2_fields": dict(t2_fields or {}),
    }
    scalars = dict(scalars or {})
    boundary_conditions = dict(boundary_conditions or {})
    simulation_parameters = dict(simulation_parameters or {})

    # Infer and check the trajectory count.
    if n_trajectories is None:
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
        n_trajectories = int(counts.pop())

    for order, group_name in enumerate(FIELD_GROUPS):
        for name, field in groups[group_name].items():
            data = np.asarray(field.data)
            dim_varying = tuple(bool(v) for v in field.dim_varying)
            if len(dim_varying) != len(dims):
                raise WellDataError(
                    f"{path}: field '{name}' has dim_varying={dim_varying} but the grid "
                    f"has {len(dims)} spatial axes {dims}."
                )
            expected = _expected_shape(
                field.sample_varying,
                field.time_varying,
                dim_varying,
                n_trajectories,
                n_steps,
                spatial_shape,
                order,
            )
            kept = _expected_shape(
                field.sample_varying,
                field.time_varying,
                (True,) * len(dims),
                n_trajectories,
                n_steps,
                [n if used else 1 for n, used in zip(spatial_shape, dim_varying)],
                order,
            )
            if data.shape not in (expected, kept):
                raise WellDataError(
                    f"{path}: field '{name}' in {group_name} has shape {data.shape}, "
                    f"expected {expected} (n_trajectories={n_trajectories}, "
                    f"n_steps={n_steps}, grid={spatial_shape}, tensor order {order})."
                )
    for name, scalar in scalars.items():
        data = np.asarray(scalar.data)
        expected = ((n_trajectories,) if scalar.sample_varying else ()) + (
            (n_steps,) if scalar.time_varying else ()
        )
        if data.shape != expected:
            raise WellDataError(
                f"{path}: scalar '{name}' has shape {data.shape}, expected {expected}."
            )
    for name, bc in boundary_conditions.items():
        bc_type = str(bc.bc_type).upper()
        if bc_type not in BC_TYPES:
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

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["dataset_name"] = str(dataset_name)
        f.attrs["grid_type"] = str(grid_type)
        f.attrs["n_spatial_dims"] = int(len(dims))
        f.attrs["n_trajectories"] = int(n_trajectories)
        f.attrs["simulation_parameters"] = _str_array(list(simulation_parameters))
        for key, value in simulation_parameters.items():
            f.attrs[key] = value

        g = f.create_group("dimensions")
        g.attrs["spatial_dims"] = _str_array(dims)
        ds = g.create_dataset("time", data=time)
        ds.attrs["sample_varying"] = False
        ds.attrs["time_varying"] = True
        for d in dims:
            ds = g.create_dataset(d, data=coords[d])
            ds.attrs["sample_varying"] = False
            ds.attrs["time_varying"] = False

        g = f.create_group("boundary_conditions")
        for name, bc in boundary_conditions.items():
            sub = g.create_group(name)
            sub.attrs["associated_dims"] = _str_array(bc.associated_dims)
            sub.attrs["associated_fields"] = _str_array(bc.associated_fields)
            sub.attrs["bc_type"] = str(bc.bc_type).upper()
            sub.attrs["sample_varying"] = False
            sub.attrs["time_varying"] = False
            sub.create_dataset("mask", data=np.asarray(bc.mask, dtype=bool))

        g = f.create_group("scalars")
        g.attrs["field_names"] = _str_array(list(scalars))
        for name, scalar in scalars.items():
            ds = g.create_dataset(name, data=np.asarray(scalar.data))
            ds.attrs["sample_varying"] = bool(scalar.sample_varying)
            ds.attrs["time_varying"] = bool(scalar.time_varying)

        for group_name in FIELD_GROUPS:
            g = f.create_group(group_name)
            g.attrs["field_names"] = _str_array(list(groups[group_name]))
            for name, field in groups[group_name].items():
                ds = g.create_dataset(name, data=np.asarray(field.data))
                ds.attrs["dim_varying"] = np.asarray(field.dim_varying, dtype=bool)
                ds.attrs["sample_varying"] = bool(field.sample_varying)
                ds.attrs["time_varying"] = bool(field.time_varying)
    return path


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
    info = validate_well_file("data/train/gray_scott_2d_train.hdf5")
    print(info.n_trajectories, info.n_steps, info.variable_channel_names)
    ```
    """
    with _open_hdf5(path) as f:
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
        dataset_name = _as_str(_get_attr(f, "dataset_name", path, "the root group"))
        grid_type = _as_str(_get_attr(f, "grid_type", path, "the root group"))
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

        dims_group = f["dimensions"]
        spatial_dims = tuple(
            _as_str_list(_get_attr(dims_group, "spatial_dims", path, "group 'dimensions'"))
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
        n_steps = int(time_ds.shape[-1])
        spatial_shape = []
        for d in spatial_dims:
            ds = _get_child(dims_group, d, path, "group 'dimensions'")
            _get_attr(ds, "sample_varying", path, f"dataset 'dimensions/{d}'")
            if len(ds.shape) == 0:
                raise WellDataError(f"{path}: 'dimensions/{d}' is a scalar; expected coordinates.")
            spatial_shape.append(int(ds.shape[-1]))
        spatial_shape = tuple(spatial_shape)

        bc_types = []
        bcs = f["boundary_conditions"]
        for name in bcs.keys():
            where = f"boundary condition 'boundary_conditions/{name}'"
            bc = bcs[name]
            bc_type = _as_str(_get_attr(bc, "bc_type", path, where)).upper()
            if bc_type not in BC_TYPES:
                raise WellDataError(
                    f"{path}: {where} has bc_type={bc_type!r}; expected one of {BC_TYPES}."
                )
            assoc = _as_str_list(_get_attr(bc, "associated_dims", path, where))
            for d in assoc:
                if d not in spatial_dims:
                    raise WellDataError(
                        f"{path}: {where} refers to axis '{d}', not in spatial_dims {list(spatial_dims)}."
                    )
            _get_child(bc, "mask", path, where)
            bc_types.append(bc_type)

        scal = f["scalars"]
        scalar_names = _as_str_list(_get_attr(scal, "field_names", path, "group 'scalars'"))
        for name in scalar_names:
            ds = _get_child(scal, name, path, "group 'scalars'")
            for key in ("time_varying", "sample_varying"):
                _get_attr(ds, key, path, f"scalar 'scalars/{name}'")

        fields = []
        for order, group_name in enumerate(FIELD_GROUPS):
            g = f[group_name]
            names = _as_str_list(_get_attr(g, "field_names", path, f"group '{group_name}'"))
            for name in names:
                where = f"field '{group_name}/{name}'"
                ds = _get_child(g, name, path, f"group '{group_name}'")
                tv = bool(_get_attr(ds, "time_varying", path, where))
                sv = bool(_get_attr(ds, "sample_varying", path, where))
                dv = tuple(
                    bool(v)
                    for v in np.asarray(_get_attr(ds, "dim_varying", path, where)).reshape(-1)
                )
                if len(dv) != n_spatial_dims:
                    raise WellDataError(
                        f"{path}: {where} has dim_varying={list(dv)}; expected {n_spatial_dims} entries."
                    )
                expected = _expected_shape(
                    sv, tv, dv, n_trajectories, n_steps, spatial_shape, order
                )
                # An axis the field does not vary along is either omitted or kept with size 1.
                kept = _expected_shape(
                    sv,
                    tv,
                    (True,) * len(dv),
                    n_trajectories,
                    n_steps,
                    [n if used else 1 for n, used in zip(spatial_shape, dv)],
                    order,
                )
                if tuple(ds.shape) not in (expected, kept):
                    raise WellDataError(
                        f"{path}: {where} has shape {tuple(ds.shape)}, expected {expected} "
                        f"(n_trajectories={n_trajectories}, n_steps={n_steps}, "
                        f"grid={spatial_shape}, sample_varying={sv}, time_varying={tv})."
                    )
                fields.append(FieldInfo(name, order, tv, sv, dv, tuple(ds.shape)))
        if not any(fi.time_varying for fi in fields):
            raise WellDataError(f"{path}: no time-varying field found in {list(FIELD_GROUPS)}.")

    return WellFileInfo(
        path=path,
        dataset_name=dataset_name,
        grid_type=grid_type,
        n_spatial_dims=n_spatial_dims,
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


def validate_split(split_dir: str, *, require_2d: bool = True) -> List[WellFileInfo]:
    """Validates every file of one split directory and checks they agree.

    Args:
        split_dir: directory such as `<base>/datasets/<name>/data/train`.
        require_2d: reject data that is not 2D.

    Returns:
        One `WellFileInfo` per file, sorted by path.

    Raises:
        WellDataError: if the directory is missing or empty, a file is invalid,
            or files disagree on dataset name, grid or fields.
    """
    if not os.path.isdir(split_dir):
        raise WellDataError(f"{split_dir}: split directory not found.")
    files = list_split_files(split_dir)
    if not files:
        raise WellDataError(f"{split_dir}: split is empty (no .hdf5 or .h5 files).")
    infos = [validate_well_file(p, require_2d=require_2d) for p in files]
    ref = infos[0]
    for info in infos[1:]:
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
    return infos


def field_names_by_kind(info: WellFileInfo) -> Dict[str, List[str]]:
    """Core (unflattened) field names: `{"variable": [...], "constant": [...]}`."""
    return {
        "variable": [f.name for f in info.variable_fields],
        "constant": [f.name for f in info.constant_fields],
    }


def boundary_mode(path: str) -> str:
    """The `mode` argument of `WaveLiT` that suits a dataset's boundaries.

    Reads the `boundary_conditions` group of The Well's files: `"periodic"`
    when every condition is `PERIODIC` (e.g. `gray_scott_2d`,
    `kolmogorov_2d`: the DWT and the depthwise convolutions then wrap
    around, as the data does), else `"reflect"` (walls or open boundaries,
    e.g. `acoustic_scattering_2d`).

    Args:
        path: one HDF5 file, a split directory (`.../data/train`) or a
            dataset directory (`<base>/datasets/<name>`, whose `train` split
            is read).

    Returns:
        `"periodic"` or `"reflect"`.

    Raises:
        WellDataError: if no valid Well file is found at `path`.
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
