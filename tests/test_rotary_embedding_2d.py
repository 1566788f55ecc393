import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.layers import RotaryEmbedding2D


def test_rotation_preserves_norms_and_is_relative():
    rng = np.random.default_rng(0)
    h, w, d = 5, 7, 16
    q = rng.standard_normal((1, 1, 1, d)).astype("float32")
    k = rng.standard_normal((1, 1, 1, d)).astype("float32")
    qs = np.repeat(q, h * w, axis=1)
    ks = np.repeat(k, h * w, axis=1)
    layer = RotaryEmbedding2D()
    qr = to_numpy(layer(qs, grid=(h, w)))[0, :, 0]
    kr = to_numpy(layer(ks, grid=(h, w)))[0, :, 0]
    np.testing.assert_allclose(np.linalg.norm(qr, axis=-1), np.linalg.norm(q), rtol=1e-5)
    # <R(p) q, R(p') k> depends only on p - p'
    idx = lambda r, c: r * w + c  # noqa: E731
    a = qr[idx(1, 2)] @ kr[idx(0, 0)]
    b = qr[idx(3, 5)] @ kr[idx(2, 3)]
    np.testing.assert_allclose(a, b, rtol=1e-4)
    # position (0, 0) is the identity
    np.testing.assert_allclose(qr[0], q[0, 0, 0], rtol=1e-6)


def test_rows_and_columns_use_separate_halves():
    d = 8
    x = np.ones((1, 4, 1, d), "float32")
    out = to_numpy(RotaryEmbedding2D()(x, grid=(1, 4)))[0, :, 0]
    # a single row: the row half is untouched, the column half rotates
    np.testing.assert_allclose(out[:, : d // 2], 1.0, rtol=1e-6)
    assert np.abs(out[1:, d // 2 :] - 1.0).max() > 1e-3


def test_errors():
    with pytest.raises(ValueError, match="divisible by 4"):
        RotaryEmbedding2D()(np.ones((1, 4, 1, 6), "float32"), grid=(2, 2))
    with pytest.raises(ValueError, match="do not match grid"):
        RotaryEmbedding2D()(np.ones((1, 4, 1, 8), "float32"), grid=(3, 2))


def test_config():
    layer = RotaryEmbedding2D(max_wavelength=100.0)
    assert RotaryEmbedding2D.from_config(layer.get_config()).max_wavelength == 100.0
