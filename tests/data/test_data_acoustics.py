"""Physical sanity of the acoustic scattering solver."""

import math

import numpy as np
import pytest

from keras_wavelit.data import acoustics


def _solver(n=32, homogeneous=False, cfl=0.9, seed=0):
    rng = np.random.default_rng(seed)
    h = 2.0 / n
    xc = -1.0 + (np.arange(n) + 0.5) * h
    params = dict(acoustics.DEFAULT_PARAMS)
    if homogeneous:
        params.update(min_inclusions=0, max_inclusions=0)
    rho, c = acoustics.make_medium(rng, xc, params)
    dt = cfl * h / (c.max() * math.sqrt(2.0))
    return acoustics.StaggeredAcousticSolver(rho[None], c[None], h, dt), xc, rng, params


def test_scheme_energy_is_conserved_to_roundoff():
    """Reflecting walls, no damping: the staggered energy is exactly conserved."""
    solver, xc, rng, params = _solver(cfl=0.9)
    solver.start(acoustics.make_pulses(rng, xc, params)[None])
    e0 = solver.staggered_energy()
    energies = []
    for _ in range(600):  # many wall reflections: c_max t > 2 domain widths
        solver.step()
        energies.append(solver.staggered_energy())
    assert np.max(np.abs(np.array(energies) / e0 - 1.0)) < 1e-10
    # Rigid walls: the normal velocity on the boundary faces stays zero.
    assert not solver.ux[:, [0, -1], :].any() and not solver.uy[:, :, [0, -1]].any()


def test_output_energy_is_conserved_within_one_percent():
    """Energy of the saved fields (velocity averaged to integer times) drifts < 1%."""
    result = acoustics.run(resolution=32, n_trajectories=3, n_steps=40, seed=1, return_energy=True)
    energy = result.diagnostics["energy"]
    drift = np.abs(energy / energy[:, :1] - 1.0).max()
    assert drift < 1e-2, drift
    assert energy.min() > 0


def test_time_step_respects_cfl_and_fields_are_finite():
    result = acoustics.run(resolution=32, n_trajectories=2, n_steps=10, seed=0)
    d = result.diagnostics
    assert d["solver_dt"] <= d["h"] / (d["c_max"] * math.sqrt(2.0)) * (1 + 1e-9)
    assert result.simulation_parameters["cfl"] <= 0.5 + 1e-9
    for f in (*result.t0_fields.values(), *result.t1_fields.values()):
        assert np.all(np.isfinite(f.data))
    velocity = result.t1_fields["velocity"].data
    assert velocity.shape == (2, 10, 32, 32, 2)
    assert not velocity[:, 0].any()  # starts at rest
    assert np.abs(velocity[:, -1]).max() > 1e-3  # and moves
    assert result.t0_fields["density"].data.std() > 0  # heterogeneous medium


def test_unstable_time_step_is_rejected():
    solver, *_ = _solver()
    with pytest.raises(ValueError, match="CFL"):
        acoustics.StaggeredAcousticSolver(
            solver.rho, solver.c, solver.h, 2 * solver.h / solver.c.max()
        )


def test_pulse_travels_at_the_speed_of_sound():
    """In a homogeneous medium a central pulse becomes a ring of radius c t."""
    n = 64
    solver, xc, _, _ = _solver(n=n, homogeneous=True, cfl=0.5)
    X, Y = np.meshgrid(xc, xc, indexing="ij")
    solver.start(np.exp(-(X**2 + Y**2) / (2 * 0.05**2))[None])
    t_end = 0.5
    n_steps = int(round(t_end / solver.dt))
    for _ in range(n_steps):
        solver.step()
    radial = solver.p[0, n // 2 :, n // 2]  # along +x from the centre
    radius = xc[n // 2 :][np.argmax(radial)]
    assert abs(radius - 1.0 * n_steps * solver.dt) < 3 * solver.h


def test_generation_is_deterministic():
    a = acoustics.run(resolution=16, n_trajectories=2, n_steps=5, seed=3)
    b = acoustics.run(resolution=16, n_trajectories=2, n_steps=5, seed=3)
    c = acoustics.run(resolution=16, n_trajectories=2, n_steps=5, seed=4)
    np.testing.assert_array_equal(a.t0_fields["pressure"].data, b.t0_fields["pressure"].data)
    np.testing.assert_array_equal(a.t0_fields["density"].data, b.t0_fields["density"].data)
    assert not np.array_equal(a.t0_fields["pressure"].data, c.t0_fields["pressure"].data)
