"""Pixel MSE plus a wavelet-domain L1 loss (paper section 3.4, Appendix D)."""

import keras
from keras import ops

from keras_wavelit.layers.dwt import DWT2D


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveletLoss(keras.losses.Loss):
    """``alpha * MSE + beta * sum_subbands mean |DWT(y_pred) - DWT(y_true)|``.

    The DWT is the library's :class:`~keras_wavelit.layers.DWT2D`. For each
    sample, the MSE is the mean over steps, space and fields; the wavelet
    term is, for each of the ``4^levels`` subbands, the mean absolute
    coefficient difference over steps, space and fields, summed over the
    subbands. ``alpha=1, beta=1`` is the paper's choice (Appendix D).

    Args:
        alpha: float, weight of the pixel-space MSE. Defaults to 1.0.
        beta: float, weight of the wavelet L1 term. Defaults to 1.0.
        wavelet: str. Defaults to ``"bior2.2"``.
        levels: int >= 1. Defaults to 1.
        mode: ``"reflect"`` (default) or ``"periodic"``.
        reduction, name, dtype: as for ``keras.losses.Loss``.

    Call arguments:
        y_true, y_pred: ``(B, T, H, W, C)`` or ``(B, H, W, C)``.

    Returns:
        The reduced loss (a scalar with the default reduction).

    Example:

    >>> loss = WaveletLoss(alpha=1.0, beta=1.0)
    >>> y = np.random.rand(2, 1, 16, 16, 3).astype("float32")
    >>> float(loss(y, y))
    0.0
    """

    def __init__(
        self,
        alpha=1.0,
        beta=1.0,
        wavelet="bior2.2",
        levels=1,
        mode="reflect",
        reduction="sum_over_batch_size",
        name="wavelet_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = alpha
        self.beta = beta
        self.wavelet = wavelet
        self.levels = levels
        self.mode = mode
        self.dwt = DWT2D(wavelet, levels, mode)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        if len(y_pred.shape) not in (4, 5):
            raise ValueError(
                "WaveletLoss expects (B, T, H, W, C) or (B, H, W, C) tensors; "
                f"got shape {tuple(y_pred.shape)}."
            )
        if len(y_pred.shape) == 4:
            y_pred = y_pred[:, None]
            y_true = y_true[:, None]
        t, h, w, c = y_pred.shape[1:]
        diff = y_pred - y_true
        mse = ops.mean(ops.square(diff), axis=(1, 2, 3, 4))
        if self.beta == 0:
            return self.alpha * mse
        # The DWT is linear: transform the difference once.
        coeffs = self.dwt(ops.reshape(diff, (-1, h, w, c)))
        nb = 4**self.levels
        coeffs = ops.reshape(coeffs, (-1, t, coeffs.shape[1], coeffs.shape[2], c, nb))
        per_band = ops.mean(ops.abs(coeffs), axis=(1, 2, 3, 4))  # (B, nb)
        return self.alpha * mse + self.beta * ops.sum(per_band, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "beta": self.beta,
                "wavelet": self.wavelet,
                "levels": self.levels,
                "mode": self.mode,
            }
        )
        return config
