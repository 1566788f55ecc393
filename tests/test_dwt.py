import keras
import numpy as np
import pytest
import pywt
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import DWT2D
from keras_wavelit.layers import IDWT2D

SUPPORTED = [
    ("haar", "reflect"),
    ("bior2.2", "reflect"),
    ("bior4.4", "reflect"),
    ("haar", "periodic"),
    ("bior2.2", "periodic"),
    ("bior4.4", "periodic"),
    ("db2", "periodic"),
    ("sym4", "periodic"),
]


def pywt_level(x2d, wavelet, mode, out_hw):
    """PyWavelets' one-level coefficients, trimmed to the library's size."""
    pmode = "periodization" if mode == "periodic" else "reflect"
    ca, (ch, cv, cd) = pywt.dwt2(x2d, wavelet, mode=pmode)
    sh = (ca.shape[0] - out_hw[0]) // 2
    sw = (ca.shape[1] - out_hw[1]) // 2
    stack = np.stack([ca, ch, cv, cd], axis=-1)
    return stack[sh : sh + out_hw[0], sw : sw + out_hw[1]]


@pytest.mark.parametrize("wavelet,mode", SUPPORTED)
@pytest.mark.parametrize("levels", [1, 2])
def test_exact_reconstruction(wavelet, mode, levels, rng):
    x = rng.standard_normal((2, 32, 24, 3)).astype("float32")
    coeffs = DWT2D(wavelet, levels, mode)(x)
    assert tuple(coeffs.shape) == (2, 32 // 2**levels, 24 // 2**levels, 3 * 4**levels)
    back = to_numpy(IDWT2D(wavelet, levels, mode)(coeffs))
    scale = np.abs(x).max()
    np.testing.assert_allclose(back, x, atol=1e-5 * scale, rtol=0)
    # borders alone, where a naive inverse fails
    for sl in (np.s_[:, :2], np.s_[:, -2:], np.s_[:, :, :2], np.s_[:, :, -2:]):
        np.testing.assert_allclose(back[sl], x[sl], atol=1e-5 * scale, rtol=0)


@pytest.mark.parametrize("wavelet,mode", SUPPORTED)
def test_matches_pywavelets_one_level(wavelet, mode, rng):
    x = rng.standard_normal((2, 16, 20, 3)).astype("float32")
    coeffs = to_numpy(DWT2D(wavelet, 1, mode)(x)).reshape(2, 8, 10, 3, 4)
    for b in range(2):
        for c in range(3):
            ref = pywt_level(x[b, :, :, c].astype("float64"), wavelet, mode, (8, 10))
            np.testing.assert_allclose(coeffs[b, :, :, c], ref, atol=2e-6, rtol=0)


def test_pywavelets_slice_for_reflect():
    # docs/design.md §2.1: bior2.2 under reflect equals pywt with first/last dropped.
    x = np.random.default_rng(3).standard_normal((1, 16, 16, 1)).astype("float32")
    ca = pywt.dwt2(x[0, :, :, 0], "bior2.2", mode="reflect")[0]
    assert ca.shape == (10, 10)
    ours = to_numpy(DWT2D("bior2.2")(x))[0, :, :, 0]
    np.testing.assert_allclose(ours, ca[1:-1, 1:-1], atol=2e-6)


@pytest.mark.parametrize("wavelet,mode", [("bior2.2", "reflect"), ("db2", "periodic")])
def test_two_levels_are_a_wavelet_packet(wavelet, mode, rng):
    x = rng.standard_normal((1, 16, 16, 2)).astype("float32")
    c2 = to_numpy(DWT2D(wavelet, 2, mode)(x)).reshape(1, 4, 4, 2, 4, 4)
    for c in range(2):
        lvl1 = pywt_level(x[0, :, :, c].astype("float64"), wavelet, mode, (8, 8))
        for s1 in range(4):
            ref = pywt_level(lvl1[:, :, s1], wavelet, mode, (4, 4))
            np.testing.assert_allclose(c2[0, :, :, c, s1], ref, atol=3e-6)


def test_border_impulse_reconstructs():
    # an impulse in the corner exercises every boundary extension at once
    x = np.zeros((1, 16, 16, 1), "float32")
    x[0, 0, 0, 0] = 1.0
    x[0, -1, -1, 0] = -2.0
    for wavelet in ("bior2.2", "bior4.4"):
        back = to_numpy(IDWT2D(wavelet)(DWT2D(wavelet)(x)))
        np.testing.assert_allclose(back, x, atol=1e-5)


def test_constant_field_has_no_detail():
    x = np.full((1, 16, 16, 1), 3.0, "float32")
    c = to_numpy(DWT2D("bior2.2")(x))
    np.testing.assert_allclose(c[..., 1:], 0.0, atol=1e-5)
    np.testing.assert_allclose(c[..., 0], 6.0, atol=1e-5)  # 3 * sqrt(2)^2


def test_errors():
    with pytest.raises(ValueError, match="Supported pairs"):
        DWT2D("db2", boundary="reflect")
    with pytest.raises(ValueError, match="Supported pairs"):
        IDWT2D("sym4", boundary="reflect")
    with pytest.raises(ValueError, match="Unknown wavelet"):
        DWT2D("not-a-wavelet")
    with pytest.raises(ValueError, match="boundary mode"):
        DWT2D("haar", boundary="zero")
    with pytest.raises(ValueError, match="levels"):
        DWT2D(wavelet_levels=0)
    with pytest.raises(ValueError, match="multiple of 4"):
        DWT2D(wavelet_levels=2)(np.zeros((1, 18, 16, 1), "float32"))
    with pytest.raises(ValueError, match="multiple of 2"):
        DWT2D()(np.zeros((1, 16, 15, 1), "float32"))
    with pytest.raises(ValueError, match="2D only"):
        DWT2D()(np.zeros((1, 8, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="multiple of 16"):
        IDWT2D(wavelet_levels=2)(np.zeros((1, 4, 4, 8), "float32"))


def test_no_weights_and_layer_contract(tmp_path):
    layer, _ = check_layer(lambda: DWT2D("bior2.2", 2), (2, 16, 16, 3), tmp_path)
    assert layer.weights == []
    layer, _ = check_layer(lambda: IDWT2D("bior4.4", 1), (2, 8, 8, 8), tmp_path)
    assert layer.weights == []


def test_mixed_precision():
    keras.config.set_dtype_policy("mixed_bfloat16")
    x = np.random.default_rng(0).standard_normal((1, 16, 16, 2)).astype("float32")
    c = DWT2D()(x)
    assert keras.backend.standardize_dtype(c.dtype) == "bfloat16"
    back = to_numpy(IDWT2D()(c)).astype("float32")
    np.testing.assert_allclose(back, x, atol=0.1)


def test_inexact_filter_banks_are_rejected():
    # dmey is an FIR approximation of the Meyer wavelet: not a perfect
    # reconstruction pair, so no mode can make it lossless.
    for mode in ("reflect", "periodic"):
        with pytest.raises(ValueError, match="not exactly invertible|Supported pairs"):
            DWT2D("dmey", boundary=mode)


def test_old_argument_names_warn_and_old_configs_load():
    with pytest.warns(DeprecationWarning, match="use `wavelet_levels`"):
        layer = DWT2D("haar", levels=2)
    assert layer.wavelet_levels == 2
    with pytest.warns(DeprecationWarning, match="use `boundary`"):
        layer = IDWT2D("haar", mode="periodic")
    assert layer.boundary == "periodic"
    config = DWT2D("haar", 2, "periodic").get_config()
    assert (config["wavelet_levels"], config["boundary"]) == (2, "periodic")
    old = {k: v for k, v in config.items() if k not in ("wavelet_levels", "boundary")}
    with pytest.warns(DeprecationWarning):
        revived = DWT2D.from_config(dict(old, levels=2, mode="periodic"))
    assert (revived.wavelet_levels, revived.boundary) == (2, "periodic")
    with pytest.raises(TypeError, match="both"):
        DWT2D(wavelet_levels=2, levels=3)
