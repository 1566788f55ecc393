import keras
import numpy as np
import pytest
import pywt
from layer_contract import to_numpy

from keras_wavelit.losses import WaveletLoss


def packet(x, wavelet, levels):
    """The `4**levels` wavelet-packet subbands of a 2D array (periodization)."""
    bands = [x]
    for _ in range(levels):
        bands = [
            sub
            for band in bands
            for sub in (lambda c: (c[0], *c[1]))(pywt.dwt2(band, wavelet, mode="periodization"))
        ]
    return bands


def reference(
    y_true, y_pred, alpha, beta, wavelet="bior2.2", levels=1, boundary="reflect", weights=None
):
    d = (y_pred - y_true).astype("float64")
    mse = (d**2).mean(axis=(1, 2, 3, 4))
    b, t, h, w, c = d.shape
    nb = 4**levels
    bands = np.zeros((b, nb))
    for i in range(b):
        coeffs = []
        for s in range(t):
            for f in range(c):
                if boundary == "periodic":
                    coeffs.append(packet(d[i, s, :, :, f], wavelet, levels))
                    continue
                ca, (ch, cv, cd) = pywt.dwt2(d[i, s, :, :, f], wavelet, mode="reflect")
                coeffs.append([x[1:-1, 1:-1] for x in (ca, ch, cv, cd)])
        for k in range(nb):
            bands[i, k] = np.mean([np.abs(cf[k]).mean() for cf in coeffs])
    weights = np.ones(nb) if weights is None else np.asarray(weights, dtype="float64")
    return float(np.mean(alpha * mse + beta * (bands * weights).sum(-1)))


@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (0.5, 2.0)])
def test_matches_pywavelets_reference(alpha, beta):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 2, 16, 16, 2)).astype("float32")
    p = rng.standard_normal((3, 2, 16, 16, 2)).astype("float32")
    loss = WaveletLoss(alpha, beta)
    np.testing.assert_allclose(float(to_numpy(loss(y, p))), reference(y, p, alpha, beta), rtol=1e-5)


@pytest.mark.parametrize("levels", [1, 2])
def test_wavelet_levels_are_honoured(levels):
    rng = np.random.default_rng(3)
    y = rng.standard_normal((2, 1, 16, 16, 2)).astype("float32")
    p = rng.standard_normal((2, 1, 16, 16, 2)).astype("float32")
    loss = WaveletLoss(1.0, 1.0, wavelet="haar", wavelet_levels=levels, boundary="periodic")
    ref = reference(y, p, 1.0, 1.0, "haar", levels, "periodic")
    np.testing.assert_allclose(float(to_numpy(loss(y, p))), ref, rtol=1e-5)
    if levels == 2:  # 16 subbands, not the 4 of one level
        one = reference(y, p, 1.0, 1.0, "haar", 1, "periodic")
        assert abs(ref - one) > 1e-2


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_float32_under_mixed_precision(policy):
    keras.config.set_dtype_policy(policy)
    rng = np.random.default_rng(4)
    y = rng.standard_normal((2, 1, 8, 8, 2)).astype("float32")
    p = keras.ops.cast(rng.standard_normal((2, 1, 8, 8, 2)), policy.split("_")[1])
    value = WaveletLoss(wavelet_levels=2)(y, p)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert np.isfinite(float(to_numpy(value)))
    # Computed in float32 from the half-precision predictions.
    ref = float(to_numpy(WaveletLoss(wavelet_levels=2)(y, to_numpy(keras.ops.cast(p, "float32")))))
    np.testing.assert_allclose(float(to_numpy(value)), ref, rtol=1e-6)


def test_zero_for_identical_and_4d_input():
    y = np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype("float32")
    assert float(to_numpy(WaveletLoss()(y, y))) == 0.0


def test_serialization_and_compile():
    loss = WaveletLoss(0.5, 2.0, wavelet="haar", wavelet_levels=2, boundary="periodic")
    config = keras.saving.serialize_keras_object(loss)
    revived = keras.saving.deserialize_keras_object(config)
    assert isinstance(revived, WaveletLoss)
    fields = ("alpha", "beta", "wavelet", "wavelet_levels", "boundary")
    assert tuple(getattr(revived, f) for f in fields) == (0.5, 2.0, "haar", 2, "periodic")
    # Release 0.1.0 configs spelled them `levels` and `mode`.
    old = dict(config["config"])
    old["levels"], old["mode"] = old.pop("wavelet_levels"), old.pop("boundary")
    with pytest.warns(DeprecationWarning, match="wavelet_levels"):
        revived = WaveletLoss.from_config(old)
    assert tuple(getattr(revived, f) for f in fields) == (0.5, 2.0, "haar", 2, "periodic")
    inputs = keras.Input((1, 8, 8, 2))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss=loss)
    x = np.random.default_rng(2).standard_normal((4, 1, 8, 8, 2)).astype("float32")
    hist = model.fit(x, x, epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()


def test_errors():
    with pytest.raises(ValueError, match="B, T, H, W, C"):
        WaveletLoss()(np.zeros((2, 8, 8), "float32"), np.zeros((2, 8, 8), "float32"))


def test_detail_and_subband_weights_by_value():
    """Paper section 5: the detail subbands' L1 term weighted against the approximation's."""
    rng = np.random.default_rng(6)
    y = rng.standard_normal((2, 1, 16, 16, 2)).astype("float32")
    p = rng.standard_normal((2, 1, 16, 16, 2)).astype("float32")
    loss = WaveletLoss(1.0, 1.0, detail_weight=0.25)
    ref = reference(y, p, 1.0, 1.0, weights=[1.0, 0.25, 0.25, 0.25])
    np.testing.assert_allclose(float(to_numpy(loss(y, p))), ref, rtol=1e-5)
    assert abs(ref - reference(y, p, 1.0, 1.0)) > 0.1
    # Two levels: 16 subbands, only band 0 (LL of LL) is the approximation.
    loss = WaveletLoss(
        0.0, 2.0, wavelet="haar", wavelet_levels=2, boundary="periodic", detail_weight=3.0
    )
    ref = reference(y, p, 0.0, 2.0, "haar", 2, "periodic", weights=[1.0] + [3.0] * 15)
    np.testing.assert_allclose(float(to_numpy(loss(y, p))), ref, rtol=1e-5)
    weights = [0.5, 1.0, 2.0, 0.0]
    loss = WaveletLoss(1.0, 1.0, subband_weights=weights)
    ref = reference(y, p, 1.0, 1.0, weights=weights)
    np.testing.assert_allclose(float(to_numpy(loss(y, p))), ref, rtol=1e-5)
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert (revived.detail_weight, revived.subband_weights) == (1.0, weights)
    np.testing.assert_allclose(float(to_numpy(revived(y, p))), ref, rtol=1e-6)
    revived = WaveletLoss.from_config(WaveletLoss(detail_weight=0.5).get_config())
    assert (revived.detail_weight, revived.subband_weights) == (0.5, None)
    with pytest.raises(ValueError, match="`detail_weight` must be a number >= 0, got -1"):
        WaveletLoss(detail_weight=-1)
    with pytest.raises(ValueError, match="must hold 4 numbers >= 0.*got \\[1, 1\\]"):
        WaveletLoss(subband_weights=[1, 1])
    with pytest.raises(ValueError, match="not both"):
        WaveletLoss(detail_weight=0.5, subband_weights=[1, 1, 1, 1])
