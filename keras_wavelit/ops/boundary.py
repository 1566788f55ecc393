"""Boundary modes and exact boundary padding for every Keras backend.

`BOUNDARY_MODES` is the one list of boundary modes of the library (the
`boundary` argument of the layers, the loss and the model, `docs/design.md`
§3); each consumer supports a subset of it and rejects the others with
`check_boundary`. `keras.ops.pad` disagrees across backends for `"symmetric"` (torch pads
with the edge value) and lacks `"wrap"` on TensorFlow and torch. The
functions here build the source index of every padded position once with
NumPy and gather with `keras.ops.take`, which is exact and identical on
JAX, TensorFlow and PyTorch.
"""

import numpy as np
from keras import ops

#: Every boundary mode of the library. `"reflect"` mirrors about the edge
#: sample (`dcb|abcd|cba`), `"periodic"` wraps around, `"symmetric"` mirrors
#: including the edge sample (`cba|abcd|dcb`), `"zeros"` pads with zeros.
BOUNDARY_MODES = ("reflect", "periodic", "symmetric", "zeros")

#: The modes `boundary_indices` gathers, with NumPy's name for each.
_NUMPY_PAD_MODES = {"periodic": "wrap", "reflect": "reflect", "symmetric": "symmetric"}

#: Deprecated alias of the modes `boundary_indices` understands.
PAD_MODES = _NUMPY_PAD_MODES


def check_boundary(boundary, supported=BOUNDARY_MODES, owner="boundary", argument="boundary"):
    """Validates a boundary mode against what one consumer supports.

    Args:
        boundary: the value to check.
        supported: the modes of `BOUNDARY_MODES` the consumer supports.
        owner: str, the class or function name, for the message.
        argument: str, the argument's name, for the message.

    Returns:
        `boundary`, unchanged.

    Raises:
        ValueError: naming the value and the supported modes, and saying
            when the mode exists but this consumer does not support it.

    Example:

    ```python
    from keras_wavelit.ops.boundary import check_boundary

    check_boundary("periodic", ("reflect", "periodic"), owner="DWT2D")
    ```
    """
    if boundary in supported:
        return boundary
    if boundary in BOUNDARY_MODES:
        raise ValueError(
            f"{owner} does not support the boundary mode `{argument}={boundary!r}`; it supports "
            f"{list(supported)} (of the library's boundary modes {list(BOUNDARY_MODES)})."
        )
    raise ValueError(
        f"{owner}: unknown boundary mode `{argument}={boundary!r}`; expected one of "
        f"{list(supported)}."
    )


def boundary_indices(n, left, right, mode, right_mode=None):
    """Source indices of a 1D signal of length `n` after boundary padding.

    Args:
        n: int, length of the axis.
        left: int, number of samples added before the first one.
        right: int, number of samples added after the last one.
        mode: `"periodic"`, `"reflect"` or `"symmetric"`; the extension on
            the left (and on the right unless `right_mode`).
        right_mode: optional mode for the right side.

    Returns:
        An `int32` NumPy array of length `left + n + right`.

    Example:

    ```python
    from keras_wavelit.ops import boundary_indices

    assert boundary_indices(4, 2, 1, "reflect").tolist() == [2, 1, 0, 1, 2, 3, 2]
    ```
    """
    right_mode = mode if right_mode is None else right_mode
    for m in (mode, right_mode):
        check_boundary(m, tuple(_NUMPY_PAD_MODES), "boundary_indices", "mode")
    if left < 0 or right < 0:
        raise ValueError(f"Padding must be >= 0, got left={left}, right={right}.")
    base = np.arange(n)
    lpart = np.pad(base, (left, 0), mode=_NUMPY_PAD_MODES[mode])[:left]
    rpart = np.pad(base, (0, right), mode=_NUMPY_PAD_MODES[right_mode])[n:]
    return np.concatenate([lpart, base, rpart]).astype("int32")


def pad_axis(x, axis, left, right, mode, right_mode=None):
    """Pads one axis of a tensor with an exact boundary extension.

    Args:
        x: tensor.
        axis: int, the axis to pad (must have a static size).
        left: int, padding before the first sample.
        right: int, padding after the last sample.
        mode: one of `BOUNDARY_MODES`.
        right_mode: optional mode of the right side (one of `BOUNDARY_MODES`
            but `"zeros"`).

    Returns:
        The padded tensor.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.ops import pad_axis

    x = np.arange(4, dtype="float32")[None]
    y = pad_axis(x, 1, 1, 1, "periodic")  # [[3, 0, 1, 2, 3, 0]]
    ```
    """
    check_boundary(mode, BOUNDARY_MODES, "pad_axis", "mode")
    if left == 0 and right == 0:
        return x
    if mode == "zeros":
        pads = [[0, 0] for _ in range(len(x.shape))]
        pads[axis] = [left, right]
        return ops.pad(x, pads)
    n = x.shape[axis]
    if n is None:
        raise ValueError(
            f"Boundary padding needs a static size along axis {axis}; got shape {tuple(x.shape)}."
        )
    right_mode = mode if right_mode is None else right_mode
    parts = []
    left_part = _edge_slices(x, axis, int(n), left, mode, "left")
    right_part = _edge_slices(x, axis, int(n), right, right_mode, "right")
    if left_part is None or right_part is None:
        # Paddings wider than the signal: gather with NumPy-built indices.
        idx = boundary_indices(int(n), left, right, mode, right_mode)
        return ops.take(x, ops.convert_to_tensor(idx), axis=axis)
    if left:
        parts.append(left_part)
    parts.append(x)
    if right:
        parts.append(right_part)
    return ops.concatenate(parts, axis=axis)


def _slice(x, axis, start, stop):
    index = [slice(None)] * len(x.shape)
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def _edge_slices(x, axis, n, p, mode, side):
    """The `p` padded samples on one side as slices (and a flip) of `x`.

    Slices, flips and concatenations compile to much smaller programs than
    gathers (whose gradients are scatters), so they are used whenever the
    padding is narrower than the signal. Returns None when it is not.
    """
    if p == 0:
        return x
    if mode == "periodic":
        if p > n:
            return None
        return _slice(x, axis, n - p, n) if side == "left" else _slice(x, axis, 0, p)
    if mode == "reflect":
        if p > n - 1:
            return None
        if side == "left":
            return ops.flip(_slice(x, axis, 1, p + 1), axis=axis)
        return ops.flip(_slice(x, axis, n - p - 1, n - 1), axis=axis)
    if mode == "symmetric":
        if p > n:
            return None
        if side == "left":
            return ops.flip(_slice(x, axis, 0, p), axis=axis)
        return ops.flip(_slice(x, axis, n - p, n), axis=axis)
    check_boundary(mode, tuple(_NUMPY_PAD_MODES), "pad_axis", "right_mode")


def pad_spatial(x, pad, mode):
    """Pads the two spatial axes of a channels-last `(B, H, W, C)` tensor.

    Args:
        x: tensor of shape `(B, H, W, C)`.
        pad: int, padding on every side.
        mode: one of `BOUNDARY_MODES`.

    Returns:
        Tensor of shape `(B, H + 2 pad, W + 2 pad, C)`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.ops import pad_spatial

    y = pad_spatial(np.zeros((1, 8, 8, 2), "float32"), 1, "reflect")  # (1, 10, 10, 2)
    ```
    """
    x = pad_axis(x, 1, pad, pad, mode)
    return pad_axis(x, 2, pad, pad, mode)
