import keras
import numpy as np
import pytest

from keras_wavelit.optimizers import AdamWWithEMAWarmup


def _train_and_average(optimizer, steps=30):
    """Weights after each step and the moving average left by the optimizer."""
    rng = np.random.default_rng(0)
    var = keras.Variable(rng.standard_normal((3, 2)).astype("float32"))
    seen = []
    for _ in range(steps):
        grad = rng.standard_normal((3, 2)).astype("float32")
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(grad), var)])
        seen.append(keras.ops.convert_to_numpy(var).astype("float64"))
    optimizer.finalize_variable_values([var])  # the weights become the average
    return seen, keras.ops.convert_to_numpy(var)


def _numpy_average(seen, momentum):
    avg = None
    for t, w in enumerate(seen):
        m = 0.0 if t == 0 else momentum(t)
        avg = w if avg is None else m * avg + (1 - m) * w
    return avg


def test_ema_momentum_warms_up():
    opt = AdamWWithEMAWarmup(learning_rate=0.1, use_ema=True, ema_momentum=0.99, ema_warmup=10)
    seen, average = _train_and_average(opt)
    expected = _numpy_average(seen, lambda t: min(0.99, (1 + t) / (10 + t)))
    np.testing.assert_allclose(average, expected, rtol=1e-5, atol=1e-5)
    # Keras's fixed momentum would keep far more of the first steps.
    fixed = _numpy_average(seen, lambda t: 0.99)
    assert np.abs(average - fixed).max() > 1e-2


def test_without_warmup_it_is_keras_ema():
    ours = AdamWWithEMAWarmup(learning_rate=0.1, use_ema=True, ema_momentum=0.9, ema_warmup=None)
    keras_opt = keras.optimizers.AdamW(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    _, a = _train_and_average(ours)
    _, b = _train_and_average(keras_opt)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_config_round_trip():
    opt = AdamWWithEMAWarmup(learning_rate=1e-3, weight_decay=1e-4, use_ema=True, ema_warmup=20)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(restored, AdamWWithEMAWarmup)
    assert restored.ema_warmup == 20
    assert restored.use_ema and restored.weight_decay == pytest.approx(1e-4)


def test_invalid_warmup():
    with pytest.raises(ValueError, match="ema_warmup"):
        AdamWWithEMAWarmup(ema_warmup=0.5)
