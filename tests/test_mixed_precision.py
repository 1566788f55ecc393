"""A tiny WaveLiT trains under mixed precision on every backend.

`WaveletLoss` computes in float32 (a bfloat16 wavelet term added to a float32
MSE crashed TensorFlow), and the ridge solve stays float32.
"""

import keras
import numpy as np
import pytest

from keras_wavelit.losses import WaveletLoss
from keras_wavelit.models import WaveLiT


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_tiny_wavelit_trains_two_steps(policy):
    keras.config.set_dtype_policy(policy)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 1, 16, 16, 2)).astype("float32")
    y = (0.5 * x + 0.1).astype("float32")
    model = WaveLiT(dim=8, depth=1, num_heads=2)
    # The recipe's loss. TensorFlow without XLA: the dtype clash was in the
    # graph itself, and XLA compiling the step would cost most of this test's
    # time. JAX jitted: its eager mode compiles every op on its own, which
    # took twice the time of compiling the whole step.
    model.compile(jit_compile=keras.backend.backend() == "jax")
    assert isinstance(model.loss, WaveletLoss)
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 1 and np.isfinite(losses[0]), losses
    assert model.optimizer.iterations.numpy() == 2
    out = model.predict(x[:2], verbose=0)
    assert out.shape == (2, 1, 16, 16, 2) and np.all(np.isfinite(np.asarray(out, "float32")))
    value = model.loss(y[:2], out)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
