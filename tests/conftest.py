"""Shared test configuration: every test file runs under the Keras backend
selected by ``KERAS_BACKEND`` (``make test`` runs the suite once per backend)."""

import os
import sys

import keras
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _fresh_state():
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
