"""Mean squared error over space, per sample, time step and field."""

from keras_wavelit.metrics._common import prepare
from keras_wavelit.metrics._common import spatial_mse


def mse(y_true, y_pred, n_spatial_dims=2):
    """Spatial mean squared error, one value per sample, step and field.

    `MSE = mean_space (y_pred - y_true)^2`: The Well's
    `the_well.benchmark.metrics.MSE` (paper section 4, Appendix J report
    The Well's metrics; `docs/design.md` §2.9).

    Args:
        y_true: target, channels-last `(..., H, W, C)`, e.g.
            `(B, T, H, W, C)`; any backend tensor or NumPy array.
        y_pred: prediction of the same shape.
        n_spatial_dims: int, number of spatial axes just before the channel
            axis. Defaults to 2.

    Returns:
        Tensor of shape `(..., C)` (e.g. `(B, T, C)`), not reduced
        further.

    Example:

    ```python
    import keras
    import numpy as np
    from keras_wavelit.metrics import mse

    y = np.zeros((2, 3, 8, 8, 4), "float32")
    assert tuple(mse(y, y + 2.0).shape) == (2, 3, 4)
    assert float(keras.ops.max(mse(y, y + 2.0))) == 4.0
    ```
    """
    y_true, y_pred, axes = prepare(y_true, y_pred, n_spatial_dims)
    return spatial_mse(y_true, y_pred, axes)
