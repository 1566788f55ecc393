"""Wavelet encoder: fields to tokens (paper section 3.1, Appendix I.1).

`docs/design.md` §2.1.
"""

import keras

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.layers.dwt import DWT2D

TOKENIZER_KINDS = ("wavelet", "conv")


def check_tokenizer_args(owner, kind, wavelet_levels):
    """Validates the arguments shared by the encoder and the decoder."""
    if kind not in TOKENIZER_KINDS:
        raise ValueError(f"{owner}: `kind` must be one of {TOKENIZER_KINDS}, got {kind!r}.")
    if (
        isinstance(wavelet_levels, bool)
        or not isinstance(wavelet_levels, int)
        or wavelet_levels < 1
    ):
        raise ValueError(
            f"{owner}: `wavelet_levels` must be an integer >= 1, got {wavelet_levels!r}."
        )


def check_positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: `{name}` must be an integer >= 1, got {value!r}.")


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveletEncoder(keras.layers.Layer):
    """Lossless wavelet tokens: a DWT followed by a linear projection.

    `kind="wavelet"` (WaveLiT, paper section 3.1) applies `DWT2D` with
    `wavelet_levels` levels, which maps `(B, H, W, C)` to the
    `4^L C` coefficients of every `2^L x 2^L` patch without losing
    information, and projects them linearly to `dim`. `kind="conv"` is the
    ablation baseline of the paper's Table 13: a learned `2^L x 2^L`
    stride-`2^L` convolution on the same token grid. `WaveletDecoder` is
    the inverse path.

    Args:
        dim: int, token dimension.
        wavelet: str, a PyWavelets wavelet name. Defaults to `"bior2.2"`.
        wavelet_levels: int >= 1, DWT levels `L`. Defaults to 1.
        boundary: boundary mode of the DWT, `"reflect"` (default) or
            `"periodic"`.
        kind: `"wavelet"` (default) or `"conv"`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: fields `(B, H, W, C)`, `H` and `W` multiples of `2^L`.

    Returns:
        Tokens `(B, H / 2^L, W / 2^L, dim)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    encoder = kw.layers.WaveletEncoder(16, wavelet_levels=1)
    tokens = encoder(np.zeros((1, 16, 16, 3), "float32"))
    assert tuple(tokens.shape) == (1, 8, 8, 16)
    ```
    """

    def __init__(
        self,
        dim,
        wavelet="bior2.2",
        wavelet_levels=None,
        boundary=None,
        kind="wavelet",
        **kwargs,
    ):
        wavelet_levels = renamed_argument(
            "WaveletEncoder", kwargs, "levels", "wavelet_levels", wavelet_levels, 1
        )
        boundary = renamed_argument(
            "WaveletEncoder", kwargs, "mode", "boundary", boundary, "reflect"
        )
        super().__init__(**kwargs)
        check_positive_int("WaveletEncoder", "dim", dim)
        check_tokenizer_args("WaveletEncoder", kind, wavelet_levels)
        self.dim = dim
        self.wavelet = wavelet
        self.wavelet_levels = wavelet_levels
        self.boundary = boundary
        self.kind = kind
        policy = self.dtype_policy
        patch = 2**wavelet_levels
        if kind == "wavelet":
            self.dwt = DWT2D(wavelet, wavelet_levels, boundary, dtype=policy, name="dwt")
            self.projection = keras.layers.Dense(dim, dtype=policy, name="projection")
        else:
            self.dwt = None
            self.projection = keras.layers.Conv2D(
                dim, patch, strides=patch, dtype=policy, name="projection"
            )

    def _check_shape(self, shape):
        patch = 2**self.wavelet_levels
        if len(shape) != 4:
            raise ValueError(
                f"WaveletEncoder expects fields (B, H, W, C); got shape {tuple(shape)}."
            )
        for axis, name in ((1, "height"), (2, "width")):
            n = shape[axis]
            if n is not None and n % patch:
                raise ValueError(
                    f"WaveletEncoder(kind={self.kind!r}, wavelet_levels="
                    f"{self.wavelet_levels}): input {name} {n} is not a multiple of "
                    f"{patch}; got shape {tuple(shape)}."
                )

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_shape(input_shape)
        if self.kind == "wavelet":
            self.dwt.build(input_shape)
            self.projection.build(self.dwt.compute_output_shape(input_shape))
        else:
            self.projection.build(input_shape)

    def call(self, inputs):
        self._check_shape(tuple(inputs.shape))
        if self.kind == "wavelet":
            return self.projection(self.dwt(inputs))
        return self.projection(inputs)

    def compute_output_shape(self, input_shape):
        patch = 2**self.wavelet_levels
        b, h, w, _ = input_shape
        return (
            b,
            None if h is None else h // patch,
            None if w is None else w // patch,
            self.dim,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "dim": self.dim,
                "wavelet": self.wavelet,
                "wavelet_levels": self.wavelet_levels,
                "boundary": self.boundary,
                "kind": self.kind,
            }
        )
        return config
