"""Linear acoustics in a heterogeneous medium with reflecting walls.

The system is the first-order form of the acoustic wave equation,

    dp/dt = -K div(u),        du/dt = -grad(p) / rho,       K = rho c^2,

for the pressure `p` and velocity `u`, in a medium of spatially varying
density `rho` and speed of sound `c` (a background with random circular and
elliptic inclusions that scatter the waves), on the square `[-1, 1]^2` with
rigid, reflecting walls (`u . n = 0`). Waves start from a few Gaussian
pressure pulses at rest.

It is solved by a staggered-grid finite-difference time-domain scheme (a Yee
scheme, leapfrog in time): pressure at cell centres and integer times,
velocity components on cell faces and half-integer times. Without damping
the scheme conserves a discrete acoustic energy exactly up to round-off;
the energy of the output fields (velocity averaged to integer times and
cell centres) is conserved to O(dt^2). The time step obeys the 2D CFL limit
`dt <= h / (c_max sqrt(2))` with a safety factor `cfl`.

Field names follow The Well's `acoustic_scattering_*` datasets: `pressure`
(t0), `velocity` (t1, 2 components), and the constant t0 fields `density`
and `speed_of_sound`.
"""

import math
from typing import Dict

import numpy as np

from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.simulation_result import ProgressFn
from keras_wavelit.data.simulation_result import SimulationResult
from keras_wavelit.data.simulation_result import trajectory_rngs
from keras_wavelit.data.simulation_result import wall_boundary_conditions
from keras_wavelit.data.well_schema import WellField
from keras_wavelit.data.well_schema import WellScalar

NAME = "acoustic_scattering_2d"
DEFAULT_N_TRAJECTORIES = 32
DEFAULT_N_STEPS = 80
DEFAULT_PARAMS = dict(
    dt_output=0.04,  # time between saved snapshots
    cfl=0.5,  # fraction of the 2D CFL limit used for the solver step
    background_density=1.0,
    background_speed=1.0,
    min_inclusions=3,
    max_inclusions=8,
    density_range=(0.5, 4.0),
    speed_range=(0.5, 2.0),
    n_pulses_max=3,
)


def make_medium(rng: np.random.Generator, xc: np.ndarray, params: Dict) -> tuple:
    """Random density and speed of sound maps on the cell-centre grid `xc`."""
    X, Y = np.meshgrid(xc, xc, indexing="ij")
    rho = np.full(X.shape, float(params["background_density"]))
    c = np.full(X.shape, float(params["background_speed"]))
    n_inc = int(rng.integers(params["min_inclusions"], params["max_inclusions"] + 1))
    for _ in range(n_inc):
        cx, cy = rng.uniform(-0.8, 0.8, size=2)
        a, b = rng.uniform(0.08, 0.3, size=2)
        theta = rng.uniform(0.0, np.pi)
        dx, dy = X - cx, Y - cy
        u = dx * np.cos(theta) + dy * np.sin(theta)
        v = -dx * np.sin(theta) + dy * np.cos(theta)
        inside = (u / a) ** 2 + (v / b) ** 2 <= 1.0
        rho[inside] = rng.uniform(*params["density_range"])
        c[inside] = rng.uniform(*params["speed_range"])
    return rho, c


def make_pulses(rng: np.random.Generator, xc: np.ndarray, params: Dict) -> np.ndarray:
    """A sum of 1 to `n_pulses_max` Gaussian pressure pulses."""
    X, Y = np.meshgrid(xc, xc, indexing="ij")
    p = np.zeros(X.shape)
    for _ in range(int(rng.integers(1, params["n_pulses_max"] + 1))):
        cx, cy = rng.uniform(-0.7, 0.7, size=2)
        width = rng.uniform(0.05, 0.1)
        amp = rng.uniform(0.5, 1.0) * rng.choice([-1.0, 1.0])
        p += amp * np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * width**2))
    return p


