"""Batched time integration with exponax steppers (JAX, pseudo-spectral ETDRK)."""

import numpy as np

from keras_wavelit.data.simulation_result import ProgressFn


def import_exponax():
    """Imports `exponax` and `jax`, with an actionable message when missing."""
    try:
        import exponax
        import jax
    except ImportError as err:
        raise ImportError(
            "Simulating the periodic datasets (gray_scott_2d, kolmogorov_2d) needs the "
            "'sim' extra: pip install 'keras-wavelit[sim]' (installs exponax and JAX). "
            f"Import failed with: {err}"
        ) from None
    return exponax, jax


def rollout(
    stepper,
    u0: np.ndarray,
    n_burn_in: int,
    n_steps: int,
    progress: ProgressFn = None,
) -> np.ndarray:
    """Advances a batch of states and records snapshots.

    Args:
        stepper: an exponax stepper whose single call advances one output
            interval (typically an `exponax.RepeatedStepper`).
        u0: initial states, `(B, C, N, N)`.
        n_burn_in: output intervals simulated and discarded before recording.
        n_steps: snapshots recorded; the first is the state after burn-in.
        progress: optional `progress(done, total)` callback, called once per
            output interval.

    Returns:
        float32 array `(B, n_steps, C, N, N)`.
    """
    _, jax = import_exponax()
    import jax.numpy as jnp

    step = jax.jit(jax.vmap(stepper))
    u = jnp.asarray(u0, dtype=jnp.float32)
    total = n_burn_in + n_steps
    done = 0
    for _ in range(n_burn_in):
        u = step(u)
        done += 1
        if progress:
            progress(done, total)
    out = np.empty((u0.shape[0], n_steps) + tuple(u0.shape[1:]), np.float32)
    out[:, 0] = np.asarray(u)
    done += 1
    if progress:
        progress(done, total)
    for n in range(1, n_steps):
        u = step(u)
        out[:, n] = np.asarray(u)
        done += 1
        if progress:
            progress(done, total)
    return out
