import keras
import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.optimizers import WarmupExponentialDecay


def test_values():
    s = WarmupExponentialDecay(1e-3, warmup_steps=100, decay_rate=0.99, decay_steps=20)
    np.testing.assert_allclose(float(to_numpy(s(0))), 0.0)
    np.testing.assert_allclose(float(to_numpy(s(50))), 5e-4, rtol=1e-6)
    np.testing.assert_allclose(float(to_numpy(s(100))), 1e-3, rtol=1e-6)
    np.testing.assert_allclose(float(to_numpy(s(140))), 1e-3 * 0.99**2, rtol=1e-5)
    np.testing.assert_allclose(float(to_numpy(s(130))), 1e-3 * 0.99**1.5, rtol=1e-5)


def test_paper_defaults_and_serialization():
    s = WarmupExponentialDecay(2e-4)
    assert (s.warmup_steps, s.decay_rate, s.decay_steps) == (5000, 0.99, 2000)
    np.testing.assert_allclose(float(to_numpy(s(9000))), 2e-4 * 0.99**2, rtol=1e-5)
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(s))
    assert revived.get_config() == s.get_config()
    opt = keras.optimizers.AdamW(learning_rate=s)
    assert isinstance(opt, keras.optimizers.AdamW)


def test_no_warmup_and_errors():
    s = WarmupExponentialDecay(1.0, warmup_steps=0, decay_rate=0.5, decay_steps=10)
    np.testing.assert_allclose(float(to_numpy(s(10))), 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="decay_steps"):
        WarmupExponentialDecay(decay_steps=0)


def test_adaptive_warmup():
    s = WarmupExponentialDecay(1e-3, warmup_steps="auto")
    assert s.is_adaptive
    # unresolved: the paper's 5000 steps
    np.testing.assert_allclose(float(to_numpy(s(2500))), 5e-4, rtol=1e-6)
    assert s.resolve_warmup(400) == 40 and not s.is_adaptive
    np.testing.assert_allclose(float(to_numpy(s(20))), 5e-4, rtol=1e-6)
    assert s.resolve_warmup(10**6) == 40  # resolved once
    assert WarmupExponentialDecay(warmup_steps="auto").resolve_warmup(10**6) == 5000
    assert WarmupExponentialDecay(warmup_steps="auto").resolve_warmup(None) == 5000
    assert WarmupExponentialDecay(warmup_steps="auto", warmup_fraction=0.5).resolve_warmup(7) == 4
    revived = WarmupExponentialDecay.from_config(s.get_config())
    assert revived.get_config() == s.get_config()
    with pytest.raises(ValueError, match="'auto'"):
        WarmupExponentialDecay(warmup_steps="paper")
    with pytest.raises(ValueError, match="warmup_fraction"):
        WarmupExponentialDecay(warmup_fraction=0)
