import keras
import numpy as np
import pytest
import pywt
from layer_contract import to_numpy

from keras_wavelit.losses import WaveletLoss


def reference(y_true, y_pred, alpha, beta, wavelet="bior2.2"):
    d = (y_pred - y_true).astype("float64")
    mse = (d**2).mean(axis=(1, 2, 3, 4))
    b, t, h, w, c = d.shape
    bands = np.zeros((b, 4))
    for i in range(b):
        coeffs = []
        for s in range(t):
            for f in range(c):
                ca, (ch, cv, cd) = pywt.dwt2(d[i, s, :, :, f], wavelet, mode="reflect")
                coeffs.append([x[1:-1, 1:-1] for x in (ca, ch, cv, cd)])
        for k in range(4):
            bands[i, k] = np.mean([np.abs(cf[k]).mean() for cf in coeffs])
    return float(np.mean(alpha * mse + beta * bands.sum(-1)))


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (0.5, 2.0)])
def test_matches_pywavelets_reference(alpha, beta):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 2, 16, 16, 2)).astype("float32")
    p = rng.standard_normal((3, 2, 16, 16, 2)).astype("float32")
    loss = WaveletLoss(alpha, beta)
    np.testing.assert_allclose(float(to_numpy(loss(y, p))), reference(y, p, alpha, beta), rtol=1e-5)


def test_zero_for_identical_and_4d_input():
    y = np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype("float32")
    assert float(to_numpy(WaveletLoss()(y, y))) == 0.0


def test_serialization_and_compile():
    loss = WaveletLoss(0.5, 2.0, wavelet="haar", levels=2, mode="periodic")
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(revived, WaveletLoss)
    assert (revived.alpha, revived.beta, revived.wavelet, revived.levels, revived.mode) == (
        0.5,
        2.0,
        "haar",
        2,
        "periodic",
    )
    inputs = keras.Input((1, 8, 8, 2))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss=loss)
    x = np.random.default_rng(2).standard_normal((4, 1, 8, 8, 2)).astype("float32")
    hist = model.fit(x, x, epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()


def test_errors():
    with pytest.raises(ValueError, match="B, T, H, W, C"):
        WaveletLoss()(np.zeros((2, 8, 8), "float32"), np.zeros((2, 8, 8), "float32"))
