"""2D discrete wavelet transform layers (paper section 3.1, `docs/design.md` §2.1)."""

import keras
import numpy as np
from keras import ops

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.ops.boundary import check_boundary
from keras_wavelit.ops.boundary import pad_axis
from keras_wavelit.ops.wavelet_filters import WAVELET_BOUNDARIES
from keras_wavelit.ops.wavelet_filters import WaveletFilterBank

SUBBANDS = ("LL", "LH", "HL", "HH")


def _check_levels(levels, owner="DWT2D"):
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"{owner}: `wavelet_levels` must be an integer >= 1, got {levels!r}.")
    return int(levels)


def _given(value, default):
    # `renamed_argument` takes None for "not given under the new name".
    return None if value == default else value


def _check_spatial(shape, multiple, what):
    if len(shape) != 4:
        raise ValueError(
            f"{what} expects channels-last input of rank 4 (B, H, W, C); got "
            f"shape {tuple(shape)}. 3D data is not supported (2D only)."
        )
    for axis, name in ((1, "height"), (2, "width")):
        n = shape[axis]
        if n is not None and n % multiple:
            raise ValueError(
                f"{what}: input {name} {n} (shape {tuple(shape)}) is not a "
                f"multiple of {multiple} = 2**wavelet_levels. Resize or pad the "
                f"fields to a multiple of {multiple}."
            )


