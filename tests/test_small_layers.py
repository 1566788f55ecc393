import numpy as np
import pytest

from keras_wavelit.layers import BoundaryDepthwiseConv2D
from keras_wavelit.layers import DropPath
from layer_contract import check_layer
from layer_contract import to_numpy


@pytest.mark.parametrize("mode", ["reflect", "periodic", "zeros"])
def test_boundary_depthwise_conv_contract(mode, tmp_path):
    check_layer(lambda: BoundaryDepthwiseConv2D(3, mode=mode), (2, 6, 6, 4), tmp_path)


def test_periodic_conv_commutes_with_roll():
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 2)).astype("float32")
    conv = BoundaryDepthwiseConv2D(3, mode="periodic")
    y = to_numpy(conv(x))
    ys = to_numpy(conv(np.roll(x, (2, 3), axis=(1, 2))))
    np.testing.assert_allclose(np.roll(y, (2, 3), axis=(1, 2)), ys, rtol=1e-5, atol=1e-5)


def test_drop_path_statistics():
    x = np.ones((4000, 3), "float32")
    y = to_numpy(DropPath(0.25, seed=1)(x, training=True))
    kept = (y[:, 0] > 0).mean()
    assert abs(kept - 0.75) < 0.03
    np.testing.assert_allclose(y[y > 0], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(DropPath(0.25)(x, training=False)), x)


def test_errors():
    with pytest.raises(ValueError, match="rate"):
        DropPath(1.0)
    with pytest.raises(ValueError, match="odd"):
        BoundaryDepthwiseConv2D(4)
    with pytest.raises(ValueError, match="boundary mode"):
        BoundaryDepthwiseConv2D(3, mode="wrap")
