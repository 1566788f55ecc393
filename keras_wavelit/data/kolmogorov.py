"""Kolmogorov flow: forced, chaotic 2D incompressible Navier-Stokes.

The vorticity equation on the periodic square `[0, L)^2`, `L = 2 pi`,

    dw/dt + u . grad(w) = nu lap(w) - alpha w + f(y),      div(u) = 0,

is driven by the Kolmogorov body force `-gamma sin(k_f y)` along x (a
single-wavenumber shear forcing; its curl is the vorticity source
`f(y) = gamma k_f cos(k_f y)`), with viscosity `nu` and linear (Rayleigh)
drag `alpha`. At the default `nu = 0.02`, `k_f = 4`, `gamma = 1`,
`alpha = 0.1` (Reynolds number `sqrt(gamma) / nu = 50` in the normalisation of
Chandler & Kerswell, 2013) the forced shear flow is unstable and the flow is
chaotic: nearby states separate exponentially. Trajectories start from a
random smooth vorticity field and are recorded after a burn-in that lets the
flow reach its chaotic regime.

It is integrated by exponax's `KolmogorovFlowVorticity` stepper
(pseudo-spectral, 2/3 dealiasing, second-order exponential time differencing
Runge-Kutta). The velocity is recovered spectrally from the stream function,
so it is divergence-free to round-off; the stored vorticity is the curl of the
stored velocity, `w = dv/dx - du/dy`.

Fields: `vorticity` (t0) and `velocity` (t1, 2 components).
"""

import math

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

NAME = "kolmogorov_2d"
DEFAULT_N_TRAJECTORIES = 32
DEFAULT_N_STEPS = 80
DEFAULT_PARAMS = dict(
    viscosity=0.02,
    drag=0.1,
    forcing_wavenumber=4,
    forcing_amplitude=1.0,
    domain_length=2 * math.pi,
    solver_dt=0.025,
    dt_output=0.5,
    burn_in_time=30.0,
    initial_max_wavenumber=4,
)


def _wavenumbers(n: int, length: float):
    k = 2 * np.pi * np.fft.fftfreq(n, d=length / n)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    return kx, ky


def velocity_from_vorticity(w: np.ndarray, length: float = 2 * math.pi) -> np.ndarray:
    """Divergence-free velocity `(..., N, N, 2)` whose curl is `w` `(..., N, N)`.

    Solves `lap(psi) = -w` spectrally and returns `u = dpsi/dy`,
    `v = -dpsi/dx` (the zero mode of `w` carries no velocity).
    """
    w = np.asarray(w, dtype=np.float64)
    n = w.shape[-1]
    kx, ky = _wavenumbers(n, length)
    k2 = kx**2 + ky**2
    w_hat = np.fft.fft2(w, axes=(-2, -1))
    psi_hat = np.where(k2 > 0, w_hat / np.where(k2 > 0, k2, 1.0), 0.0)
    u = np.real(np.fft.ifft2(1j * ky * psi_hat, axes=(-2, -1)))
    v = np.real(np.fft.ifft2(-1j * kx * psi_hat, axes=(-2, -1)))
    return np.stack([u, v], axis=-1)


def spectral_divergence(velocity: np.ndarray, length: float = 2 * math.pi) -> np.ndarray:
    """Spectral divergence `du/dx + dv/dy` of a periodic `(..., N, N, 2)` field."""
    vel = np.asarray(velocity, dtype=np.float64)
    kx, ky = _wavenumbers(vel.shape[-2], length)
    u_hat = np.fft.fft2(vel[..., 0], axes=(-2, -1))
    v_hat = np.fft.fft2(vel[..., 1], axes=(-2, -1))
    return np.real(np.fft.ifft2(1j * kx * u_hat + 1j * ky * v_hat, axes=(-2, -1)))


def spectral_curl(velocity: np.ndarray, length: float = 2 * math.pi) -> np.ndarray:
    """Spectral vorticity `dv/dx - du/dy` of a periodic `(..., N, N, 2)` field."""
    vel = np.asarray(velocity, dtype=np.float64)
    kx, ky = _wavenumbers(vel.shape[-2], length)
    u_hat = np.fft.fft2(vel[..., 0], axes=(-2, -1))
    v_hat = np.fft.fft2(vel[..., 1], axes=(-2, -1))
    return np.real(np.fft.ifft2(1j * kx * v_hat - 1j * ky * u_hat, axes=(-2, -1)))


def random_vorticity(rng: np.random.Generator, n: int, max_wavenumber: int) -> np.ndarray:
    """Smooth random vorticity with unit standard deviation (modes `0 < |k| <= max_wavenumber`)."""
    k = np.fft.fftfreq(n, d=1.0 / n)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    kk = np.sqrt(kx**2 + ky**2)
    amp = ((kk > 0) & (kk <= max_wavenumber)).astype(np.float64)
    coeffs = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    w = np.real(np.fft.ifft2(amp * coeffs))
    return w / w.std()


