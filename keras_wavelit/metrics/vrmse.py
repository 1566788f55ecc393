"""Variance-scaled root mean squared error (The Well's VRMSE)."""

import keras
from keras import ops

from keras_wavelit.metrics._common import prepare
from keras_wavelit.metrics._common import spatial_mse
from keras_wavelit.metrics._common import spatial_size


def vrmse(y_true, y_pred, eps=1e-7, n_spatial_dims=2):
    """Variance-scaled RMSE, one value per sample, step and field.

    `VRMSE = sqrt(mean_space (y_pred - y_true)^2 / (var_space(y_true) + eps))`
    with the unbiased spatial variance (divisor `H*W - 1`), exactly
    `the_well.benchmark.metrics.VRMSE`. A prediction equal to the target's
    spatial mean scores about 1. The headline metric of the paper (section 4.1,
    Appendix J), where it is averaged over rollout windows and the median is
    taken over trajectories (see `keras_wavelit.evaluation`).

    Args:
        y_true: target, channels-last `(..., H, W, C)`, e.g.
            `(B, T, H, W, C)`; any backend tensor or NumPy array.
        y_pred: prediction of the same shape.
        eps: float added to the variance. Defaults to `1e-7` (The Well's).
        n_spatial_dims: int, number of spatial axes before the channel axis.
            Defaults to 2.

    Returns:
        Tensor of shape `(..., C)` (e.g. `(B, T, C)`).

    Example:

    ```python
    import keras
    import numpy as np
    from keras_wavelit.metrics import vrmse

    y = np.random.rand(2, 3, 16, 16, 4).astype("float32")
    assert tuple(vrmse(y, y).shape) == (2, 3, 4)
    assert float(keras.ops.max(vrmse(y, y))) == 0.0
    mean = np.broadcast_to(y.mean(axis=(2, 3), keepdims=True), y.shape)
    assert abs(float(keras.ops.mean(vrmse(y, mean))) - 1.0) < 0.01  # the spatial mean scores ~1
    ```
    """
    y_true, y_pred, axes = prepare(y_true, y_pred, n_spatial_dims)
    n = spatial_size(y_true, axes)
    if n < 2:
        raise ValueError("VRMSE needs at least two spatial points (unbiased variance).")
    centered = y_true - ops.mean(y_true, axis=axes, keepdims=True)
    var = ops.sum(ops.square(centered), axis=axes) / (n - 1)
    return ops.sqrt(spatial_mse(y_true, y_pred, axes) / (var + eps))


@keras.saving.register_keras_serializable(package="keras_wavelit")
class VRMSE(keras.metrics.MeanMetricWrapper):
    """Running mean of `vrmse` over samples, time steps and fields.

    For use in `model.compile(metrics=[VRMSE()])` with targets
    `(B, T, H, W, C)` (or `(B, H, W, C)`). Each batch contributes the
    per-sample mean over steps and fields; `sample_weight` of shape `(B,)`
    weights samples. `WaveLiT`'s default compile monitors this metric
    (`docs/design.md` §2.6 and §2.9).

    Args:
        eps: float added to the variance. Defaults to `1e-7`.
        n_spatial_dims: int. Defaults to 2.
        name: str. Defaults to `"vrmse"`.
        dtype: dtype of the metric result.

    Example:

    ```python
    import keras
    import numpy as np
    from keras_wavelit.metrics import VRMSE

    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss="mse", metrics=[VRMSE()])
    y = np.random.rand(2, 4, 4, 1).astype("float32")
    logs = model.evaluate(y, y, verbose=0, return_dict=True)
    assert "vrmse" in logs
    ```
    """

    def __init__(self, eps=1e-7, n_spatial_dims=2, name="vrmse", dtype=None):
        super().__init__(fn=vrmse, name=name, dtype=dtype, eps=eps, n_spatial_dims=n_spatial_dims)
        self.eps = eps
        self.n_spatial_dims = n_spatial_dims
        self._direction = "down"

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "eps": self.eps,
            "n_spatial_dims": self.n_spatial_dims,
        }
