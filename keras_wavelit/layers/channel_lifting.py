"""Per-channel wavelet lifting of the foundation model (paper section 3.5)."""

import keras
from keras import ops

from keras_wavelit.layers.dwt import DWT2D
from keras_wavelit.ops.wavelet_filters import WAVELET_BOUNDARIES
from keras_wavelit.ops.wavelet_filters import WaveletFilterBank


def wavelet_boundaries(wavelet, boundary):
    """The boundary modes a wavelet supports, `boundary` first.

    Raises the wavelet transform's own `ValueError` when `boundary` itself is
    not supported by `wavelet`.
    """
    WaveletFilterBank(wavelet, boundary)
    modes = [boundary]
    for m in WAVELET_BOUNDARIES:
        if m == boundary:
            continue
        try:
            WaveletFilterBank(wavelet, m)
        except ValueError:
            continue
        modes.append(m)
    return modes


def check_call_boundary(boundary, available, owner):
    if boundary not in available:
        raise ValueError(
            f"{owner}: `boundary={boundary!r}` is not available; this layer's wavelet supports "
            f"{list(available)}."
        )


@keras.saving.register_keras_serializable(package="keras_wavelit")
class ChannelLifting(keras.layers.Layer):
    """Lifts canonical channels to tokens, one matrix per channel, without bias.

    The input layer of WaveLiT-FM (paper section 3.5). Each canonical channel
    `c` of the input (all `steps` input steps of it) goes through a one-level
    wavelet transform (default `bior2.2`, `docs/design.md` §2.1), giving
    `4 * steps` coefficients per token, which its own matrix `W_c`
    (`4 * steps` x `dim`) projects; the projections are summed:

    `e = sum_c W_c DWT(u_c)`.

    There is no bias, so a channel that a dataset lacks (zero-padded) adds
    exactly zero: the output does not depend on that channel's weights at
    all, and a variable shared by several datasets uses the same `W_c` in
    each. The sum over channels is one matrix product with the stacked
    `W_c`.

    Args:
        dim: int, token dimension.
        num_channels: int, number of canonical channels `C`.
        steps: int, input steps per channel (`T_in`; 1 for constant fields).
        wavelet: str, PyWavelets wavelet name. Defaults to `"bior2.2"`.
        boundary: boundary mode of the wavelet transform, `"reflect"`
            (default) or `"periodic"`; a call may choose another supported
            mode (`boundary` call argument), with the same weights.
        kernel_initializer: initializer of the stacked `W_c`.
        **kwargs: base layer keyword arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: tensor `(B, steps, H, W, C)`, zero for absent channels;
            `H` and `W` even.
        boundary: optional boundary mode for this call.

    Returns:
        Tokens `(B, H/2, W/2, dim)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    lifting = kw.layers.ChannelLifting(dim=16, num_channels=5, steps=2)
    u = np.random.rand(2, 2, 16, 16, 5).astype("float32")
    u[..., 3:] = 0.0  # this dataset has channels 0, 1, 2 only
    tokens = lifting(u)  # (2, 8, 8, 16)
    ```
    """

    def __init__(
        self,
        dim,
        num_channels,
        steps=1,
        wavelet="bior2.2",
        boundary="reflect",
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (("dim", dim), ("num_channels", num_channels), ("steps", steps)):
            if int(value) != value or value < 1:
                raise ValueError(f"ChannelLifting: `{arg}` must be an integer >= 1, got {value!r}.")
        self.dim = int(dim)
        self.num_channels = int(num_channels)
        self.steps = int(steps)
        self.wavelet = wavelet
        self.boundary = boundary
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self._boundaries = wavelet_boundaries(wavelet, boundary)
        self.transforms = {
            m: DWT2D(wavelet, 1, m, dtype=self.dtype_policy, name=f"dwt_{m}")
            for m in self._boundaries
        }

    def _check_shape(self, shape):
        if len(shape) != 5 or (shape[1] is not None and shape[1] != self.steps):
            raise ValueError(
                f"ChannelLifting(steps={self.steps}, num_channels={self.num_channels}) expects "
                f"inputs (B, {self.steps}, H, W, {self.num_channels}); got shape {tuple(shape)}."
            )
        if shape[-1] is not None and shape[-1] != self.num_channels:
            raise ValueError(
                f"ChannelLifting(num_channels={self.num_channels}) got {shape[-1]} channels "
                f"(shape {tuple(shape)})."
            )

    def build(self, input_shape):
        self._check_shape(input_shape)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.num_channels, 4 * self.steps, self.dim),
            initializer=self.kernel_initializer,
        )

    def call(self, inputs, boundary=None):
        boundary = self.boundary if boundary is None else boundary
        check_call_boundary(boundary, self._boundaries, "ChannelLifting")
        self._check_shape(inputs.shape)
        t, h, w, c = inputs.shape[1:]
        # (B, T, H, W, C) -> (B, H, W, C*T), channel-major, so that the DWT's
        # output holds channel c's 4*T coefficients contiguously.
        x = ops.transpose(inputs, (0, 2, 3, 4, 1))
        x = ops.reshape(x, (-1, h, w, c * t))
        coeffs = self.transforms[boundary](x)  # (B, h, w, 4*C*T), (c*T + t)*4 + s
        kernel = ops.reshape(ops.cast(self.kernel, coeffs.dtype), (c * t * 4, self.dim))
        return ops.matmul(coeffs, kernel)

    def compute_output_shape(self, input_shape):
        self._check_shape(input_shape)
        b, _, h, w, _ = input_shape
        return (b, None if h is None else h // 2, None if w is None else w // 2, self.dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "dim": self.dim,
                "num_channels": self.num_channels,
                "steps": self.steps,
                "wavelet": self.wavelet,
                "boundary": self.boundary,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
