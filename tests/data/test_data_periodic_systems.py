"""Physical sanity of the exponax-based periodic systems (Gray-Scott, Kolmogorov)."""

import numpy as np

from keras_wavelit.data import gray_scott
from keras_wavelit.data import kolmogorov
from keras_wavelit.data.exponax_rollout import rollout


def test_kolmogorov_velocity_is_divergence_free_and_matches_vorticity():
    result = kolmogorov.run(resolution=32, n_trajectories=2, n_steps=6, seed=0, burn_in_time=5.0)
    w = result.t0_fields["vorticity"].data
    u = result.t1_fields["velocity"].data
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(u))
    scale = np.abs(u).max()
    assert scale > 0.1
    L = result.simulation_parameters.get("domain_length", 2 * np.pi)
    assert np.abs(kolmogorov.spectral_divergence(u, L)).max() < 1e-4 * scale * 32
    np.testing.assert_allclose(kolmogorov.spectral_curl(u, L), w, atol=1e-4 * np.abs(w).max())
    # Stable explicit advection: CFL number below 1.
    assert 0 < result.diagnostics["cfl"] < 1.0


def test_kolmogorov_flow_is_chaotic():
    """Two states 1e-6 apart separate by orders of magnitude (positive Lyapunov exponent)."""
    stepper, _, _ = kolmogorov.make_stepper(32, dt_output=2.0)
    w0 = kolmogorov.random_vorticity(np.random.default_rng(0), 32, 4)[None]
    w1 = w0 + 1e-6 * np.random.default_rng(1).normal(size=w0.shape)
    traj = rollout(stepper, np.stack([w0, w1]), 0, 31)  # t = 0 .. 60
    assert np.all(np.isfinite(traj))
    sep = np.sqrt(np.mean((traj[0] - traj[1]) ** 2, axis=(1, 2, 3)))
    assert sep[-1] > 1e4 * sep[0]
    # ... while the flow itself stays bounded (forcing balanced by viscosity and drag).
    assert np.abs(traj).max() < 50


def test_gray_scott_forms_patterns_from_near_uniform_start():
    result = gray_scott.run(
        resolution=32,
        n_trajectories=3,
        n_steps=8,
        seed=0,
        dt_output=20.0,
        domain_length=0.5,
        regime="maze",
    )
    a = result.t0_fields["A"].data
    b = result.t0_fields["B"].data
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b))
    # Concentrations stay (up to spectral over/undershoot) within [0, 1].
    assert a.min() > -0.1 and a.max() < 1.1 and b.min() > -0.1 and b.max() < 1.1
    variance = gray_scott.spatial_variance(b)  # (trajectory, time)
    assert np.all(variance[:, -1] > 2.0 * variance[:, 0])
    # The start is close to the uniform state A = 1, B = 0 ...
    assert np.mean(b[:, 0]) < 0.05
    # ... and the pattern covers the domain afterwards.
    assert np.mean(b[:, -1] > 0.1) > 2 * np.mean(b[:, 0] > 0.1)


def test_gray_scott_regimes_and_determinism():
    assert set(gray_scott.regimes()) == {"gliders", "bubbles", "maze", "worms", "spirals", "spots"}
    kwargs = dict(resolution=16, n_trajectories=2, n_steps=3, dt_output=5.0, domain_length=0.25)
    a = gray_scott.run(seed=1, **kwargs)
    b = gray_scott.run(seed=1, **kwargs)
    c = gray_scott.run(seed=2, **kwargs)
    np.testing.assert_array_equal(a.t0_fields["B"].data, b.t0_fields["B"].data)
    assert not np.array_equal(a.t0_fields["B"].data, c.t0_fields["B"].data)
    assert a.simulation_parameters["F"] == 0.014 and a.simulation_parameters["k"] == 0.054
