"""Pixel MSE plus a wavelet-domain L1 loss (paper section 3.4, Appendix D)."""

import keras
from keras import ops

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.layers.dwt import DWT2D


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveletLoss(keras.losses.Loss):
    """`alpha * MSE + beta * sum_subbands mean |DWT(y_pred) - DWT(y_true)|`.

    The loss of paper section 3.4 (`docs/design.md` §2.5). The DWT is the
    library's `DWT2D` with `wavelet_levels` levels (a full wavelet-packet
    tree: `4**wavelet_levels` subbands). For each sample, the MSE is the mean
    over steps, space and fields; the wavelet term is, for each subband, the
    mean absolute coefficient difference over steps, space and fields,
    summed over the subbands. `alpha=1, beta=1` is the paper's choice
    (Appendix D). The loss is computed in float32 whatever the inputs' dtype
    (under `mixed_bfloat16` or `mixed_float16` a model's predictions are
    half precision), so both terms keep full precision.

    Subband weights (a wavelet-domain stabilizer for long rollouts, paper
    section 5): `detail_weight` multiplies the L1 term of every detail
    subband (all but the pure approximation band `LL...L`), relative to the
    approximation's weight of 1; `subband_weights` gives one weight per
    subband instead. Fine-scale (detail) modes of chaotic flows raise the
    learned map's local Lipschitz constant (Appendix H); a `detail_weight`
    below 1 asks less accuracy of them, one above 1 more. The defaults
    (`detail_weight=1`, no `subband_weights`) are the paper's loss.

    Args:
        alpha: float, weight of the pixel-space MSE. Defaults to 1.0.
        beta: float, weight of the wavelet L1 term. Defaults to 1.0.
        wavelet: str, a PyWavelets wavelet name. Defaults to `"bior2.2"`.
        wavelet_levels: int >= 1, DWT levels. Defaults to 1. (Deprecated
            name: `levels`.)
        boundary: `"reflect"` (default) or `"periodic"`, the DWT's boundary
            mode; use the model's. (Deprecated name: `mode`.)
        reduction: as for `keras.losses.Loss`.
        name: str, the loss's name.
        dtype: as for `keras.losses.Loss`, the dtype of the reduced loss;
            both terms are computed in float32 regardless.
        detail_weight: float >= 0, weight of each detail subband's L1 term
            relative to the approximation band. Defaults to 1.0.
        subband_weights: optional sequence of `4**wavelet_levels` floats
            >= 0, one weight per subband in `DWT2D`'s order (band 0 is the
            approximation; with one level `LL, LH, HL, HH`). Overrides
            `detail_weight` (give one or the other).

    Call arguments:
        y_true: `(B, T, H, W, C)` or `(B, H, W, C)`, `H` and `W` multiples of
            `2**wavelet_levels`.
        y_pred: the same shape.

    Returns:
        The reduced loss (a float32 scalar with the default reduction).

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    loss = kw.losses.WaveletLoss(alpha=1.0, beta=1.0, wavelet_levels=2)
    y = np.random.rand(2, 1, 16, 16, 3).astype("float32")
    assert float(loss(y, y)) == 0.0
    # Detail subbands count a quarter as much as the approximation:
    smooth = kw.losses.WaveletLoss(detail_weight=0.25)
    ```
    """

    def __init__(
        self,
        alpha=1.0,
        beta=1.0,
        wavelet="bior2.2",
        wavelet_levels=1,
        boundary="reflect",
        reduction="sum_over_batch_size",
        name="wavelet_loss",
        dtype=None,
        detail_weight=1.0,
        subband_weights=None,
        **kwargs,
    ):
        wavelet_levels = renamed_argument(
            "WaveletLoss",
            kwargs,
            "levels",
            "wavelet_levels",
            None if wavelet_levels == 1 else wavelet_levels,
            1,
        )
        boundary = renamed_argument(
            "WaveletLoss",
            kwargs,
            "mode",
            "boundary",
            None if boundary == "reflect" else boundary,
            "reflect",
        )
        if kwargs:
            raise TypeError(f"WaveletLoss got unexpected arguments {sorted(kwargs)}.")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = alpha
        self.beta = beta
        self.wavelet = wavelet
        self.dwt = DWT2D(wavelet, wavelet_levels, boundary, dtype="float32")
        self.wavelet_levels = self.dwt.wavelet_levels
        self.boundary = boundary
        n_bands = 4**self.wavelet_levels
        if (
            isinstance(detail_weight, bool)
            or not isinstance(detail_weight, (int, float))
            or not detail_weight >= 0
        ):
            raise ValueError(
                f"WaveletLoss: `detail_weight` must be a number >= 0, got {detail_weight!r}."
            )
        self.detail_weight = float(detail_weight)
        if subband_weights is not None:
            if self.detail_weight != 1.0:
                raise ValueError(
                    "WaveletLoss: give `detail_weight` or `subband_weights`, not both; got "
                    f"detail_weight={detail_weight!r} and subband_weights={subband_weights!r}."
                )
            weights = [float(w) for w in subband_weights]
            if len(weights) != n_bands or not all(w >= 0 for w in weights):
                raise ValueError(
                    f"WaveletLoss: `subband_weights` must hold {n_bands} numbers >= 0 (one per "
                    f"subband of {self.wavelet_levels} level(s)), got {subband_weights!r}."
                )
            subband_weights = weights
        self.subband_weights = subband_weights
        if subband_weights is not None:
            self._band_weights = tuple(subband_weights)
        else:
            self._band_weights = (1.0,) + (self.detail_weight,) * (n_bands - 1)

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Keras casts the inputs to the loss's dtype (the global policy's
        # compute dtype, e.g. bfloat16) before `call`: cast them to float32
        # first so that the loss is computed and returned in float32.
        y_true = ops.cast(y_true, "float32")
        y_pred = ops.cast(y_pred, "float32")
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
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
        nb = 4**self.wavelet_levels
        coeffs = ops.reshape(coeffs, (-1, t, coeffs.shape[1], coeffs.shape[2], c, nb))
        per_band = ops.mean(ops.abs(coeffs), axis=(1, 2, 3, 4))  # (B, nb)
        if any(w != 1.0 for w in self._band_weights):
            per_band = per_band * ops.convert_to_tensor(self._band_weights, "float32")
        return self.alpha * mse + self.beta * ops.sum(per_band, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "beta": self.beta,
                "wavelet": self.wavelet,
                "wavelet_levels": self.wavelet_levels,
                "boundary": self.boundary,
                "detail_weight": self.detail_weight,
                "subband_weights": self.subband_weights,
            }
        )
        return config
