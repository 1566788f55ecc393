import numpy as np
import pytest
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import BoundaryDepthwiseConv2D
from keras_wavelit.layers import DropPath
from keras_wavelit.ops import boundary_indices


def _input_and_kernel_gradients(layer, x, r):
    """Gradients of sum(layer(x) * r) w.r.t. x and the depthwise kernel."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        bias = layer.bias.value

        def f(kernel, x):
            out, _ = layer.stateless_call([kernel, bias], [], x)
            return (out * r).sum()

        g_kernel, g_x = jax.grad(f, (0, 1))(layer.depthwise_kernel.value, x)
    elif backend == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(layer(xt) * r)
        g_kernel, g_x = tape.gradient(loss, [layer.depthwise_kernel.value, xt])
    else:
        import torch

        xt = torch.tensor(x, requires_grad=True)
        (layer(xt) * torch.as_tensor(r)).sum().backward()
        g_kernel, g_x = layer.depthwise_kernel.value.grad, xt.grad
    return to_numpy(g_x), to_numpy(g_kernel)[..., 0]


@pytest.mark.parametrize("kernel_size,mode", [(3, "reflect"), (5, "periodic"), (3, "zeros")])
def test_boundary_depthwise_conv_gradients(kernel_size, mode):
    # The layer has a hand-written gradient; check it against the adjoint
    # computed in NumPy (float64): kernel gradient = sum of input windows
    # times the output gradient; input gradient = scattered shifted copies
    # of the output gradient, folded back through the boundary padding.
    rng = np.random.default_rng(3)
    h, w, c, p = 7, 9, 3, kernel_size // 2
    x = rng.standard_normal((2, h, w, c)).astype("float32")
    r = rng.standard_normal((2, h, w, c)).astype("float32")
    layer = BoundaryDepthwiseConv2D(kernel_size, boundary=mode)
    layer.build(x.shape)
    g_x, g_kernel = _input_and_kernel_gradients(layer, x, r)

    kernel = to_numpy(layer.depthwise_kernel)[..., 0].astype("float64")
    if mode == "zeros":
        rows = cols = None
        xp = np.pad(x.astype("float64"), ((0, 0), (p, p), (p, p), (0, 0)))
    else:
        rows, cols = boundary_indices(h, p, p, mode), boundary_indices(w, p, p, mode)
        xp = x.astype("float64")[:, rows][:, :, cols]
    expected_kernel = np.zeros_like(kernel)
    g_xp = np.zeros_like(xp)
    for i in range(kernel_size):
        for j in range(kernel_size):
            expected_kernel[i, j] = (xp[:, i : i + h, j : j + w] * r).sum(axis=(0, 1, 2))
            g_xp[:, i : i + h, j : j + w] += r * kernel[i, j]
    if mode == "zeros":
        expected_x = g_xp[:, p : p + h, p : p + w]
    else:
        expected_x = np.zeros(x.shape)
        for a, src_row in enumerate(rows):
            for b, src_col in enumerate(cols):
                expected_x[:, src_row, src_col] += g_xp[:, a, b]
    np.testing.assert_allclose(g_kernel, expected_kernel, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g_x, expected_x, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("mode", ["reflect", "periodic", "zeros"])
def test_boundary_depthwise_conv_contract(mode, tmp_path):
    check_layer(lambda: BoundaryDepthwiseConv2D(3, boundary=mode), (2, 6, 6, 4), tmp_path)


def test_periodic_conv_commutes_with_roll():
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 2)).astype("float32")
    conv = BoundaryDepthwiseConv2D(3, boundary="periodic")
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
        BoundaryDepthwiseConv2D(3, boundary="wrap")
