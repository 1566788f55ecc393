"""Depthwise convolution that pads according to the data's boundary."""

import keras
from keras import ops

from keras_wavelit import config as wavelit_config
from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.ops.boundary import BOUNDARY_MODES
from keras_wavelit.ops.boundary import check_boundary
from keras_wavelit.ops.boundary import pad_spatial
from keras_wavelit.ops.fusion_barrier import fusion_barrier

#: Deprecated: the convolution supports every mode of `BOUNDARY_MODES`.
CONV_MODES = BOUNDARY_MODES


def _shifted_sum(x, kernel, h, w):
    """`sum_ij x[:, i:i+h, j:j+w, :] * kernel[i, j]` (a "valid" depthwise
    correlation of the padded `x`)."""
    k = kernel.shape[0]
    out = None
    for i in range(k):
        for j in range(k):
            term = x[:, i : i + h, j : j + w, :] * kernel[i, j]
            out = term if out is None else out + term
    return out


def _valid_depthwise(x, kernel, bias, h, w):
    """Valid depthwise correlation of padded `x (B, h+k-1, w+k-1, C)` with
    `kernel (k, k, C)`, plus `bias (C,)`, with a hand-written gradient.

    Forward and input gradient are sums of `k*k` shifted, channel-scaled
    copies (fused elementwise work; XLA's CPU depthwise convolution and its
    gradient are much slower for these small kernels). The kernel and bias
    gradients are column sums of the flattened `(B*h*w, C)` products: left
    to autodiff they become reductions over `(B, h, w)` fused with the
    recomputed upstream gradient, which XLA's CPU backend runs as very slow
    loops. The upstream gradient is materialized once
    (`fusion_barrier`). On a 2-core CPU this cut the
    JAX forward + backward time of one `(4, 32, 32, 96)` convolution from
    about 30 ms to a few ms (`benchmarks/profile_step.py` shows the share
    in a training step). Used on the XLA backends (JAX, TensorFlow).
    """
    k = kernel.shape[0]

    @ops.custom_gradient
    def correlate(x, kernel, bias):
        out = _shifted_sum(x, kernel, h, w) + bias

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            upstream = fusion_barrier(upstream)
            channels = upstream.shape[-1]
            # d x: the full correlation of the zero-padded gradient with the
            # flipped kernel, again a shifted sum.
            g_pad = fusion_barrier(
                ops.pad(upstream, ((0, 0), (k - 1, k - 1), (k - 1, k - 1), (0, 0)))
            )
            d_x = fusion_barrier(
                _shifted_sum(g_pad, ops.flip(ops.flip(kernel, 0), 1), h + k - 1, w + k - 1)
            )
            flat_upstream = ops.reshape(upstream, (-1, channels))
            d_kernel = ops.stack(
                [
                    ops.sum(
                        ops.reshape(x[:, i : i + h, j : j + w, :], (-1, channels)) * flat_upstream,
                        axis=0,
                    )
                    for i in range(k)
                    for j in range(k)
                ],
                axis=0,
            )  # (k*k, C)
            d_bias = ops.sum(flat_upstream, axis=0)
            return d_x, ops.reshape(d_kernel, (k, k, -1)), d_bias

        return out, grad

    return correlate(x, kernel, bias)


@keras.saving.register_keras_serializable(package="keras_wavelit")
class BoundaryDepthwiseConv2D(keras.layers.Layer):
    """`k x k` depthwise convolution with boundary-aware padding.

    `y[..., c] = b[c] + sum_{i,j} K[i, j, c] x_pad[.., i:i+H, j:j+W, c]` (the
    kernel layout of `keras.layers.DepthwiseConv2D`, `(k, k, C, 1)`).

    Used for the CPE, LePE and MILA input convolutions of `RidgeMILABlock`
    (paper section 3.2, `docs/design.md` §2.3). Periodic data wraps around
    (`ops.pad` has no wrap mode on every backend, so the padding is built
    from slices); `"reflect"` and `"symmetric"` mirror; `"zeros"` is ordinary
    `"same"` padding. With the CPU fast paths on
    (`keras_wavelit.config.set_fast_paths`, `docs/design.md` §4) the XLA
    backends run the convolution as a sum of shifted copies with a
    hand-written gradient; otherwise it is `keras.ops.depthwise_conv`.

    Args:
        kernel_size: odd int. Defaults to 3.
        boundary: one of `"reflect"` (default), `"periodic"`, `"symmetric"`,
            `"zeros"`. (Deprecated name: `mode`.)
        use_bias: bool. Defaults to True.
        kernel_initializer: initializer of the depthwise kernel.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(B, H, W, C)`.

    Returns:
        Tensor `(B, H, W, C)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    conv = kw.layers.BoundaryDepthwiseConv2D(3, boundary="periodic")
    y = conv(np.zeros((1, 8, 8, 4), "float32"))  # (1, 8, 8, 4)
    ```
    """

    def __init__(
        self,
        kernel_size=3,
        boundary="reflect",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        boundary = renamed_argument(
            "BoundaryDepthwiseConv2D",
            kwargs,
            "mode",
            "boundary",
            None if boundary == "reflect" else boundary,
            "reflect",
        )
        super().__init__(**kwargs)
        check_boundary(boundary, BOUNDARY_MODES, "BoundaryDepthwiseConv2D")
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(
                f"BoundaryDepthwiseConv2D: `kernel_size` must be a positive odd int, "
                f"got {kernel_size!r}."
            )
        if kernel_size % 2 != 1:
            raise ValueError(
                f"BoundaryDepthwiseConv2D: `kernel_size` must be odd, got {kernel_size}."
            )
        self.kernel_size = kernel_size
        self.boundary = boundary
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        k = self.kernel_size
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel",
            shape=(k, k, channels, 1),
            initializer=self.kernel_initializer,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(channels,), initializer="zeros")
            if self.use_bias
            else None
        )

    def call(self, inputs):
        h, w = inputs.shape[1], inputs.shape[2]
        # The padded input is materialized: fused into the k*k shifted reads,
        # the padding's concatenation or gather is redone for every read.
        x = fusion_barrier(pad_spatial(inputs, self.kernel_size // 2, self.boundary))
        channels = inputs.shape[-1]
        if self.bias is not None:
            bias = ops.cast(self.bias, x.dtype)
        else:
            bias = ops.zeros((channels,), dtype=x.dtype)
        if not wavelit_config.fast_path_enabled("shifted_sum_conv"):
            kernel = ops.cast(self.depthwise_kernel, x.dtype)  # (k, k, C, 1)
            return ops.depthwise_conv(x, kernel, strides=1, padding="valid") + bias
        kernel = ops.cast(self.depthwise_kernel[..., 0], x.dtype)  # (k, k, C)
        if keras.backend.backend() in ("jax", "tensorflow"):
            return _valid_depthwise(x, kernel, bias, h, w)
        # PyTorch runs eagerly: autodiff of the shifted sum is as fast.
        return _shifted_sum(x, kernel, h, w) + bias

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "boundary": self.boundary,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