class StaggeredAcousticSolver:
    """Vectorised FDTD solver for a batch of media on an `N x N` grid.

    Args:
        density: `(B, N, N)` density at cell centres.
        speed_of_sound: `(B, N, N)` speed of sound at cell centres.
        h: grid spacing.
        dt: time step; must satisfy `dt <= h / (max(c) sqrt(2))`.

    The state is `p` `(B, N, N)`, `ux` `(B, N + 1, N)` and `uy` `(B, N, N + 1)`;
    the wall faces (first and last of each face array) stay zero.
    """

    def __init__(self, density: np.ndarray, speed_of_sound: np.ndarray, h: float, dt: float):
        self.rho = np.asarray(density, dtype=np.float64)
        self.c = np.asarray(speed_of_sound, dtype=np.float64)
        if self.rho.shape != self.c.shape or self.rho.ndim != 3:
            raise WellDataError(
                f"density {self.rho.shape} and speed_of_sound {self.c.shape} "
                "must both be (B, N, N)."
            )
        if np.any(self.rho <= 0) or np.any(self.c <= 0):
            raise WellDataError("density and speed_of_sound must be positive everywhere.")
        limit = h / (float(self.c.max()) * math.sqrt(2.0))
        if dt > limit * (1 + 1e-12):
            raise WellDataError(
                f"dt={dt:.3g} violates the CFL limit h / (c_max sqrt 2) = {limit:.3g}."
            )
        self.h, self.dt = float(h), float(dt)
        self.bulk = self.rho * self.c**2
        # Face densities (arithmetic mean of the two neighbouring cells).
        self.rho_x = 0.5 * (self.rho[:, 1:, :] + self.rho[:, :-1, :])
        self.rho_y = 0.5 * (self.rho[:, :, 1:] + self.rho[:, :, :-1])
        B, N, _ = self.rho.shape
        self.p = np.zeros((B, N, N))
        self.ux = np.zeros((B, N + 1, N))
        self.uy = np.zeros((B, N, N + 1))

    def _velocity_update(self, ux, uy, p, dt):
        ux[:, 1:-1, :] -= dt / (self.rho_x * self.h) * (p[:, 1:, :] - p[:, :-1, :])
        uy[:, :, 1:-1] -= dt / (self.rho_y * self.h) * (p[:, :, 1:] - p[:, :, :-1])

    def start(self, p0: np.ndarray):
        """Sets `p(0) = p0`, `u(0) = 0` and advances `u` to `t = dt / 2`."""
        self.p = np.array(p0, dtype=np.float64)
        self.ux[:] = 0.0
        self.uy[:] = 0.0
        self._velocity_update(self.ux, self.uy, self.p, 0.5 * self.dt)

    def step(self):
        """One leapfrog step; returns `(ux, uy)` averaged to the new integer time."""
        div = (self.ux[:, 1:, :] - self.ux[:, :-1, :]) + (self.uy[:, :, 1:] - self.uy[:, :, :-1])
        self.p -= self.dt * self.bulk / self.h * div
        ux_old, uy_old = self.ux.copy(), self.uy.copy()
        self._velocity_update(self.ux, self.uy, self.p, self.dt)
        return 0.5 * (ux_old + self.ux), 0.5 * (uy_old + self.uy)

    @staticmethod
    def faces_to_centres(ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
        """Face velocities to cell-centred `(B, N, N, 2)`."""
        vx = 0.5 * (ux[:, 1:, :] + ux[:, :-1, :])
        vy = 0.5 * (uy[:, :, 1:] + uy[:, :, :-1])
        return np.stack([vx, vy], axis=-1)

    def energy(self, p: np.ndarray, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
        """Acoustic energy `1/2 int(p^2 / K + rho |u|^2)` per batch member, `(B,)`."""
        potential = 0.5 * np.sum(p**2 / self.bulk, axis=(1, 2))
        kinetic = 0.5 * (
            np.sum(self.rho_x * ux[:, 1:-1, :] ** 2, axis=(1, 2))
            + np.sum(self.rho_y * uy[:, :, 1:-1] ** 2, axis=(1, 2))
        )
        return (potential + kinetic) * self.h**2

    def staggered_energy(self) -> np.ndarray:
        """The scheme's exactly conserved energy at the current step, `(B,)`.

        `1/2 sum(p^n^2 / K) + 1/2 sum(rho u^(n-1/2) . u^(n+1/2)) h^2`, evaluated
        by advancing a copy of the velocity half a step. Without damping it
        stays constant to round-off for any `dt` within the CFL limit.
        """
        ux_next, uy_next = self.ux.copy(), self.uy.copy()
        ux_prev, uy_prev = self.ux.copy(), self.uy.copy()
        # self.ux holds u^(n+1/2); recover u^(n-1/2) by undoing the last update.
        ux_prev[:, 1:-1, :] += (
            self.dt / (self.rho_x * self.h) * (self.p[:, 1:, :] - self.p[:, :-1, :])
        )
        uy_prev[:, :, 1:-1] += (
            self.dt / (self.rho_y * self.h) * (self.p[:, :, 1:] - self.p[:, :, :-1])
        )
        potential = 0.5 * np.sum(self.p**2 / self.bulk, axis=(1, 2))
        kinetic = 0.5 * (
            np.sum(self.rho_x * ux_prev[:, 1:-1, :] * ux_next[:, 1:-1, :], axis=(1, 2))
            + np.sum(self.rho_y * uy_prev[:, :, 1:-1] * uy_next[:, :, 1:-1], axis=(1, 2))
        )
        return (potential + kinetic) * self.h**2


def _parameters(params):
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise WellDataError(
            f"{NAME}: unknown parameters {sorted(unknown)}; known: {sorted(DEFAULT_PARAMS)}."
        )
    return {**DEFAULT_PARAMS, **params}


def _time_step(cfl, h, c_max, dt_output):
    """`(dt, substeps)`: the largest step within the CFL limit dividing `dt_output`."""
    dt_cfl = cfl * h / (c_max * math.sqrt(2.0))
    substeps = max(1, int(math.ceil(dt_output / dt_cfl)))
    return dt_output / substeps, substeps


def _integrate(solver, p0, n_steps, substeps, progress):
    """Saved `pressure (B, T, N, N)`, `velocity (B, T, N, N, 2)` and energy `(B, T)`."""
    B, N = p0.shape[0], p0.shape[1]
    solver.start(p0)
    pressure = np.zeros((B, n_steps, N, N), np.float32)
    velocity = np.zeros((B, n_steps, N, N, 2), np.float32)
    energy = np.zeros((B, n_steps))
    pressure[:, 0] = p0
    energy[:, 0] = solver.energy(p0, np.zeros_like(solver.ux), np.zeros_like(solver.uy))
    if progress:
        progress(1, n_steps)
    for n in range(1, n_steps):
        for _ in range(substeps):
            ux, uy = solver.step()
        pressure[:, n] = solver.p
        velocity[:, n] = solver.faces_to_centres(ux, uy)
        energy[:, n] = solver.energy(solver.p, ux, uy)
        if progress:
            progress(n + 1, n_steps)
    return pressure, velocity, energy


def run(
    resolution: int = 64,
    n_trajectories: int = DEFAULT_N_TRAJECTORIES,
    n_steps: int = DEFAULT_N_STEPS,
    seed: int = 0,
    progress: ProgressFn = None,
    return_energy: bool = False,
    **params,
) -> SimulationResult:
    """Simulates `n_trajectories` acoustic scattering trajectories.

    Args:
        resolution: grid points per side `N` (the grid is `N x N` cell centres
            on `[-1, 1]^2`).
        n_trajectories: number of trajectories (media and initial pulses).
        n_steps: number of saved snapshots per trajectory, the first being the
            initial condition.
        seed: random seed; trajectory `i` depends only on `(seed, i)`.
        progress: optional `progress(done, total)` callback.
        return_energy: also store the acoustic energy of every snapshot in
            `result.diagnostics["energy"]` (`(n_trajectories, n_steps)`).
        **params: overrides of `DEFAULT_PARAMS` (`dt_output`, `cfl`,
            `background_density`, `background_speed`, `min_inclusions`,
            `max_inclusions`, `density_range`, `speed_range`, `n_pulses_max`).

    Returns:
        A `SimulationResult` with fields `pressure`, `velocity`, `density`,
        `speed_of_sound`.
    """
    p = _parameters(params)
    N = int(resolution)
    h = 2.0 / N
    xc = -1.0 + (np.arange(N) + 0.5) * h
    rngs = trajectory_rngs(seed, n_trajectories)
    media = [make_medium(r, xc, p) for r in rngs]
    rho = np.stack([m[0] for m in media])
    c = np.stack([m[1] for m in media])
    p0 = np.stack([make_pulses(r, xc, p) for r in rngs])

    c_max = float(c.max())
    dt, substeps = _time_step(float(p["cfl"]), h, c_max, float(p["dt_output"]))
    solver = StaggeredAcousticSolver(rho, c, h, dt)
    pressure, velocity, energy = _integrate(solver, p0, n_steps, substeps, progress)
    result = SimulationResult(
        dataset_name=NAME,
        time=(np.arange(n_steps) * float(p["dt_output"])).astype(np.float32),
        space={"x": xc.astype(np.float32), "y": xc.astype(np.float32)},
        t0_fields={
            "pressure": WellField(pressure),
            "density": WellField(rho.astype(np.float32), time_varying=False),
            "speed_of_sound": WellField(c.astype(np.float32), time_varying=False),
        },
        t1_fields={"velocity": WellField(velocity)},
        t2_fields={},
        scalars={
            "background_density": WellScalar(np.float32(p["background_density"])),
            "background_speed": WellScalar(np.float32(p["background_speed"])),
        },
        boundary_conditions=wall_boundary_conditions(("x", "y"), (N, N)),
        simulation_parameters={
            "background_density": float(p["background_density"]),
            "background_speed": float(p["background_speed"]),
            "dt_output": float(p["dt_output"]),
            "solver_dt": dt,
            "cfl": float(c_max * dt * math.sqrt(2.0) / h),
        },
        diagnostics={"solver_dt": dt, "substeps": substeps, "c_max": c_max, "h": h},
    )
    if return_energy:
        result.diagnostics["energy"] = energy
    return result
