"""A jitted training loop that calls the ridge solve many times must finish
(LAPACK calls inside jitted JAX programs were seen to hang on 2-core CPUs)."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

HERE = os.path.dirname(__file__)


def run_stress(steps, solver, timeout):
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend())
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(HERE, ".."), env.get("PYTHONPATH", "")])
    try:
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "stress_train.py"), str(steps), solver],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{steps} training steps with solver={solver!r} did not finish in {timeout}s")
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("STEPS")][-1]
    _, n, _, first, last = line.split()
    return int(n), float(first), float(last)


@pytest.mark.slow
def test_many_jitted_training_steps_finish():
    # A hang never finishes; the limit is generous so that a slow or busy
    # machine is not mistaken for one.
    # The hang was seen in jitted JAX programs: the long run is JAX's; the
    # other backends run a shorter loop of the same model (eager PyTorch
    # takes about 1 s a step here).
    steps = 120 if keras.backend.backend() == "jax" else 32  # a multiple of 4 batches
    n, first, last = run_stress(steps, "gauss_jordan", timeout=900)
    assert n == steps
    assert np.isfinite(last) and last < first
