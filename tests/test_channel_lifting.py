"""ChannelLifting: per-channel wavelet lifting without bias (paper section 3.5)."""

import numpy as np
import pytest
import pywt
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import ChannelLifting


def test_layer_contract(tmp_path):
    check_layer(lambda: ChannelLifting(dim=8, num_channels=3, steps=2), (2, 2, 16, 16, 3), tmp_path)


def test_equals_sum_of_per_channel_projections_of_pywt_coefficients():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 8, 8, 3)).astype("float32")
    layer = ChannelLifting(dim=4, num_channels=3, steps=2, boundary="periodic")
    out = to_numpy(layer(x))
    kernel = to_numpy(layer.kernel)  # (C, 4*T, dim)
    expected = np.zeros((4, 4, 4))
    for c in range(3):
        coeffs = []
        for t in range(2):
            ca, (ch, cv, cd) = pywt.dwt2(x[0, t, :, :, c], "bior2.2", mode="periodization")
            coeffs += [ca, ch, cv, cd]
        expected += np.einsum("khw,kd->hwd", np.stack(coeffs), kernel[c])
    np.testing.assert_allclose(out[0], expected, atol=1e-4)


def test_absent_channel_contributes_exactly_zero():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 16, 16, 4)).astype("float32")
    x[..., 1] = 0.0  # channel 1 absent from this dataset
    x[..., 3] = 0.0  # and channel 3
    layer = ChannelLifting(dim=8, num_channels=4, steps=2)
    out_random = to_numpy(layer(x))
    kernel = to_numpy(layer.kernel).copy()
    zeroed = kernel.copy()
    zeroed[[1, 3]] = 0.0
    layer.kernel.assign(zeroed)
    out_zero = to_numpy(layer(x))
    np.testing.assert_array_equal(out_random, out_zero)  # bit-identical
    kernel[[1, 3]] = rng.standard_normal(kernel[[1, 3]].shape) * 100
    layer.kernel.assign(kernel)
    np.testing.assert_array_equal(to_numpy(layer(x)), out_zero)
    assert np.abs(out_zero).max() > 0


def test_boundary_per_call_shares_weights_and_errors():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 1, 8, 8, 2)).astype("float32")
    layer = ChannelLifting(dim=4, num_channels=2)
    a = to_numpy(layer(x))
    b = to_numpy(layer(x, boundary="periodic"))
    assert len(layer.trainable_weights) == 1
    assert not np.allclose(a, b)
    # interior tokens do not see the boundary
    np.testing.assert_allclose(a[:, 1:-1, 1:-1], b[:, 1:-1, 1:-1], atol=1e-5)
    with pytest.raises(ValueError, match="expects inputs"):
        layer(np.zeros((1, 2, 8, 8, 2), "float32"))
    with pytest.raises(ValueError, match="num_channels"):
        ChannelLifting(dim=4, num_channels=0)
    with pytest.raises(ValueError, match="boundary"):
        ChannelLifting(dim=4, num_channels=2, boundary="wrap")
    with pytest.raises(ValueError, match="not available"):
        ChannelLifting(dim=4, num_channels=2, wavelet="db2", boundary="periodic")(
            x, boundary="reflect"
        )
