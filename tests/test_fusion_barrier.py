import keras
import numpy as np
from layer_contract import to_numpy

from keras_wavelit.layers import BoundaryDepthwiseConv2D
from keras_wavelit.ops import fusion_barrier
from keras_wavelit.ops import gradient_fusion_barrier


def _gradient(fn, x, r):
    """Gradient of ``sum(fn(x) * r)`` with respect to ``x``, jitted on JAX."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return np.asarray(jax.jit(jax.grad(lambda t: (fn(t) * r).sum()))(x))
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(fn(xt) * r)
        return tape.gradient(loss, xt).numpy()
    import torch

    xt = torch.tensor(x, requires_grad=True)
    (fn(xt) * torch.as_tensor(r)).sum().backward()
    return xt.grad.numpy()


def test_fusion_barrier_is_the_identity(rng):
    a = rng.normal(size=(3, 5)).astype("float32")
    b = rng.normal(size=(4,)).astype("float32")
    np.testing.assert_array_equal(to_numpy(fusion_barrier(a)), a)
    out_a, out_b = fusion_barrier(a, b)
    np.testing.assert_array_equal(to_numpy(out_a), a)
    np.testing.assert_array_equal(to_numpy(out_b), b)
    # NaN and infinite first elements take the same (true) branch.
    c = a.copy()
    c[0, 0] = np.nan
    c[0, 1] = np.inf
    np.testing.assert_array_equal(to_numpy(fusion_barrier(c)), c)


def test_barriers_pass_gradients_through(rng):
    x = rng.normal(size=(2, 6)).astype("float32")
    r = rng.normal(size=(2, 6)).astype("float32")
    expected = 2.0 * x * r  # d/dx sum(x^2 r)
    for barrier in (fusion_barrier, gradient_fusion_barrier):
        g = _gradient(lambda t: keras.ops.square(barrier(t)), x, r)
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-6)


def test_depthwise_conv_bias_gradient_is_the_output_gradient_sum(rng):
    # The bias gradient of the hand-written XLA gradient (and of autodiff on
    # PyTorch): d/db sum(conv(x) * r) = sum of r over (batch, rows, columns).
    x = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    r = rng.normal(size=(2, 5, 6, 3)).astype("float32")
    layer = BoundaryDepthwiseConv2D(3, boundary="periodic")
    layer.build(x.shape)
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        kernel = layer.depthwise_kernel.value

        def loss(bias):
            out, _ = layer.stateless_call([kernel, bias], [], x)
            return (out * r).sum()

        g = jax.jit(jax.grad(loss))(layer.bias.value)
    elif backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x) * r)
        g = tape.gradient(loss, layer.bias.value)
    else:
        import torch

        (layer(x) * torch.as_tensor(r)).sum().backward()
        g = layer.bias.value.grad
    np.testing.assert_allclose(to_numpy(g), r.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-5)