@keras.saving.register_keras_serializable(package="keras_wavelit")
class DWT2D(keras.layers.Layer):
    """Multi-level 2D discrete wavelet transform (lossless tokenization).

    Implements the wavelet tokenization of paper section 3.1
    (`docs/design.md` §2.1). One level maps `(B, H, W, C)` to
    `(B, H/2, W/2, 4C)`; `wavelet_levels = L` applies the level to every band
    again (a full wavelet-packet tree), giving `(B, H/2^L, W/2^L, 4^L C)`.
    Output channels are grouped per input channel: channel `c` occupies
    `4c .. 4c + 3` in the subband order `LL, LH, HL, HH` (PyWavelets'
    `cA, cH, cV, cD`: `LH` is lowpass along the width and highpass along the
    height). With `wavelet_levels = 2` channel `(4c + s1) * 4 + s2` holds band
    `s2` of band `s1`.

    The transform is a stride-2 convolution, per channel, with fixed kernels
    built from `pywt.Wavelet(wavelet).filter_bank` (no trainable weights),
    after an exact boundary extension. With `boundary="periodic"` the
    coefficients equal `pywt.dwt2(x, wavelet, mode="periodization")`; with
    `boundary="reflect"` they equal `pywt.dwt2(x, wavelet, mode="reflect")`
    with the extra border coefficients of PyWavelets dropped. `IDWT2D`
    inverts it exactly.

    Args:
        wavelet: str, a PyWavelets wavelet name. Defaults to `"bior2.2"`.
        wavelet_levels: int >= 1, number of decomposition levels. Defaults
            to 1. (Deprecated name: `levels`.)
        boundary: `"reflect"` (whole-sample symmetric, default; `haar` and
            symmetric odd-length biorthogonal wavelets) or `"periodic"` (any
            wavelet). (Deprecated name: `mode`.)
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(B, H, W, C)` with `H` and `W` multiples of
            `2**wavelet_levels`.

    Returns:
        Tensor `(B, H / 2**L, W / 2**L, 4**L * C)` with `L = wavelet_levels`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    x = np.random.rand(2, 16, 16, 3).astype("float32")
    coeffs = kw.layers.DWT2D("bior2.2", wavelet_levels=1)(x)  # (2, 8, 8, 12)
    x_back = kw.layers.IDWT2D("bior2.2", wavelet_levels=1)(coeffs)  # equals x
    ```
    """

    def __init__(self, wavelet="bior2.2", wavelet_levels=1, boundary="reflect", **kwargs):
        wavelet_levels = renamed_argument(
            "DWT2D", kwargs, "levels", "wavelet_levels", _given(wavelet_levels, 1), 1
        )
        boundary = renamed_argument(
            "DWT2D", kwargs, "mode", "boundary", _given(boundary, "reflect"), "reflect"
        )
        wavelet_levels = _check_levels(wavelet_levels, "DWT2D")
        check_boundary(boundary, WAVELET_BOUNDARIES, "DWT2D")
        super().__init__(**kwargs)
        self.wavelet = wavelet
        self.wavelet_levels = wavelet_levels
        self.boundary = boundary
        self.filter_bank = WaveletFilterBank(wavelet, boundary)
        self._kernel_2d = self.filter_bank.analysis_kernel_2d()
        self.supports_masking = False

    def _one_level(self, x):
        pad = self.filter_bank.analysis_pad
        x = pad_axis(x, 1, pad, pad, self.boundary)
        x = pad_axis(x, 2, pad, pad, self.boundary)
        hp, wp, c = x.shape[1], x.shape[2], x.shape[3]
        # Channels move into the batch so that one small ordinary convolution
        # (fast on every backend, gradient included) filters every channel.
        x = ops.transpose(x, (0, 3, 1, 2))
        x = ops.reshape(x, (-1, hp, wp, 1))
        kernel = ops.convert_to_tensor(self._kernel_2d[:, :, None, :], dtype=x.dtype)
        y = ops.conv(x, kernel, strides=2, padding="valid")  # (B*C, h, w, 4)
        h, w = y.shape[1], y.shape[2]
        y = ops.reshape(y, (-1, c, h, w, 4))
        y = ops.transpose(y, (0, 2, 3, 1, 4))
        return ops.reshape(y, (-1, h, w, 4 * c))

    def call(self, inputs):
        _check_spatial(inputs.shape, 2**self.wavelet_levels, self.__class__.__name__)
        x = inputs
        for _ in range(self.wavelet_levels):
            x = self._one_level(x)
        return x

    def compute_output_shape(self, input_shape):
        _check_spatial(input_shape, 2**self.wavelet_levels, self.__class__.__name__)
        b, h, w, c = input_shape
        f = 2**self.wavelet_levels
        return (
            b,
            None if h is None else h // f,
            None if w is None else w // f,
            None if c is None else c * 4**self.wavelet_levels,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "wavelet": self.wavelet,
                "wavelet_levels": self.wavelet_levels,
                "boundary": self.boundary,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_wavelit")
class IDWT2D(keras.layers.Layer):
    """Exact inverse of `DWT2D` (paper section 3.1, `docs/design.md` §2.1).

    Maps `(B, h, w, 4**L * C)` coefficients in `DWT2D`'s channel order back
    to `(B, 2**L h, 2**L w, C)` with `L = wavelet_levels`. Each level extends
    every subband with the symmetry the forward transform gives it (for
    `boundary="reflect"`: lowpass bands whole-sample on the left and
    half-sample on the right, highpass bands the opposite; periodic wrap for
    `boundary="periodic"`), then applies the polyphase synthesis filters of
    `pywt.Wavelet(wavelet).filter_bank` as one stride-1 convolution whose
    four outputs are the four output phases.

    Args:
        wavelet: str, PyWavelets wavelet name. Defaults to `"bior2.2"`.
        wavelet_levels: int >= 1. Defaults to 1. (Deprecated name: `levels`.)
        boundary: `"reflect"` (default) or `"periodic"`; must match the
            forward transform. (Deprecated name: `mode`.)
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(B, h, w, 4**wavelet_levels * C)`.

    Returns:
        Tensor `(B, h * 2**wavelet_levels, w * 2**wavelet_levels, C)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    x = np.random.rand(1, 16, 16, 2).astype("float32")
    coeffs = kw.layers.DWT2D(wavelet_levels=2)(x)  # (1, 4, 4, 32)
    x_back = kw.layers.IDWT2D(wavelet_levels=2)(coeffs)  # (1, 16, 16, 2), equals x
    ```
    """

    def __init__(self, wavelet="bior2.2", wavelet_levels=1, boundary="reflect", **kwargs):
        wavelet_levels = renamed_argument(
            "IDWT2D", kwargs, "levels", "wavelet_levels", _given(wavelet_levels, 1), 1
        )
        boundary = renamed_argument(
            "IDWT2D", kwargs, "mode", "boundary", _given(boundary, "reflect"), "reflect"
        )
        wavelet_levels = _check_levels(wavelet_levels, "IDWT2D")
        check_boundary(boundary, WAVELET_BOUNDARIES, "IDWT2D")
        super().__init__(**kwargs)
        self.wavelet = wavelet
        self.wavelet_levels = wavelet_levels
        self.boundary = boundary
        self.filter_bank = WaveletFilterBank(wavelet, boundary)
        self._kernel_2d = self.filter_bank.synthesis_kernel_2d()

    def _check_input(self, shape):
        if len(shape) != 4:
            raise ValueError(
                f"IDWT2D expects rank-4 coefficients (B, h, w, 4**wavelet_levels * C); "
                f"got shape {tuple(shape)}."
            )
        c = shape[-1]
        if c is not None and c % (4**self.wavelet_levels):
            raise ValueError(
                f"IDWT2D(wavelet_levels={self.wavelet_levels}) needs a channel count that "
                f"is a multiple of {4**self.wavelet_levels}; got shape {tuple(shape)}."
            )

    def _one_level(self, x):
        bank = self.filter_bank
        h, w, c4 = x.shape[1], x.shape[2], x.shape[3]
        c = c4 // 4
        left, right = bank.synthesis_pad
        x = ops.reshape(x, (-1, h, w, c, 4))
        bands = []
        # subband s -> (band along H, band along W), see analysis_kernel_2d
        for s, (bh, bw) in enumerate(((0, 0), (1, 0), (0, 1), (1, 1))):
            sub = x[..., s]
            lm, rm = bank.coefficient_modes(bh)
            sub = pad_axis(sub, 1, left, right, lm, rm)
            lm, rm = bank.coefficient_modes(bw)
            sub = pad_axis(sub, 2, left, right, lm, rm)
            bands.append(sub)
        x = ops.stack(bands, axis=-1)  # (B, hp, wp, C, 4)
        hp, wp = h + left + right, w + left + right
        x = ops.transpose(x, (0, 3, 1, 2, 4))
        x = ops.reshape(x, (-1, hp, wp, 4))
        kernel = ops.convert_to_tensor(self._kernel_2d, dtype=x.dtype)
        y = ops.conv(x, kernel, strides=1, padding="valid")  # (B*C, h, w, 4)
        y = ops.reshape(y, (-1, c, h, w, 2, 2))
        y = ops.transpose(y, (0, 2, 4, 3, 5, 1))  # (B, h, 2, w, 2, C)
        return ops.reshape(y, (-1, 2 * h, 2 * w, c))

    def call(self, inputs):
        self._check_input(inputs.shape)
        x = inputs
        for _ in range(self.wavelet_levels):
            x = self._one_level(x)
        return x

    def compute_output_shape(self, input_shape):
        self._check_input(input_shape)
        b, h, w, c = input_shape
        f = 2**self.wavelet_levels
        return (
            b,
            None if h is None else h * f,
            None if w is None else w * f,
            None if c is None else c // 4**self.wavelet_levels,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "wavelet": self.wavelet,
                "wavelet_levels": self.wavelet_levels,
                "boundary": self.boundary,
            }
        )
        return config
