"""Shared argument handling of the field-error metrics."""

import keras
from keras import ops


def prepare(y_true, y_pred, n_spatial_dims):
    """Converts both inputs to tensors of one float dtype (at least float32).

    Returns:
        `(y_true, y_pred, axes)` where `axes` are the spatial axes of a
        channels-last `(..., *space, C)` tensor.
    """
    if n_spatial_dims < 1:
        raise ValueError(f"`n_spatial_dims` must be >= 1, got {n_spatial_dims}.")
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = keras.backend.result_type(y_true.dtype, y_pred.dtype, "float32")
    y_true = ops.cast(y_true, dtype)
    y_pred = ops.cast(y_pred, dtype)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            "y_true and y_pred must have the same shape; got "
            f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}."
        )
    rank = len(y_true.shape)
    if rank < n_spatial_dims + 1:
        space = "H, W" if n_spatial_dims == 2 else "space"
        raise ValueError(
            f"Expected channels-last tensors (..., {space}, C) "
            f"with at least {n_spatial_dims + 1} axes; got shape {tuple(y_true.shape)}."
        )
    axes = tuple(range(rank - 1 - n_spatial_dims, rank - 1))
    return y_true, y_pred, axes


def spatial_mse(y_true, y_pred, axes):
    """Mean over the spatial axes of the squared error."""
    return ops.mean(ops.square(y_pred - y_true), axis=axes)


def spatial_size(y_true, axes):
    n = 1
    for a in axes:
        n *= y_true.shape[a]
    return n
