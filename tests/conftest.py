"""Shared test configuration: every test file runs under the Keras backend
selected by ``KERAS_BACKEND`` (``make test`` runs the suite once per backend)."""

import atexit
import os
import shutil
import sys
import tempfile

# XLA compilation dominates the JAX run: tests that build the same tiny model
# compile the same programs, so the run (and the CLI subprocesses it starts,
# which inherit the variable) shares one compilation cache, removed at exit.
if os.environ.get("KERAS_BACKEND") == "jax" and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="keras-wavelit-tests-xla-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _CACHE
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _fresh_state():
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
