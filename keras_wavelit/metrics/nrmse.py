"""Normalized root mean squared error (The Well's nRMSE)."""

import keras
from keras import ops

from keras_wavelit.metrics._common import prepare
from keras_wavelit.metrics._common import spatial_mse


def nrmse(y_true, y_pred, eps=1e-7, n_spatial_dims=2):
    """Normalized RMSE, one value per sample, step and field.

    `nRMSE = sqrt(mean_space (y_pred - y_true)^2 / (mean_space y_true^2 + eps))`,
    The Well's `NRMSE` with its default `norm_mode="norm"`. The
    normalization is the target's mean square, so the metric is the relative
    L2 error with `eps` added to the squared norm.

    Args:
        y_true: target, channels-last `(..., H, W, C)`.
        y_pred: prediction of the same shape.
        eps: float added to the denominator. Defaults to `1e-7` (The Well's).
        n_spatial_dims: int, number of spatial axes before the channel axis.
            Defaults to 2.

    Returns:
        Tensor of shape `(..., C)`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.metrics import nrmse

    y = np.ones((1, 1, 4, 4, 1), "float32")
    assert round(float(nrmse(y, 2.0 * y)[0, 0, 0]), 4) == 1.0
    ```
    """
    y_true, y_pred, axes = prepare(y_true, y_pred, n_spatial_dims)
    norm = ops.mean(ops.square(y_true), axis=axes)
    return ops.sqrt(spatial_mse(y_true, y_pred, axes) / (norm + eps))


@keras.saving.register_keras_serializable(package="keras_wavelit")
class NRMSE(keras.metrics.MeanMetricWrapper):
    """Running mean of `nrmse` over samples, steps and fields.

    Args:
        eps: float added to the denominator. Defaults to `1e-7`.
        n_spatial_dims: int. Defaults to 2.
        name: str. Defaults to `"nrmse"`.
        dtype: dtype of the metric result.

    Example:

    ```python
    import keras
    import numpy as np
    from keras_wavelit.metrics import NRMSE

    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss="mse", metrics=[NRMSE()])
    y = np.random.rand(2, 4, 4, 1).astype("float32")
    logs = model.evaluate(y, y, verbose=0, return_dict=True)
    assert "nrmse" in logs
    ```
    """

    def __init__(self, eps=1e-7, n_spatial_dims=2, name="nrmse", dtype=None):
        super().__init__(fn=nrmse, name=name, dtype=dtype, eps=eps, n_spatial_dims=n_spatial_dims)
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
