"""Gray-Scott reaction-diffusion: pattern formation from localized seeds.

Two species with concentrations `A` (feed) and `B` (autocatalyst) react and
diffuse on the periodic square `[0, L)^2`:

    dA/dt = D_A lap(A) - A B^2 + F (1 - A)
    dB/dt = D_B lap(B) + A B^2 - (F + k) B

with feed rate `F`, kill rate `k` and diffusivities `D_A = 2e-5`,
`D_B = 1e-5` (the values of The Well's `gray_scott_reaction_diffusion`). The
`(F, k)` pair selects the pattern; the presets are the six regimes of that
dataset (Pearson, 1993): `gliders`, `bubbles`, `maze`, `worms`, `spirals`,
`spots`. At this library's default 64x64 grid on `L = 1` the `gliders`,
`maze`, `spirals` and `spots` regimes form resolved patterns; `bubbles` and
`worms` decay to the uniform state from these seeds.

Each trajectory starts from the uniform state `A = 1`, `B = 0` perturbed by
8 to 16 random Gaussian seeds; the seeds grow and split into the regime's
pattern, so the spatial variance of `B` grows over the trajectory.

It is integrated by exponax's `GrayScott` stepper (pseudo-spectral,
second-order exponential time differencing Runge-Kutta, 1/2 dealiasing for the
cubic reaction term). Fields: `A`, `B` (t0).
"""

from typing import Dict
from typing import Sequence
from typing import Tuple

import numpy as np

from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.exponax_rollout import import_exponax
from keras_wavelit.data.exponax_rollout import rollout
from keras_wavelit.data.simulation_result import ProgressFn
from keras_wavelit.data.simulation_result import SimulationResult
from keras_wavelit.data.simulation_result import periodic_boundary_conditions
from keras_wavelit.data.simulation_result import trajectory_rngs
from keras_wavelit.data.well_schema import WellField
from keras_wavelit.data.well_schema import WellScalar

NAME = "gray_scott_2d"
DEFAULT_N_TRAJECTORIES = 32
DEFAULT_N_STEPS = 80

# (feed rate F, kill rate k) of The Well's gray_scott_reaction_diffusion regimes.
REGIMES: Dict[str, Tuple[float, float]] = {
    "gliders": (0.014, 0.054),
    "bubbles": (0.098, 0.057),
    "maze": (0.029, 0.057),
    "worms": (0.058, 0.065),
    "spirals": (0.018, 0.051),
    "spots": (0.03, 0.062),
}

DEFAULT_PARAMS = dict(
    regime="gliders",
    feed_rate=None,  # overrides the regime's F when set
    kill_rate=None,  # overrides the regime's k when set
    diffusivity_a=2e-5,
    diffusivity_b=1e-5,
    domain_length=1.0,
    solver_dt=1.0,
    dt_output=40.0,
    burn_in_time=0.0,
    min_seeds=8,
    max_seeds=16,
    seed_width=(0.02, 0.05),  # as a fraction of the domain length
)


def initial_condition(rng: np.random.Generator, n: int, params: Dict) -> np.ndarray:
    """`(2, N, N)` state: uniform `A = 1, B = 0` with random Gaussian seeds."""
    L = float(params["domain_length"])
    x = np.arange(n) * (L / n)
    X, Y = np.meshgrid(x, x, indexing="ij")
    a = np.ones((n, n))
    b = np.zeros((n, n))
    for _ in range(int(rng.integers(params["min_seeds"], params["max_seeds"] + 1))):
        cx, cy = rng.uniform(0.0, L, size=2)
        r = rng.uniform(*params["seed_width"]) * L
        dx = np.abs(X - cx)
        dy = np.abs(Y - cy)
        dx = np.minimum(dx, L - dx)  # periodic distance
        dy = np.minimum(dy, L - dy)
        bump = np.exp(-(dx**2 + dy**2) / (2 * r**2))
        a -= 0.5 * bump
        b += 0.25 * bump
    return np.stack([np.clip(a, 0.0, 1.0), np.clip(b, 0.0, 1.0)])


