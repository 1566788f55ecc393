"""Deprecated: `WaveletTokenizer`, now `WaveletEncoder` + `WaveletDecoder`.

Paper section 3.1, Appendix I.1 (Table 13); `docs/design.md` §2.1.
"""

import warnings

import keras

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.layers.wavelet_decoder import WaveletDecoder
from keras_wavelit.layers.wavelet_encoder import TOKENIZER_KINDS
from keras_wavelit.layers.wavelet_encoder import WaveletEncoder

__all__ = ["TOKENIZER_KINDS", "WaveletTokenizer"]


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveletTokenizer(keras.layers.Layer):
    """Deprecated pair of a `WaveletEncoder` and a `WaveletDecoder`.

    Kept for one release so that code and saved layers of version 0.1 keep
    working; new code uses `WaveletEncoder` and `WaveletDecoder` directly.
    `encode` (and `call`) runs the encoder; `decode` runs the decoder,
    which is created when the layer is built, with `output_channels`
    channels (`None`: as many as the encoder's input).

    Args:
        dim: int, token dimension.
        output_channels: int or None, channels produced by `decode`.
        wavelet: str, PyWavelets name. Defaults to `"bior2.2"`.
        wavelet_levels: int >= 1. Defaults to 1 (old name `levels`).
        boundary: `"reflect"` (default) or `"periodic"` (old name `mode`).
        kind: `"wavelet"` (default) or `"conv"`.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: fields `(B, H, W, C_in)`; `call` is `encode`.

    Returns:
        Tokens `(B, H / 2^L, W / 2^L, dim)`.

    Example:

    ```python
    import warnings

    import numpy as np
    import keras_wavelit as kw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tok = kw.layers.WaveletTokenizer(dim=16, output_channels=2)
    tokens = tok.encode(np.zeros((1, 16, 16, 8), "float32"))
    assert tuple(tok.decode(tokens).shape) == (1, 16, 16, 2)
    ```
    """

    def __init__(
        self,
        dim,
        output_channels=None,
        wavelet="bior2.2",
        wavelet_levels=None,
        boundary=None,
        kind="wavelet",
        **kwargs,
    ):
        wavelet_levels = renamed_argument(
            "WaveletTokenizer", kwargs, "levels", "wavelet_levels", wavelet_levels, 1
        )
        boundary = renamed_argument(
            "WaveletTokenizer", kwargs, "mode", "boundary", boundary, "reflect"
        )
        super().__init__(**kwargs)
        warnings.warn(
            "WaveletTokenizer is deprecated and will be removed in the next release; "
            "use WaveletEncoder and WaveletDecoder.",
            DeprecationWarning,
            stacklevel=2,
        )
        self.dim = dim
        self.output_channels = output_channels
        self.wavelet = wavelet
        self.wavelet_levels = wavelet_levels
        self.boundary = boundary
        self.kind = kind
        self.encoder = WaveletEncoder(
            dim,
            wavelet=wavelet,
            wavelet_levels=wavelet_levels,
            boundary=boundary,
            kind=kind,
            dtype=self.dtype_policy,
            name="encoder",
        )
        self.decoder = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self.encoder.build(input_shape)
        self.decoder = WaveletDecoder(
            self.output_channels or input_shape[-1],
            wavelet=self.wavelet,
            wavelet_levels=self.wavelet_levels,
            boundary=self.boundary,
            kind=self.kind,
            dtype=self.dtype_policy,
            name="decoder",
        )
        self.decoder.build(self.encoder.compute_output_shape(input_shape))

    def encode(self, inputs):
        """Fields `(B, H, W, C_in)` to tokens `(B, H/2^L, W/2^L, dim)`."""
        return self(inputs)

    def decode(self, tokens):
        """Tokens `(B, h, w, dim)` to fields `(B, 2^L h, 2^L w, C_out)`."""
        if self.decoder is None:
            raise ValueError(
                "WaveletTokenizer.decode needs a built tokenizer: call "
                "`encode` (or the layer) on fields first so that the number "
                "of channels is known."
            )
        return self.decoder(tokens)

    def call(self, inputs):
        return self.encoder(inputs)

    def compute_output_shape(self, input_shape):
        return self.encoder.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "dim": self.dim,
                "output_channels": self.output_channels,
                "wavelet": self.wavelet,
                "wavelet_levels": self.wavelet_levels,
                "boundary": self.boundary,
                "kind": self.kind,
            }
        )
        return config
