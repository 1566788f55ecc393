"""Depthwise convolution that pads according to the data's boundary."""

import keras

from keras_wavelit.ops.boundary import pad_spatial

CONV_MODES = ("reflect", "periodic", "zeros")


@keras.saving.register_keras_serializable(package="keras_wavelit")
class BoundaryDepthwiseConv2D(keras.layers.Layer):
    """``k x k`` depthwise convolution with boundary-aware padding.

    Used for the CPE, LePE and MILA input convolutions of
    :class:`RidgeMILABlock` (paper section 3.2, DESIGN 2.3). Periodic data
    wraps around (implemented by gathering, since ``ops.pad`` has no wrap
    mode on every backend); ``"reflect"`` mirrors; ``"zeros"`` is ordinary
    ``"same"`` padding.

    Args:
        kernel_size: odd int. Defaults to 3.
        mode: ``"reflect"`` (default), ``"periodic"`` or ``"zeros"``.
        use_bias: bool. Defaults to True.
        kernel_initializer: initializer of the depthwise kernel.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor ``(B, H, W, C)``.

    Returns:
        Tensor ``(B, H, W, C)``.

    Example:

    >>> conv = BoundaryDepthwiseConv2D(3, mode="periodic")
    >>> tuple(conv(np.zeros((1, 8, 8, 4), "float32")).shape)
    (1, 8, 8, 4)
    """

    def __init__(
        self,
        kernel_size=3,
        mode="reflect",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode not in CONV_MODES:
            raise ValueError(
                f"Unknown boundary mode {mode!r}; expected one of {CONV_MODES}."
            )
        if kernel_size % 2 != 1:
            raise ValueError(f"`kernel_size` must be odd, got {kernel_size}.")
        self.kernel_size = kernel_size
        self.mode = mode
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.conv = keras.layers.DepthwiseConv2D(
            kernel_size,
            padding="valid",
            use_bias=use_bias,
            depthwise_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="depthwise",
        )

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        b, h, w, c = input_shape
        p = self.kernel_size - 1
        self.conv.build((b, None if h is None else h + p, None if w is None else w + p, c))

    def call(self, inputs):
        x = pad_spatial(inputs, self.kernel_size // 2, self.mode)
        return self.conv(x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_size": self.kernel_size,
                "mode": self.mode,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
