"""Container for simulated trajectories before they are written to disk."""

import dataclasses
from typing import Callable
from typing import Dict
from typing import Optional
from typing import Sequence

import numpy as np

from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.well_schema import WellBoundaryCondition
from keras_wavelit.data.well_schema import WellField
from keras_wavelit.data.well_schema import WellScalar

# Progress callback the solvers call as `progress(done, total)`, with the
# number of output snapshots computed so far and the total to compute.
ProgressFn = Optional[Callable[[int, int], None]]


@dataclasses.dataclass
class SimulationResult:
    """Trajectories of one simulated system, in The Well's field layout.

    Sample-varying arrays carry every trajectory; `subset` selects some of
    them (one split) as keyword arguments for `write_well_file`.
    """

    dataset_name: str
    time: np.ndarray
    space: Dict[str, np.ndarray]
    t0_fields: Dict[str, WellField]
    t1_fields: Dict[str, WellField]
    t2_fields: Dict[str, WellField]
    scalars: Dict[str, WellScalar]
    boundary_conditions: Dict[str, WellBoundaryCondition]
    simulation_parameters: Dict[str, float]
    diagnostics: Dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def n_trajectories(self) -> int:
        for group in (self.t0_fields, self.t1_fields, self.t2_fields):
            for f in group.values():
                if f.sample_varying:
                    return int(np.asarray(f.data).shape[0])
        raise WellDataError(f"{self.dataset_name}: no sample-varying field.")

    def check_finite(self):
        """Raises `WellDataError` naming field, trajectory and step of the first NaN/Inf."""
        for group in (self.t0_fields, self.t1_fields, self.t2_fields):
            for name, f in group.items():
                data = np.asarray(f.data)
                bad = ~np.isfinite(data)
                if bad.any():
                    idx = np.argwhere(bad)[0]
                    where = []
                    k = 0
                    if f.sample_varying:
                        where.append(f"trajectory {idx[k]}")
                        k += 1
                    if f.time_varying:
                        where.append(f"step {idx[k]}")
                    raise WellDataError(
                        f"{self.dataset_name}: simulation produced non-finite values in field "
                        f"'{name}' ({', '.join(where)}); "
                        "the solver is unstable for these parameters."
                    )

    def subset(self, indices: Sequence[int]) -> dict:
        """Keyword arguments for `write_well_file` holding only `indices`."""
        indices = np.asarray(indices, dtype=int)

        def take(group):
            out = {}
            for name, f in group.items():
                data = np.asarray(f.data)
                if f.sample_varying:
                    data = data[indices]
                out[name] = dataclasses.replace(f, data=data)
            return out

        scalars = {}
        for name, s in self.scalars.items():
            data = np.asarray(s.data)
            if s.sample_varying:
                data = data[indices]
            scalars[name] = dataclasses.replace(s, data=data)
        return dict(
            dataset_name=self.dataset_name,
            time=self.time,
            space=self.space,
            t0_fields=take(self.t0_fields),
            t1_fields=take(self.t1_fields),
            t2_fields=take(self.t2_fields),
            scalars=scalars,
            boundary_conditions=self.boundary_conditions,
            simulation_parameters=self.simulation_parameters,
            n_trajectories=int(len(indices)),
        )


def trajectory_rngs(seed: int, n_trajectories: int, offset: int = 0):
    """One independent NumPy generator per trajectory, fixed by `(seed, index)`.

    Trajectory `i` depends only on `seed` and `i`, so a dataset generated with
    more trajectories extends, rather than changes, a smaller one.
    """
    return [np.random.default_rng([int(seed), offset + i]) for i in range(n_trajectories)]


def wall_boundary_conditions(dims=("x", "y"), sizes=(64, 64)) -> Dict[str, WellBoundaryCondition]:
    """Reflecting walls on both ends of every axis."""
    out = {}
    for d, n in zip(dims, sizes):
        mask = np.zeros(n, dtype=bool)
        mask[0] = mask[-1] = True
        out[f"{d}_wall"] = WellBoundaryCondition("WALL", (d,), mask)
    return out


def periodic_boundary_conditions(
    dims=("x", "y"), sizes=(64, 64)
) -> Dict[str, WellBoundaryCondition]:
    """Periodic boundaries on every axis."""
    out = {}
    for d, n in zip(dims, sizes):
        mask = np.zeros(n, dtype=bool)
        mask[0] = mask[-1] = True
        out[f"{d}_periodic"] = WellBoundaryCondition("PERIODIC", (d,), mask)
    return out
