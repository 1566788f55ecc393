"""The schema of The Well's HDF5 files: field, scalar and boundary-condition
records, file summaries and the shape rule (`docs/data.md`).

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
from typing import List
from typing import Sequence
from typing import Tuple

import numpy as np

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


def as_str(value) -> str:
    """An HDF5 attribute value (bytes, 0-d array or str) as `str`."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return as_str(value.item())
    return str(value)


def as_str_list(value) -> List[str]:
    """An HDF5 attribute holding one or several names as a list of `str`."""
    if isinstance(value, (str, bytes)):
        return [as_str(value)]
    return [as_str(v) for v in np.asarray(value).reshape(-1)]


def str_array(names: Sequence[str]) -> np.ndarray:
    """Names as an array of h5py's variable-length strings."""
    import h5py

    return np.array([str(n) for n in names], dtype=h5py.string_dtype())


def _shape(sample_varying, time_varying, dim_varying, n_trajectories, n_steps, grid, order):
    shape = []
    if sample_varying:
        shape.append(n_trajectories)
    if time_varying:
        shape.append(n_steps)
    shape += [n for n, used in zip(grid, dim_varying) if used]
    shape += [len(grid)] * order
    return tuple(shape)


def allowed_shapes(
    sample_varying: bool,
    time_varying: bool,
    dim_varying: Sequence[bool],
    n_trajectories: int,
    n_steps: int,
    spatial_shape: Sequence[int],
    order: int,
) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """The two shapes a field may have in The Well's layout.

    An axis the field does not vary along is either left out (the first
    shape) or kept with size 1 (the second; the only form
    `the_well.data.WellDataset` reads).

    Returns:
        `(omitted, kept)` shape tuples (equal when the field varies along
        every spatial axis).
    """
    omitted = _shape(
        sample_varying, time_varying, dim_varying, n_trajectories, n_steps, spatial_shape, order
    )
    kept_grid = [n if used else 1 for n, used in zip(spatial_shape, dim_varying)]
    kept = _shape(
        sample_varying,
        time_varying,
        (True,) * len(dim_varying),
        n_trajectories,
        n_steps,
        kept_grid,
        order,
    )
    return omitted, kept
