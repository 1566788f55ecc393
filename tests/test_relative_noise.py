import keras
import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.layers import RelativeGaussianNoise
from keras_wavelit.layers.relative_noise import add_relative_noise
from keras_wavelit.layers.relative_noise import one_step_change_rms


def window(n=4, t=3, hw=16, seed=0):
    """Fields whose one-step change has a known RMS: 0.1 in field 0, 2.0 in field 1."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 1, hw, hw, 2))
    steps = rng.choice([-1.0, 1.0], size=(n, t - 1, hw, hw, 2)) * np.array([0.1, 2.0])
    x = np.concatenate([base, base + np.cumsum(steps, axis=1)], axis=1)
    return x.astype("float32")


def test_one_step_change_rms_values_and_one_frame_fallback():
    x = window()
    np.testing.assert_allclose(
        to_numpy(one_step_change_rms(x))[:, 0, 0, 0], np.tile([0.1, 2.0], (4, 1)), rtol=1e-5
    )
    # A one-frame window has no change: the field's spatial standard deviation.
    one = x[:, :1]
    np.testing.assert_allclose(
        to_numpy(one_step_change_rms(one))[:, 0, 0, 0], one.std(axis=(1, 2, 3)), rtol=1e-4
    )
    with pytest.raises(ValueError, match=r"\(B, T, H, W, C\); got shape \(4, 16, 16, 2\)"):
        one_step_change_rms(x[:, 0])


def test_noise_std_is_the_ratio_times_the_one_step_change():
    x = window(n=8)
    noise = to_numpy(add_relative_noise(x, 0.3, seed=keras.random.SeedGenerator(1))) - x
    per_field = noise.std(axis=(0, 1, 2, 3))
    np.testing.assert_allclose(per_field, [0.03, 0.6], rtol=0.05)
    assert add_relative_noise(x, 0.0) is x  # no work when off


def test_layer_is_identity_at_inference_and_serializes():
    x = window()
    layer = RelativeGaussianNoise(0.5, seed=3)
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    a, b = to_numpy(layer(x, training=True)), to_numpy(layer(x, training=True))
    assert np.abs(a - b).max() > 0  # fresh noise on every call
    ratio = (a - x).std(axis=(0, 1, 2, 3)) / np.array([0.1, 2.0])
    np.testing.assert_allclose(ratio, [0.5, 0.5], rtol=0.08)
    revived = RelativeGaussianNoise.from_config(layer.get_config())
    assert (revived.stddev, revived.seed) == (0.5, 3)
    with pytest.raises(ValueError, match="`stddev` must be a number >= 0, got -0.1"):
        RelativeGaussianNoise(-0.1)
