"""Wavelet decoder: tokens back to fields (paper section 3.1, Appendix I.1).

`docs/design.md` §2.1.
"""

import keras

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.layers.dwt import IDWT2D
from keras_wavelit.layers.wavelet_encoder import check_positive_int
from keras_wavelit.layers.wavelet_encoder import check_tokenizer_args


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveletDecoder(keras.layers.Layer):
    """Tokens to fields: a linear projection followed by the inverse DWT.

    The transpose path of `WaveletEncoder`: `kind="wavelet"` projects every
    token linearly to the `4^L * output_channels` coefficients of its
    `2^L x 2^L` patch and applies `IDWT2D` (exact inverse of the encoder's
    DWT); `kind="conv"` (paper Table 13 baseline) is a stride-`2^L`
    transposed convolution.

    Args:
        output_channels: int >= 1, channels of the decoded fields.
        wavelet: str, a PyWavelets wavelet name. Defaults to `"bior2.2"`.
        wavelet_levels: int >= 1, DWT levels `L`. Defaults to 1.
        boundary: boundary mode of the inverse DWT, `"reflect"` (default) or
            `"periodic"`.
        kind: `"wavelet"` (default) or `"conv"`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tokens `(B, h, w, dim)`.

    Returns:
        Fields `(B, 2^L h, 2^L w, output_channels)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    decoder = kw.layers.WaveletDecoder(3, wavelet_levels=1)
    fields = decoder(np.zeros((1, 8, 8, 16), "float32"))
    assert tuple(fields.shape) == (1, 16, 16, 3)
    ```
    """

    def __init__(
        self,
        output_channels,
        wavelet="bior2.2",
        wavelet_levels=None,
        boundary=None,
        kind="wavelet",
        **kwargs,
    ):
        wavelet_levels = renamed_argument(
            "WaveletDecoder", kwargs, "levels", "wavelet_levels", wavelet_levels, 1
        )
        boundary = renamed_argument(
            "WaveletDecoder", kwargs, "mode", "boundary", boundary, "reflect"
        )
        super().__init__(**kwargs)
        check_positive_int("WaveletDecoder", "output_channels", output_channels)
        check_tokenizer_args("WaveletDecoder", kind, wavelet_levels)
        self.output_channels = output_channels
        self.wavelet = wavelet
        self.wavelet_levels = wavelet_levels
        self.boundary = boundary
        self.kind = kind
        policy = self.dtype_policy
        patch = 2**wavelet_levels
        if kind == "wavelet":
            self.projection = keras.layers.Dense(
                output_channels * 4**wavelet_levels, dtype=policy, name="projection"
            )
            self.idwt = IDWT2D(wavelet, wavelet_levels, boundary, dtype=policy, name="idwt")
        else:
            self.projection = keras.layers.Conv2DTranspose(
                output_channels, patch, strides=patch, dtype=policy, name="projection"
            )
            self.idwt = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 4:
            raise ValueError(
                f"WaveletDecoder expects tokens (B, h, w, dim); got shape {input_shape}."
            )
        self.projection.build(input_shape)
        if self.kind == "wavelet":
            self.idwt.build(self.projection.compute_output_shape(input_shape))

    def call(self, inputs):
        x = self.projection(inputs)
        if self.kind == "wavelet":
            x = self.idwt(x)
        return x

    def compute_output_shape(self, input_shape):
        patch = 2**self.wavelet_levels
        b, h, w, _ = input_shape
        return (
            b,
            None if h is None else h * patch,
            None if w is None else w * patch,
            self.output_channels,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_channels": self.output_channels,
                "wavelet": self.wavelet,
                "wavelet_levels": self.wavelet_levels,
                "boundary": self.boundary,
                "kind": self.kind,
            }
        )
        return config
