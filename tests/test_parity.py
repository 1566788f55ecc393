"""Cross-backend parity: the committed fixture (written on one backend) must
be reproduced to 1e-5 by the backend under test."""

import os

import numpy as np
import pytest
from fixtures.make_parity_fixture import parity_layers
from layer_contract import to_numpy

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "parity.npz")


@pytest.mark.parametrize("key", ["block", "fpn"])
def test_same_outputs_as_fixture(key):
    data = np.load(FIXTURE)
    x = data["x"]
    layer = parity_layers()[key]
    layer(x)
    n = len(layer.get_weights())
    layer.set_weights([data[f"{key}_w{i}"] for i in range(n)])
    assert f"{key}_w{n}" not in data  # same number of weights
    np.testing.assert_allclose(to_numpy(layer(x)), data[f"{key}_y"], rtol=1e-5, atol=1e-5)
