"""Relative L2 error."""

import keras
from keras import ops

from keras_wavelit.metrics._common import prepare


def relative_l2(y_true, y_pred, per_field=True, eps=1e-7, n_spatial_dims=2):
    """Relative L2 error `||y_pred - y_true||_2 / (||y_true||_2 + eps)`.

    The norms are taken over space, separately for each field (default) or
    jointly over space and fields (`per_field=False`, the convention of
    most operator-learning papers). Unlike `nrmse`, `eps` is added
    to the norm, not to its square.

    Args:
        y_true: target, channels-last `(..., H, W, C)`.
        y_pred: prediction of the same shape.
        per_field: bool. Defaults to True.
        eps: float added to the target norm. Defaults to `1e-7`.
        n_spatial_dims: int. Defaults to 2.

    Returns:
        `(..., C)` if `per_field` else `(...)`, e.g. `(B, T)`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.metrics import relative_l2

    y = np.ones((1, 1, 4, 4, 2), "float32")
    assert round(float(relative_l2(y, 0.5 * y)[0, 0, 0]), 4) == 0.5
    ```
    """
    y_true, y_pred, axes = prepare(y_true, y_pred, n_spatial_dims)
    if not per_field:
        axes = axes + (len(y_true.shape) - 1,)
    err = ops.sqrt(ops.sum(ops.square(y_pred - y_true), axis=axes))
    norm = ops.sqrt(ops.sum(ops.square(y_true), axis=axes))
    return err / (norm + eps)


@keras.saving.register_keras_serializable(package="keras_wavelit")
class RelativeL2(keras.metrics.MeanMetricWrapper):
    """Running mean of `relative_l2` over samples, steps (and fields).

    Args:
        per_field: bool. Defaults to True.
        eps: float. Defaults to `1e-7`.
        n_spatial_dims: int. Defaults to 2.
        name: str. Defaults to `"relative_l2"`.
        dtype: dtype of the metric result.

    Example:

    ```python
    import keras
    import numpy as np
    from keras_wavelit.metrics import RelativeL2

    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss="mse", metrics=[RelativeL2()])
    y = np.random.rand(2, 4, 4, 1).astype("float32")
    logs = model.evaluate(y, y, verbose=0, return_dict=True)
    assert "relative_l2" in logs
    ```
    """

    def __init__(self, per_field=True, eps=1e-7, n_spatial_dims=2, name="relative_l2", dtype=None):
        super().__init__(
            fn=relative_l2,
            name=name,
            dtype=dtype,
            per_field=per_field,
            eps=eps,
            n_spatial_dims=n_spatial_dims,
        )
        self.per_field = per_field
        self.eps = eps
        self.n_spatial_dims = n_spatial_dims
        self._direction = "down"

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "per_field": self.per_field,
            "eps": self.eps,
            "n_spatial_dims": self.n_spatial_dims,
        }
