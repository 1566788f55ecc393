"""Wavelet tokenizer: lossless DWT tokens and their inverse path.

Paper section 3.1, Appendix I.1 (Table 13); DESIGN 2.1.
"""

import keras

from keras_wavelit.layers.dwt import DWT2D
from keras_wavelit.layers.dwt import IDWT2D

TOKENIZER_KINDS = ("wavelet", "conv")


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveletTokenizer(keras.layers.Layer):
    """Turns fields into tokens (encode) and tokens back into fields (decode).

    ``kind="wavelet"`` (WaveLiT): encode is ``DWT2D`` with ``levels`` levels
    followed by a linear projection of the ``4^L C_in`` coefficients to
    ``dim``; decode is the transpose path, a linear projection to
    ``4^L C_out`` coefficients followed by ``IDWT2D``. The transform itself
    has no weights and is lossless. ``kind="conv"`` is the ablation baseline
    of the paper's Table 13: a learned ``2^L x 2^L`` stride-``2^L``
    convolution encoder and a transposed-convolution decoder on the same
    token grid.

    Args:
        dim: int, token dimension.
        output_channels: int or None, channels produced by ``decode``
            (``None``: the number of input channels seen by ``encode``).
        wavelet: str, PyWavelets name. Defaults to ``"bior2.2"``.
        levels: int >= 1. Defaults to 1.
        mode: ``"reflect"`` (default) or ``"periodic"``.
        kind: ``"wavelet"`` (default) or ``"conv"``.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: fields ``(B, H, W, C_in)``; ``call`` is ``encode``.

    Returns:
        Tokens ``(B, H / 2^L, W / 2^L, dim)``.

    Example:

    >>> tok = WaveletTokenizer(dim=32, output_channels=2)
    >>> t = tok.encode(np.random.rand(1, 32, 32, 8).astype("float32"))
    >>> tuple(tok.decode(t).shape)
    (1, 32, 32, 2)
    """

    def __init__(
        self,
        dim,
        output_channels=None,
        wavelet="bior2.2",
        levels=1,
        mode="reflect",
        kind="wavelet",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if kind not in TOKENIZER_KINDS:
            raise ValueError(f"`kind` must be one of {TOKENIZER_KINDS}, got {kind!r}.")
        self.dim = dim
        self.output_channels = output_channels
        self.wavelet = wavelet
        self.levels = levels
        self.mode = mode
        self.kind = kind
        policy = self.dtype_policy
        patch = 2**levels
        if kind == "wavelet":
            self.dwt = DWT2D(wavelet, levels, mode, dtype=policy, name="dwt")
            self.idwt = IDWT2D(wavelet, levels, mode, dtype=policy, name="idwt")
            self.encoder = keras.layers.Dense(dim, dtype=policy, name="encoder")
        else:
            self.dwt = self.idwt = None
            self.encoder = keras.layers.Conv2D(
                dim, patch, strides=patch, dtype=policy, name="encoder"
            )

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        c_in = input_shape[-1]
        c_out = self.output_channels or c_in
        self._output_channels = c_out
        patch = 2**self.levels
        b, h, w = input_shape[0], input_shape[1], input_shape[2]
        th = None if h is None else h // patch
        tw = None if w is None else w // patch
        if self.kind == "wavelet":
            self.encoder.build((b, th, tw, c_in * 4**self.levels))
            self.decoder = keras.layers.Dense(
                c_out * 4**self.levels, dtype=self.dtype_policy, name="decoder"
            )
            self.decoder.build((b, th, tw, self.dim))
        else:
            self.encoder.build(input_shape)
            self.decoder = keras.layers.Conv2DTranspose(
                c_out, patch, strides=patch, dtype=self.dtype_policy, name="decoder"
            )
            self.decoder.build((b, th, tw, self.dim))

    def encode(self, inputs):
        """Fields ``(B, H, W, C_in)`` to tokens ``(B, H/2^L, W/2^L, dim)``."""
        return self(inputs)

    def _encode(self, inputs):
        if self.kind == "wavelet":
            return self.encoder(self.dwt(inputs))
        patch = 2**self.levels
        for axis, name in ((1, "height"), (2, "width")):
            n = inputs.shape[axis]
            if n is not None and n % patch:
                raise ValueError(
                    f"WaveletTokenizer(kind='conv'): input {name} {n} is not a "
                    f"multiple of {patch}; got shape {tuple(inputs.shape)}."
                )
        return self.encoder(inputs)

    def decode(self, tokens):
        """Tokens ``(B, h, w, dim)`` to fields ``(B, 2^L h, 2^L w, C_out)``."""
        if not self.built:
            raise ValueError(
                "WaveletTokenizer.decode needs a built tokenizer: call "
                "`encode` (or the layer) on fields first so that the number "
                "of channels is known."
            )
        if self.kind == "wavelet":
            return self.idwt(self.decoder(tokens))
        return self.decoder(tokens)

    def call(self, inputs):
        return self._encode(inputs)

    def compute_output_shape(self, input_shape):
        patch = 2**self.levels
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
                "output_channels": self.output_channels,
                "wavelet": self.wavelet,
                "levels": self.levels,
                "mode": self.mode,
                "kind": self.kind,
            }
        )
        return config
