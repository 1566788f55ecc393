"""The canonical channel space of the foundation model (paper section 3.5, `docs/foundation.md`).

Every dataset maps its channels (The Well's flattened field names, e.g.
`velocity_x`) to canonical channels: the union of the physical variables of
all registered datasets. A variable shared by two datasets (`velocity_x` in
`shear_flow` and `rayleigh_benard`) is one canonical channel with one set
of lifting weights; channels a dataset lacks are zero.

Time-varying fields and constant fields (The Well's `constant_fields`, e.g.
`density` and `speed_of_sound` of the acoustic datasets) are two separate
canonical spaces: a constant field enters the lifting once, a field once per
input step. The registry is pre-filled with The Well's eight 2D datasets of
the paper and the three embedded datasets; `register_dataset` adds more.
Channels are numbered in registration order, so registering a dataset never
renumbers the channels of the ones before it.

This module is pure Python (no Keras import).
"""

import copy
import dataclasses
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence
from typing import Tuple

_BOUNDARIES = ("reflect", "periodic")


@dataclasses.dataclass(frozen=True)
class DatasetChannels:
    """The channels of one dataset.

    Attributes:
        name: dataset name (The Well's directory name).
        fields: time-varying channel names, in the order the model's `fields`
            input holds them (a `WellSequence`'s `channel_names`).
        constants: constant channel names (`constant_channel_names`).
        boundary: boundary mode of the dataset's wavelet transforms,
            `"reflect"` (walls, open boundaries) or `"periodic"`.
        resolution: `(H, W)` of the data, or None when unknown.
        train_examples: training examples `N_i` (the paper's Table 7), or
            None.
    """

    name: str
    fields: Tuple[str, ...]
    constants: Tuple[str, ...] = ()
    boundary: str = "reflect"
    resolution: Optional[Tuple[int, int]] = None
    train_examples: Optional[int] = None

    def __post_init__(self):
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"Dataset name must be a non-empty string; got {self.name!r}.")
        fields = (self.fields,) if isinstance(self.fields, str) else tuple(self.fields)
        constants = (self.constants,) if isinstance(self.constants, str) else tuple(self.constants)
        object.__setattr__(self, "fields", tuple(str(f) for f in fields))
        object.__setattr__(self, "constants", tuple(str(c) for c in constants))
        if not self.fields:
            raise ValueError(f"Dataset {self.name!r}: `fields` must name at least one channel.")
        for what, names in (("fields", self.fields), ("constants", self.constants)):
            if len(set(names)) != len(names):
                raise ValueError(f"Dataset {self.name!r}: duplicate channel in {what} {names}.")
        if self.boundary not in _BOUNDARIES:
            raise ValueError(
                f"Dataset {self.name!r}: boundary {self.boundary!r} is not one of {_BOUNDARIES}."
            )
        if self.resolution is not None:
            object.__setattr__(self, "resolution", tuple(int(r) for r in self.resolution))

    @property
    def tokens_per_example(self):
        """`T_i = (H/2)(W/2)`: tokens after one wavelet level (None without resolution)."""
        if self.resolution is None:
            return None
        return (self.resolution[0] // 2) * (self.resolution[1] // 2)

    def get_config(self):
        return {
            "name": self.name,
            "fields": list(self.fields),
            "constants": list(self.constants),
            "boundary": self.boundary,
            "resolution": None if self.resolution is None else list(self.resolution),
            "train_examples": self.train_examples,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _vector(name):
    return (f"{name}_x", f"{name}_y")


def _tensor(name):
    return tuple(f"{name}_{a}{b}" for a in "xy" for b in "xy")


# The Well's 2D datasets of the paper (Table 7), channel names as The Well
# flattens them (t0 fields, then t1, then t2), and the embedded datasets.
_BUILTIN = (
    DatasetChannels(
        "active_matter",
        ("concentration",) + _vector("velocity") + _tensor("D") + _tensor("E"),
        boundary="periodic",
        resolution=(256, 256),
        train_examples=14000,
    ),
    DatasetChannels(
        "gray_scott_reaction_diffusion",
        ("A", "B"),
        boundary="periodic",
        resolution=(128, 128),
        train_examples=960000,
    ),
    DatasetChannels(
        "rayleigh_benard",
        ("buoyancy", "pressure") + _vector("velocity"),
        resolution=(512, 128),
        train_examples=278600,
    ),
    DatasetChannels(
        "shear_flow",
        ("pressure", "tracer") + _vector("velocity"),
        boundary="periodic",
        resolution=(256, 512),
        train_examples=178304,
    ),
    DatasetChannels(
        "turbulent_radiative_layer_2D",
        ("density", "pressure") + _vector("velocity"),
        resolution=(128, 384),
        train_examples=7200,
    ),
    DatasetChannels(
        "viscoelastic_instability",
        ("pressure", "c_zz") + _vector("velocity") + _tensor("C"),
        resolution=(512, 512),
        train_examples=6487,
    ),
    DatasetChannels(
        "acoustic_scattering_maze",
        ("pressure",) + _vector("velocity"),
        constants=("density", "speed_of_sound"),
        resolution=(256, 256),
        train_examples=321600,
    ),
    DatasetChannels(
        "helmholtz_staircase",
        ("pressure_re", "pressure_im"),
        constants=("mask",),
        resolution=(1024, 256),
        train_examples=20384,
    ),
    DatasetChannels(
        "acoustic_scattering_2d",
        ("pressure",) + _vector("velocity"),
        constants=("density", "speed_of_sound"),
        resolution=(64, 64),
    ),
    DatasetChannels("gray_scott_2d", ("A", "B"), boundary="periodic", resolution=(64, 64)),
    DatasetChannels(
        "kolmogorov_2d",
        ("vorticity",) + _vector("velocity"),
        boundary="periodic",
        resolution=(64, 64),
    ),
)

#: The Well's 2D datasets of the paper, in Table 7's order.
WELL_2D_DATASETS = tuple(d.name for d in _BUILTIN[:8])
#: The embedded datasets (`keras_wavelit.data.simulate`).
EMBEDDED_DATASETS = tuple(d.name for d in _BUILTIN[8:])


class ChannelRegistry:
    """Datasets and their canonical channels.

    Args:
        datasets: optional sequence of `DatasetChannels` (or their config
            dicts) to register, in order.

    Example:

    ```python
    from keras_wavelit.data import default_registry

    registry = default_registry()
    registry.register("my_flow", fields=["pressure", "velocity_x", "velocity_y", "dye"])
    sub = registry.subset(["gray_scott_2d", "my_flow"])
    print(sub.channels)  # ['A', 'B', 'pressure', 'velocity_x', 'velocity_y', 'dye']
    print(sub.field_indices("my_flow"))  # [2, 3, 4, 5]
    ```
    """

    def __init__(self, datasets: Optional[Sequence] = None):
        self._datasets: Dict[str, DatasetChannels] = {}
        self._channels: List[str] = []
        self._constant_channels: List[str] = []
        for d in datasets or ():
            self.add(d)

    # ------------------------------------------------------------- building
    def add(self, spec, overwrite=False):
        """Registers a `DatasetChannels` (or its config dict); returns it."""
        if isinstance(spec, dict):
            spec = DatasetChannels.from_config(spec)
        if not isinstance(spec, DatasetChannels):
            raise TypeError(f"Expected a DatasetChannels or a dict; got {type(spec).__name__}.")
        old = self._datasets.get(spec.name)
        if old is not None and old != spec and not overwrite:
            raise ValueError(
                f"Dataset {spec.name!r} is already registered with fields {list(old.fields)} and "
                f"constants {list(old.constants)}; pass overwrite=True to replace it."
            )
        self._datasets[spec.name] = spec
        for c in spec.fields:
            if c not in self._channels:
                self._channels.append(c)
        for c in spec.constants:
            if c not in self._constant_channels:
                self._constant_channels.append(c)
        return spec

    def register(
        self,
        name,
        fields,
        constants=(),
        boundary="reflect",
        resolution=None,
        train_examples=None,
        overwrite=False,
    ):
        """Registers a dataset by its channel names; new names become new channels.

        Args:
            name: dataset name.
            fields: time-varying channel names in the dataset's order.
            constants: constant channel names.
            boundary: `"reflect"` or `"periodic"`.
            resolution: optional `(H, W)`.
            train_examples: optional number of training examples.
            overwrite: replace a dataset of the same name.

        Returns:
            The `DatasetChannels` registered.
        """
        spec = DatasetChannels(
            name, tuple(fields), tuple(constants), boundary, resolution, train_examples
        )
        return self.add(spec, overwrite=overwrite)

    def subset(self, names):
        """A registry of only `names` (in that order); channels keep this registry's order."""
        names = [names] if isinstance(names, str) else list(names)
        specs = [self[n] for n in names]
        if len(set(names)) != len(names):
            raise ValueError(f"Duplicate dataset in {names}.")
        sub = ChannelRegistry()
        used = {c for s in specs for c in s.fields}
        used_const = {c for s in specs for c in s.constants}
        sub._channels = [c for c in self._channels if c in used]
        sub._constant_channels = [c for c in self._constant_channels if c in used_const]
        for s in specs:
            sub._datasets[s.name] = s
        return sub

    def copy(self):
        return copy.deepcopy(self)

    # -------------------------------------------------------------- queries
    def __getitem__(self, name) -> DatasetChannels:
        if name not in self._datasets:
            raise KeyError(
                f"Unknown dataset {name!r}; registered datasets: {sorted(self._datasets)}. "
                "Register it with keras_wavelit.data.register_dataset(name, fields=[...])."
            )
        return self._datasets[name]

    def __contains__(self, name):
        return name in self._datasets

    def __len__(self):
        return len(self._datasets)

    @property
    def names(self) -> List[str]:
        """Dataset names, in registration order."""
        return list(self._datasets)

    @property
    def channels(self) -> List[str]:
        """Canonical time-varying channels, in registration order."""
        return list(self._channels)

    @property
    def constant_channels(self) -> List[str]:
        """Canonical constant channels, in registration order."""
        return list(self._constant_channels)

    def field_indices(self, name) -> List[int]:
        """Canonical index of each of dataset `name`'s fields."""
        return [self._channels.index(c) for c in self[name].fields]

    def constant_indices(self, name) -> List[int]:
        """Canonical index of each of dataset `name`'s constant fields."""
        return [self._constant_channels.index(c) for c in self[name].constants]

    def check_channels(self, name, fields, constants=None):
        """Raises a `ValueError` when channel names do not match the registry's.

        Args:
            name: dataset name.
            fields: the data's time-varying channel names.
            constants: the data's constant channel names (None: not checked).

        Returns:
            `(field_order, constant_order)`: for each registered channel, its
            position in the given names (to reorder the data).
        """
        spec = self[name]
        orders = []
        for what, given, expected in (
            ("fields", fields, spec.fields),
            ("constants", constants, spec.constants),
        ):
            if given is None:
                orders.append(None)
                continue
            given = list(given)
            if sorted(given) != sorted(expected):
                missing = [c for c in expected if c not in given]
                extra = [c for c in given if c not in expected]
                raise ValueError(
                    f"Dataset {name!r}: the data's {what} {given} do not match the registry's "
                    f"{list(expected)} (missing {missing}, unexpected {extra}). Register the "
                    "dataset with its channel names (register_dataset(..., overwrite=True))."
                )
            orders.append([given.index(c) for c in expected])
        return tuple(orders)

    def get_config(self):
        return {"datasets": [self._datasets[n].get_config() for n in self._datasets]}

    @classmethod
    def from_config(cls, config):
        return cls(config["datasets"])

    def __repr__(self):
        return (
            f"ChannelRegistry({len(self)} datasets, {len(self._channels)} channels, "
            f"{len(self._constant_channels)} constant channels)"
        )


_DEFAULT = ChannelRegistry(_BUILTIN)


def default_registry():
    """The process-wide registry (built-ins plus everything registered).

    Returns the registry itself: `register_dataset` adds to it.
    """
    return _DEFAULT


def register_dataset(name, fields, constants=(), boundary="reflect", **kwargs):
    """Registers a dataset in the default registry (see `ChannelRegistry.register`).

    Example:

    ```python
    from keras_wavelit.data import default_registry, register_dataset

    register_dataset("my_wave_tank", fields=["pressure", "velocity_x", "velocity_y", "height"])
    print(default_registry().field_indices("my_wave_tank"))
    ```
    """
    return _DEFAULT.register(name, fields, constants, boundary, **kwargs)