def resolve_rates(params: Dict) -> Tuple[float, float]:
    """`(F, k)` from the regime name, overridden by explicit rates."""
    regime = params["regime"]
    if regime not in REGIMES:
        raise WellDataError(f"{NAME}: unknown regime {regime!r}; choose one of {sorted(REGIMES)}.")
    f, k = REGIMES[regime]
    if params.get("feed_rate") is not None:
        f = float(params["feed_rate"])
    if params.get("kill_rate") is not None:
        k = float(params["kill_rate"])
    return f, k


def run(
    resolution: int = 64,
    n_trajectories: int = DEFAULT_N_TRAJECTORIES,
    n_steps: int = DEFAULT_N_STEPS,
    seed: int = 0,
    progress: ProgressFn = None,
    **params,
) -> SimulationResult:
    """Simulates `n_trajectories` Gray-Scott trajectories.

    Args:
        resolution: grid points per side `N`.
        n_trajectories: number of trajectories (random seed placements).
        n_steps: snapshots per trajectory, `dt_output` apart; the first is
            the initial condition unless `burn_in_time > 0`.
        seed: random seed; trajectory `i` depends only on `(seed, i)`.
        progress: optional `progress(done, total)` callback.
        **params: overrides of `DEFAULT_PARAMS` (`regime`, `feed_rate`,
            `kill_rate`, `diffusivity_a`, `diffusivity_b`, `domain_length`,
            `solver_dt`, `dt_output`, `burn_in_time`, `min_seeds`,
            `max_seeds`, `seed_width`).

    Returns:
        A `SimulationResult` with fields `A` and `B`.
    """
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise WellDataError(
            f"{NAME}: unknown parameters {sorted(unknown)}; known: {sorted(DEFAULT_PARAMS)}."
        )
    p = {**DEFAULT_PARAMS, **params}
    feed, kill = resolve_rates(p)
    exponax, _ = import_exponax()
    N = int(resolution)
    L = float(p["domain_length"])
    dt_out = float(p["dt_output"])
    substeps = max(1, int(round(dt_out / float(p["solver_dt"]))))
    dt = dt_out / substeps
    n_burn = int(round(float(p["burn_in_time"]) / dt_out))
    stepper = exponax.stepper.reaction.GrayScott(
        2,
        L,
        N,
        dt,
        diffusivity_1=float(p["diffusivity_a"]),
        diffusivity_2=float(p["diffusivity_b"]),
        feed_rate=feed,
        kill_rate=kill,
    )
    stepper = exponax.RepeatedStepper(stepper, substeps)
    rngs = trajectory_rngs(seed, n_trajectories)
    u0 = np.stack([initial_condition(r, N, p) for r in rngs])
    traj = rollout(stepper, u0, n_burn, n_steps, progress)  # (B, T, 2, N, N)
    if not np.all(np.isfinite(traj)):
        raise WellDataError(
            f"{NAME}: the solver diverged (non-finite concentrations); lower solver_dt."
        )
    x = (np.arange(N) * (L / N)).astype(np.float32)
    return SimulationResult(
        dataset_name=NAME,
        time=((n_burn + np.arange(n_steps)) * dt_out).astype(np.float32),
        space={"x": x, "y": x},
        t0_fields={
            "A": WellField(np.ascontiguousarray(traj[:, :, 0])),
            "B": WellField(np.ascontiguousarray(traj[:, :, 1])),
        },
        t1_fields={},
        t2_fields={},
        scalars={"F": WellScalar(np.float32(feed)), "k": WellScalar(np.float32(kill))},
        boundary_conditions=periodic_boundary_conditions(("x", "y"), (N, N)),
        simulation_parameters={
            "F": feed,
            "k": kill,
            "domain_length": L,
            "diffusivity_a": float(p["diffusivity_a"]),
            "diffusivity_b": float(p["diffusivity_b"]),
            "solver_dt": dt,
            "dt_output": dt_out,
        },
        diagnostics={"solver_dt": dt, "substeps": substeps, "regime": p["regime"]},
    )


def spatial_variance(fields: np.ndarray) -> np.ndarray:
    """Variance over the grid (last two axes) of `(..., N, N)` concentrations."""
    return np.asarray(fields, dtype=np.float64).var(axis=(-2, -1))


def regimes() -> Sequence[str]:
    """Names of the `(F, k)` presets."""
    return tuple(REGIMES)
