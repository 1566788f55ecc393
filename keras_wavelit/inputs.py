"""The one input contract of WaveLiT models, finetuners and evaluation.

A model input is one of:

- `fields`: a tensor `(B, T_in, H, W, C)`;
- a dict `{"fields": fields, "constants": constants}` (`"constants"`
  optional), with constant fields `(B, H, W, C_const)` (The Well's
  `constant_fields`);
- a tuple or list `(fields, constants)`.

`split_inputs` parses these forms (and the same forms of shapes with
`split_input_shape`), `join_inputs` builds the canonical form back, and
`shift_window` is the one-step window shift of an autoregressive rollout
(`docs/design.md` §2.6).
"""

import numpy as np

INPUT_KEYS = ("fields", "constants")


def _check_dict(inputs, owner):
    unknown = set(inputs) - set(INPUT_KEYS)
    if unknown or "fields" not in inputs:
        raise ValueError(
            f"{owner} dict inputs must have the key 'fields' and optionally "
            f"'constants'; got keys {sorted(map(str, inputs))}."
        )


def _check_sequence(inputs, owner):
    if len(inputs) != 2:
        raise ValueError(
            f"{owner} takes `fields`, `{{'fields': fields, 'constants': constants}}` "
            f"or `(fields, constants)`; got a sequence of {len(inputs)} inputs."
        )


def split_inputs(inputs, owner="WaveLiT"):
    """Splits model inputs into fields and constant fields.

    Args:
        inputs: `fields`, `{"fields": fields, "constants": constants}` or
            `(fields, constants)`.
        owner: str, the name used in error messages.

    Returns:
        `(fields, constants)`, with `constants` None when there are none.

    Raises:
        ValueError: a dict without `"fields"` or with other keys, or a
            sequence that does not have exactly two entries.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.inputs import split_inputs

    x = np.zeros((2, 4, 16, 16, 3), "float32")
    c = np.zeros((2, 16, 16, 1), "float32")
    fields, constants = split_inputs({"fields": x, "constants": c})
    assert constants.shape == (2, 16, 16, 1)
    fields, constants = split_inputs(x)
    assert constants is None
    ```
    """
    if isinstance(inputs, dict):
        _check_dict(inputs, owner)
        return inputs["fields"], inputs.get("constants")
    if isinstance(inputs, (list, tuple)):
        _check_sequence(inputs, owner)
        return inputs[0], inputs[1]
    return inputs, None


def _is_shape(x):
    return isinstance(x, (list, tuple)) and all(
        d is None or isinstance(d, (int, np.integer)) for d in x
    )


def _strip_shape_suffix(key):
    return key[: -len("_shape")] if str(key).endswith("_shape") else key


def split_input_shape(input_shape, owner="WaveLiT"):
    """Splits an input shape (the argument of `build`) like `split_inputs`.

    Args:
        input_shape: a shape tuple, a dict `{"fields": shape,
            "constants": shape}` or a pair of shapes.
        owner: str, the name used in error messages.

    Returns:
        `(fields_shape, constants_shape)` as tuples; `constants_shape` is
        None when there are no constant fields.
    """
    if isinstance(input_shape, dict):
        # Keras can key shapes by `<name>_shape`.
        shapes = {_strip_shape_suffix(k): v for k, v in input_shape.items()}
        _check_dict(shapes, owner)
        fields, constants = shapes["fields"], shapes.get("constants")
    elif isinstance(input_shape, (list, tuple)) and not _is_shape(input_shape):
        _check_sequence(input_shape, owner)
        fields, constants = input_shape
    else:
        fields, constants = input_shape, None
    fields = tuple(fields)
    constants = None if constants is None else tuple(constants)
    return fields, constants


def join_inputs(fields, constants=None):
    """The canonical model input: `fields` alone, or a dict with constants.

    Args:
        fields: tensor `(B, T_in, H, W, C)`.
        constants: tensor `(B, H, W, C_const)` or None.

    Returns:
        `fields` when `constants` is None, else
        `{"fields": fields, "constants": constants}`.
    """
    if constants is None:
        return fields
    return {"fields": fields, "constants": constants}


def shift_window(fields, prediction):
    """Drops the oldest input step and appends the prediction (axis 1).

    NumPy inputs give a NumPy array; tensors give a tensor of the current
    backend (`keras.ops`, so it traces inside `fit` and `jit`). The prediction
    is cast to the window's dtype.

    Args:
        fields: window `(B, T_in, H, W, C)`.
        prediction: next steps `(B, k, H, W, C)`, usually `k = 1`.

    Returns:
        The window `(B, T_in, H, W, C)` advanced by `k` steps.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.inputs import shift_window

    window = np.arange(3, dtype="float32").reshape(1, 3, 1, 1, 1)
    nxt = np.full((1, 1, 1, 1, 1), 3.0, "float32")
    assert shift_window(window, nxt).ravel().tolist() == [1.0, 2.0, 3.0]
    ```
    """
    k = prediction.shape[1]
    k = 1 if k is None else k
    if fields.shape[1] is not None and k > fields.shape[1]:
        raise ValueError(
            f"shift_window: the prediction has {k} steps, more than the window's "
            f"{fields.shape[1]}; got fields {tuple(fields.shape)} and prediction "
            f"{tuple(prediction.shape)}."
        )
    if isinstance(fields, np.ndarray) and isinstance(prediction, np.ndarray):
        return np.concatenate([fields[:, k:], prediction.astype(fields.dtype)], axis=1)
    from keras import ops

    fields = ops.convert_to_tensor(fields)
    prediction = ops.cast(prediction, fields.dtype)
    return ops.concatenate([fields[:, k:], prediction], axis=1)
