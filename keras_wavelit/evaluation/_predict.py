"""Shared helpers of the rollout and one-step evaluations: calling the model,
scoring, and input checks."""

import math

import numpy as np
from keras import ops

from keras_wavelit.inputs import join_inputs
from keras_wavelit.inputs import shift_window
from keras_wavelit.metrics import mse
from keras_wavelit.metrics import nrmse
from keras_wavelit.metrics import relative_l2
from keras_wavelit.metrics import vrmse

METRIC_FUNCTIONS = {"vrmse": vrmse, "nrmse": nrmse, "mse": mse, "relative_l2": relative_l2}


def to_numpy(x):
    """A NumPy array from an array or tensor of any installed framework."""
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # a tensor of a framework other than the active backend
        if hasattr(x, "detach"):
            return x.detach().cpu().numpy()
        return np.asarray(x)


def json_float(value):
    """`value` as a float, or None when it is not finite (strict JSON)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def format_number(value, precision=4):
    """A table cell: `—` for None (undefined), `inf`/`nan` spelled out."""
    if value is None:
        return "—"
    value = float(value)
    if math.isfinite(value):
        return f"{value:.{precision}g}"
    return "nan" if math.isnan(value) else "inf"


def _check_step_output(y, window):
    if y.ndim == window.ndim - 1:
        y = y[:, None]
    if y.ndim != window.ndim or y.shape[0] != window.shape[0] or y.shape[2:] != window.shape[2:]:
        raise ValueError(
            "The predictor must return (B, k, H, W, C) (or (B, H, W, C)) matching its input "
            f"window {window.shape}; got {y.shape}."
        )
    return y.astype(window.dtype, copy=False)


def step_predict(predict_fn, fields, constants, n_steps, progress=None):
    """Rolls a one-call-per-step predictor forward, shifting the window here."""
    t_in = fields.shape[1]
    window = fields
    outputs = []
    produced = 0
    while produced < n_steps:
        y = _check_step_output(to_numpy(predict_fn(join_inputs(window, constants))), window)
        outputs.append(y)
        k = min(y.shape[1], n_steps - produced)
        produced += y.shape[1]
        if progress is not None:
            progress.add(k * y.shape[0])
        if produced < n_steps and not np.isfinite(y).all(axis=tuple(range(1, y.ndim))).any():
            # Every sample is already non-finite: its remaining steps score inf whatever
            # they hold, so stop calling the model.
            rest = (y.shape[0], n_steps - produced) + y.shape[2:]
            outputs.append(np.full(rest, np.nan, dtype=y.dtype))
            if progress is not None:
                progress.add(rest[0] * rest[1])
            break
        window = shift_window(window, y) if y.shape[1] <= t_in else y[:, -t_in:]
    return np.concatenate(outputs, axis=1)[:, :n_steps]


def _pad_rows(x, rows):
    """`x` with its last row repeated up to `rows` rows (None stays None)."""
    if x is None or x.shape[0] >= rows:
        return x
    return np.concatenate([x, np.repeat(x[-1:], rows - x.shape[0], axis=0)])


def predict_steps(model, fields, constants, n_steps, progress=None, pad_to=None):
    """`n_steps` predictions from the initial windows `fields`, `(B, n_steps, H, W, C)`.

    A model with `rollout(x0, steps)` is called once; any other callable is
    stepped by `step_predict`. With `pad_to`, a smaller batch is padded to
    that many rows (repeating its last row) and the padding dropped from the
    result, so that a compiled model sees one batch shape and compiles once.
    """
    n = fields.shape[0]
    if pad_to and n < pad_to:
        fields, constants = _pad_rows(fields, pad_to), _pad_rows(constants, pad_to)
        pred = predict_steps(model, fields, constants, n_steps, None)
        if progress is not None:
            progress.add(n * n_steps)
        return pred[:n]
    if hasattr(model, "rollout"):
        pred = to_numpy(model.rollout(join_inputs(fields, constants), n_steps))
        expected = (fields.shape[0], n_steps) + fields.shape[2:]
        if pred.shape != expected:
            raise ValueError(
                f"model.rollout(x0, {n_steps}) returned shape {pred.shape}; expected {expected}."
            )
        if progress is not None:
            progress.add(fields.shape[0] * n_steps)
        return pred
    if callable(model):
        return step_predict(model, fields, constants, n_steps, progress)
    raise TypeError(
        "`model` must have a `rollout(x0, steps)` method or be a callable "
        f"predict(x_window) -> (B, 1, H, W, C); got {type(model).__name__}."
    )


def score(pred, target, metric_names, denormalize=None):
    """Per-metric `(B, steps, C)` scores (non-finite entries as `inf`) and a
    `(B, steps)` mask of finite predictions, in physical units when
    `denormalize` is given."""
    if denormalize is not None:
        pred = to_numpy(denormalize(pred))
        target = to_numpy(denormalize(target))
    pred = np.asarray(pred, dtype=np.float64 if pred.dtype == np.float64 else np.float32)
    target = np.asarray(target, dtype=pred.dtype)
    finite = np.isfinite(pred).all(axis=(2, 3, 4))
    values = {}
    with np.errstate(all="ignore"):
        for m in metric_names:
            v = np.array(to_numpy(METRIC_FUNCTIONS[m](target, pred)), dtype=np.float64)
            v[~np.isfinite(v)] = np.inf
            v[~finite] = np.inf
            values[m] = v
    return values, finite, pred


def check_metric_names(metrics):
    """`["vrmse", ...]`: VRMSE first, then the other requested metrics."""
    names = ["vrmse"] + [m for m in metrics if m != "vrmse"]
    unknown = [m for m in names if m not in METRIC_FUNCTIONS]
    if unknown:
        raise ValueError(f"Unknown metrics {unknown}; choose from {sorted(METRIC_FUNCTIONS)}.")
    return names


def check_trajectories(trajectories, n_steps_input):
    """Validated float `(N, T, H, W, C)` trajectories and `n_steps_input`."""
    trajectories = to_numpy(trajectories)
    if trajectories.ndim != 5:
        raise ValueError(
            "`trajectories` must be (N, T, H, W, C) (2D fields, channels last); "
            f"got shape {trajectories.shape}."
        )
    if not np.issubdtype(trajectories.dtype, np.floating):
        trajectories = trajectories.astype("float32")
    t_total = trajectories.shape[1]
    n_steps_input = int(n_steps_input)
    if not 1 <= n_steps_input < t_total:
        raise ValueError(
            f"`n_steps_input` must be in [1, T - 1] = [1, {t_total - 1}]; got {n_steps_input}."
        )
    return trajectories, n_steps_input


def check_field_names(field_names, c):
    """`c` channel names as strings (default `"0"`, `"1"`, ...)."""
    if field_names is None:
        return [str(i) for i in range(c)]
    field_names = [str(n) for n in field_names]
    if len(field_names) != c:
        raise ValueError(f"{len(field_names)} field_names for {c} channels.")
    return field_names


def check_constants(constants, trajectories):
    """Constant fields broadcast to `(N, H, W, C_const)`, or None."""
    if constants is None:
        return None
    n_traj, _, h, w, _ = trajectories.shape
    constants = to_numpy(constants).astype(trajectories.dtype, copy=False)
    if constants.ndim == 3:
        constants = np.broadcast_to(constants, (n_traj,) + constants.shape)
    if constants.ndim != 4 or constants.shape[:3] != (n_traj, h, w):
        raise ValueError(
            f"`constants` must be (N, H, W, C_const) = ({n_traj}, {h}, {w}, C_const) "
            f"or (H, W, C_const); got {constants.shape}."
        )
    return constants


def progress_bar(target, verbose, unit_name="step"):
    """A `keras.utils.Progbar`, or None when `verbose` is 0."""
    if not verbose:
        return None
    import keras

    return keras.utils.Progbar(int(target), verbose=int(verbose), unit_name=unit_name)