def make_stepper(resolution: int, **params):
    """exponax stepper advancing the vorticity `(1, N, N)` by one output interval.

    Args:
        resolution: grid points per side.
        **params: overrides of `DEFAULT_PARAMS`.

    Returns:
        `(stepper, solver_dt, substeps)`; `stepper(w)` advances `w` by
        `solver_dt * substeps = dt_output`.
    """
    p = {**DEFAULT_PARAMS, **params}
    exponax, _ = import_exponax()
    dt_out = float(p["dt_output"])
    substeps = max(1, int(round(dt_out / float(p["solver_dt"]))))
    dt = dt_out / substeps
    stepper = exponax.stepper.KolmogorovFlowVorticity(
        2,
        float(p["domain_length"]),
        int(resolution),
        dt,
        diffusivity=float(p["viscosity"]),
        drag=-float(p["drag"]),
        injection_mode=int(p["forcing_wavenumber"]),
        injection_scale=float(p["forcing_amplitude"]),
    )
    return exponax.RepeatedStepper(stepper, substeps), dt, substeps


def run(
    resolution: int = 64,
    n_trajectories: int = DEFAULT_N_TRAJECTORIES,
    n_steps: int = DEFAULT_N_STEPS,
    seed: int = 0,
    progress: ProgressFn = None,
    **params,
) -> SimulationResult:
    """Simulates `n_trajectories` Kolmogorov-flow trajectories.

    Args:
        resolution: grid points per side `N`.
        n_trajectories: number of trajectories (random initial vorticity).
        n_steps: snapshots per trajectory, `dt_output` apart, after burn-in.
        seed: random seed; trajectory `i` depends only on `(seed, i)`.
        progress: optional `progress(done, total)` callback.
        **params: overrides of `DEFAULT_PARAMS` (`viscosity`, `drag`,
            `forcing_wavenumber`, `forcing_amplitude`, `domain_length`,
            `solver_dt`, `dt_output`, `burn_in_time`, `initial_max_wavenumber`).

    Returns:
        A `SimulationResult` with fields `vorticity` and `velocity`.
    """
    unknown = set(params) - set(DEFAULT_PARAMS)
    if unknown:
        raise WellDataError(
            f"{NAME}: unknown parameters {sorted(unknown)}; known: {sorted(DEFAULT_PARAMS)}."
        )
    p = {**DEFAULT_PARAMS, **params}
    N = int(resolution)
    L = float(p["domain_length"])
    stepper, dt, substeps = make_stepper(N, **p)
    dt_out = dt * substeps
    n_burn = int(round(float(p["burn_in_time"]) / dt_out))
    rngs = trajectory_rngs(seed, n_trajectories)
    w0 = np.stack([random_vorticity(r, N, int(p["initial_max_wavenumber"]))[None] for r in rngs])
    traj = rollout(stepper, w0, n_burn, n_steps, progress)[:, :, 0]  # (B, T, N, N)
    if not np.all(np.isfinite(traj)):
        raise WellDataError(
            f"{NAME}: the solver diverged (non-finite vorticity); "
            "lower solver_dt or raise viscosity."
        )
    # exponax advects with u = d(lap^-1 w)/dy, v = -d(lap^-1 w)/dx, i.e. its
    # state is minus the curl of that velocity; store the curl convention.
    vorticity = -traj
    velocity = np.stack([velocity_from_vorticity(w, L).astype(np.float32) for w in vorticity])
    dx = L / N
    cfl = float(np.abs(velocity).max() * dt / dx)
    x = (np.arange(N) * dx).astype(np.float32)
    t0 = n_burn * dt_out
    return SimulationResult(
        dataset_name=NAME,
        time=(t0 + np.arange(n_steps) * dt_out).astype(np.float32),
        space={"x": x, "y": x},
        t0_fields={"vorticity": WellField(vorticity.astype(np.float32))},
        t1_fields={"velocity": WellField(velocity.astype(np.float32))},
        t2_fields={},
        scalars={
            "viscosity": WellScalar(np.float32(p["viscosity"])),
            "drag": WellScalar(np.float32(p["drag"])),
            "forcing_wavenumber": WellScalar(np.float32(p["forcing_wavenumber"])),
            "forcing_amplitude": WellScalar(np.float32(p["forcing_amplitude"])),
        },
        boundary_conditions=periodic_boundary_conditions(("x", "y"), (N, N)),
        simulation_parameters={
            "domain_length": L,
            "viscosity": float(p["viscosity"]),
            "drag": float(p["drag"]),
            "forcing_wavenumber": int(p["forcing_wavenumber"]),
            "forcing_amplitude": float(p["forcing_amplitude"]),
            "solver_dt": dt,
            "dt_output": dt_out,
        },
        diagnostics={"cfl": cfl, "solver_dt": dt, "substeps": substeps, "burn_in_steps": n_burn},
    )
