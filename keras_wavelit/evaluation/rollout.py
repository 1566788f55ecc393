"""Autoregressive rollout evaluation with The Well's metrics (paper section 4, Appendix J)."""

import dataclasses
import math
from typing import Callable
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence

import numpy as np
from keras import ops

from keras_wavelit.evaluation.windows import RolloutWindow
from keras_wavelit.evaluation.windows import rollout_windows
from keras_wavelit.metrics import mse
from keras_wavelit.metrics import nrmse
from keras_wavelit.metrics import relative_l2
from keras_wavelit.metrics import vrmse

METRIC_FUNCTIONS = {"vrmse": vrmse, "nrmse": nrmse, "mse": mse, "relative_l2": relative_l2}


def _to_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:  # a tensor of a framework other than the active backend
        if hasattr(x, "detach"):
            return x.detach().cpu().numpy()
        return np.asarray(x)


def _json_float(value):
    value = float(value)
    return value if math.isfinite(value) else None


@dataclasses.dataclass
class Divergence:
    """Where one trajectory's rollout went bad.

    Attributes:
        trajectory: index of the trajectory in the evaluated array.
        step: first bad rollout step, 1-based.
        reason: ``"non_finite"`` (a NaN/Inf prediction or metric) or
            ``"threshold"`` (the field-mean VRMSE exceeded the threshold).
        value: field-mean VRMSE at that step (``None`` when not finite).
    """

    trajectory: int
    step: int
    reason: str
    value: Optional[float]

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class WindowScore:
    """One metric over one rollout window.

    Each trajectory's score is its metric averaged over the window's steps
    and the fields; ``mean`` and ``median`` are taken over trajectories.
    ``per_field_*`` average over the steps only. A trajectory whose
    predictions are not finite inside the window scores ``inf``, so the mean
    is then ``inf`` while the median stays informative.

    Attributes:
        window: the :class:`RolloutWindow`.
        mean, median: floats over trajectories.
        per_field_mean, per_field_median: one float per field.
        n_diverged: trajectories that diverged at or before the window's last
            step.
    """

    window: RolloutWindow
    mean: float
    median: float
    per_field_mean: List[float]
    per_field_median: List[float]
    n_diverged: int

    def to_dict(self, field_names=None):
        names = field_names or [str(i) for i in range(len(self.per_field_mean))]
        return {
            **self.window.to_dict(),
            "mean": _json_float(self.mean),
            "median": _json_float(self.median),
            "per_field_mean": {n: _json_float(v) for n, v in zip(names, self.per_field_mean)},
            "per_field_median": {n: _json_float(v) for n, v in zip(names, self.per_field_median)},
            "n_diverged": int(self.n_diverged),
        }


@dataclasses.dataclass
class RolloutEvaluation:
    """Result of :func:`evaluate_rollout`.

    Attributes:
        n_trajectories: number of trajectories evaluated.
        n_steps_input: frames given to the model.
        n_steps: predicted steps per trajectory.
        field_names: one name per channel.
        metric_names: the metrics computed; ``"vrmse"`` always included.
        values: metric name -> array ``(N, n_steps, C)``, per trajectory,
            step and field; not-finite entries are stored as ``inf``.
        windows: the evaluated :class:`RolloutWindow` list.
        scores: metric name -> one :class:`WindowScore` per window.
        divergences: one :class:`Divergence` per diverged trajectory.
        divergence_threshold: the VRMSE threshold used (``None``: off).
        predictions: ``(N, n_steps, H, W, C)`` in the evaluated units when
            requested with ``return_predictions=True``, else ``None``.
    """

    n_trajectories: int
    n_steps_input: int
    n_steps: int
    field_names: List[str]
    metric_names: List[str]
    values: Dict[str, np.ndarray]
    windows: List[RolloutWindow]
    scores: Dict[str, List[WindowScore]]
    divergences: List[Divergence]
    divergence_threshold: Optional[float]
    predictions: Optional[np.ndarray] = None

    @property
    def diverged(self):
        """True when any trajectory diverged."""
        return bool(self.divergences)

    @property
    def diverged_trajectories(self):
        return [d.trajectory for d in self.divergences]

    def score(self, window_name, metric="vrmse", stat="median"):
        """One number: ``stat`` (``"mean"``/``"median"``) of ``metric`` over a window."""
        for s in self.scores[metric]:
            if s.window.name == window_name:
                return getattr(s, stat)
        raise KeyError(f"No window {window_name!r}; evaluated: {[w.name for w in self.windows]}.")

    def per_step(self, metric="vrmse", stat="median"):
        """``(n_steps,)``: field-mean ``metric`` per step, ``stat`` over trajectories."""
        per_traj = self.values[metric].mean(axis=-1)  # (N, steps)
        if stat == "median":
            return np.median(per_traj, axis=0)
        if stat == "mean":
            return per_traj.mean(axis=0)
        raise ValueError(f"`stat` must be 'mean' or 'median', got {stat!r}.")

    def to_dict(self, include_values=False):
        """JSON-serializable summary; non-finite numbers become ``None``.

        Args:
            include_values: also include the per-trajectory, per-step,
                per-field arrays (as nested lists).
        """
        out = {
            "n_trajectories": int(self.n_trajectories),
            "n_steps_input": int(self.n_steps_input),
            "n_steps": int(self.n_steps),
            "field_names": list(self.field_names),
            "metrics": list(self.metric_names),
            "divergence_threshold": (
                None if self.divergence_threshold is None else float(self.divergence_threshold)
            ),
            "diverged": self.diverged,
            "divergences": [d.to_dict() for d in self.divergences],
            "windows": {
                m: [s.to_dict(self.field_names) for s in self.scores[m]] for m in self.metric_names
            },
            "per_step": {
                m: {
                    "mean": [_json_float(v) for v in self.per_step(m, "mean")],
                    "median": [_json_float(v) for v in self.per_step(m, "median")],
                }
                for m in self.metric_names
            },
        }
        if include_values:
            out["values"] = {
                m: [[[_json_float(v) for v in step] for step in traj] for traj in self.values[m]]
                for m in self.metric_names
            }
        return out

    def summary_table(self, metric="vrmse", per_field=True, precision=4):
        """Markdown table of ``metric`` per window (mean, median, per field).

        Per-field columns hold medians over trajectories. Divergences are
        listed below the table.
        """
        if metric not in self.scores:
            raise KeyError(f"Metric {metric!r} not evaluated; have {self.metric_names}.")

        def fmt(v):
            return f"{v:.{precision}g}" if math.isfinite(v) else ("inf" if v > 0 else "nan")

        header = ["window", "steps", f"mean {metric}", f"median {metric}"]
        if per_field:
            header += [f"{name} (median)" for name in self.field_names]
        header.append("diverged")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for s in self.scores[metric]:
            w = s.window
            steps = f"{w.start}-{w.end}" + (" (partial)" if w.partial else "")
            row = [w.name, steps, fmt(s.mean), fmt(s.median)]
            if per_field:
                row += [fmt(v) for v in s.per_field_median]
            row.append(f"{s.n_diverged}/{self.n_trajectories}")
            lines.append("| " + " | ".join(row) + " |")
        if self.divergences:
            lines.append("")
            lines.append(f"Diverged: {len(self.divergences)} of {self.n_trajectories} trajectories")
            for d in self.divergences:
                lines.append(f"- trajectory {d.trajectory}: step {d.step} ({d.reason})")
        return "\n".join(lines) + "\n"


def _model_inputs(fields, constants):
    if constants is None:
        return fields
    return {"fields": fields, "constants": constants}


def _step_predict(predict_fn, fields, constants, n_steps):
    """Rolls a one-call-per-step predictor forward in Python."""
    t_in = fields.shape[1]
    window = fields
    outputs = []
    produced = 0
    while produced < n_steps:
        y = _to_numpy(predict_fn(_model_inputs(window, constants)))
        if y.ndim == window.ndim - 1:
            y = y[:, None]
        if (
            y.ndim != window.ndim
            or y.shape[0] != window.shape[0]
            or y.shape[2:] != window.shape[2:]
        ):
            raise ValueError(
                "The predictor must return (B, k, H, W, C) (or (B, H, W, C)) matching its input "
                f"window {window.shape}; got {y.shape}."
            )
        y = y.astype(window.dtype, copy=False)
        outputs.append(y)
        produced += y.shape[1]
        if produced < n_steps and not np.isfinite(y).all(axis=tuple(range(1, y.ndim))).any():
            # Every sample is already non-finite: its remaining steps score inf whatever
            # they hold, so stop calling the model.
            rest = (y.shape[0], n_steps - produced) + y.shape[2:]
            outputs.append(np.full(rest, np.nan, dtype=y.dtype))
            break
        window = np.concatenate([window, y], axis=1)[:, -t_in:]
    return np.concatenate(outputs, axis=1)[:, :n_steps]


def _predict_rollout(model, fields, constants, n_steps):
    inputs = _model_inputs(fields, constants)
    if hasattr(model, "rollout"):
        pred = _to_numpy(model.rollout(inputs, n_steps))
        expected = (fields.shape[0], n_steps) + fields.shape[2:]
        if pred.shape != expected:
            raise ValueError(
                f"model.rollout(x0, {n_steps}) returned shape {pred.shape}; expected {expected}."
            )
        return pred
    if callable(model):
        return _step_predict(model, fields, constants, n_steps)
    raise TypeError(
        "`model` must have a `rollout(x0, steps)` method or be a callable "
        f"predict(x_window) -> (B, 1, H, W, C); got {type(model).__name__}."
    )


def evaluate_rollout(
    model,
    trajectories,
    n_steps_input,
    n_steps=None,
    *,
    constants=None,
    denormalize: Optional[Callable] = None,
    divergence_threshold: Optional[float] = 10.0,
    windows=None,
    include_partial_windows=True,
    metrics: Sequence[str] = ("vrmse", "nrmse", "mse"),
    field_names: Optional[Sequence[str]] = None,
    batch_size: Optional[int] = 8,
    return_predictions=False,
):
    """Autoregressive rollout of test trajectories, scored with The Well's metrics.

    For each trajectory ``(T, H, W, C)``, the first ``n_steps_input`` frames
    are the initial window; the model predicts the next ``n_steps`` frames
    autoregressively. Every predicted step is scored against the true frame,
    per field, in physical units when ``denormalize`` is given (applied to
    predictions and targets alike). Scores are averaged over each rollout
    window (see :func:`~keras_wavelit.evaluation.rollout_windows`) and the
    mean and the median over trajectories are reported, as in the paper's
    section 4 and Appendix J (which ranks models by the median VRMSE).

    A trajectory diverges at the first step whose prediction holds NaN/Inf,
    whose VRMSE is not finite, or whose field-mean VRMSE exceeds
    ``divergence_threshold``. Divergence is reported, never raised; a
    non-finite step scores ``inf`` so that means expose it and medians stay
    robust.

    Args:
        model: an object with ``rollout(x0, steps) -> (B, steps, H, W, C)``
            (e.g. ``keras_wavelit.models.WaveLiT``), or a callable
            ``predict(x_window) -> (B, k, H, W, C)`` (``k >= 1``; a plain
            Keras model predicting one step qualifies) that is stepped here,
            the window dropping its oldest ``k`` frames each call.
        trajectories: array ``(N, T, H, W, C)`` in the model's units
            (normalized if the model was trained on normalized data).
        n_steps_input: int, frames in the model's input window.
        n_steps: int, steps to predict. Defaults to all remaining frames,
            ``T - n_steps_input``.
        constants: optional constant fields ``(N, H, W, C_const)`` (or
            ``(H, W, C_const)`` shared by all). The model then receives
            ``{"fields": x, "constants": c}``.
        denormalize: optional callable mapping arrays ``(B, steps, H, W, C)``
            to physical units, e.g. ``WellSequence.denormalize``.
        divergence_threshold: float or None. Defaults to 10.0 (VRMSE 1 is
            the error of predicting the spatial mean; 10 is far beyond any
            useful forecast). None: only non-finite values count.
        windows: optional window specs for ``rollout_windows``.
        include_partial_windows: keep windows that the rollout ends inside
            (truncated). Defaults to True.
        metrics: names among ``"vrmse"``, ``"nrmse"``, ``"mse"``,
            ``"relative_l2"``; ``"vrmse"`` is always computed.
        field_names: names of the ``C`` channels. Defaults to ``"0"``, ``"1"``...
        batch_size: trajectories per model call (None: all at once).
            Defaults to 8.
        return_predictions: keep the predictions (in the evaluated units)
            on the result. Defaults to False.

    Returns:
        A :class:`RolloutEvaluation` with ``to_dict()`` and
        ``summary_table()``.

    Example:

    >>> result = evaluate_rollout(model, test_trajectories, n_steps_input=4,
    ...                           denormalize=test_seq.denormalize)
    >>> result.score("6:12")                  # median VRMSE over steps 6..12
    >>> print(result.summary_table())
    """
    trajectories = _to_numpy(trajectories)
    if trajectories.ndim != 5:
        raise ValueError(
            "`trajectories` must be (N, T, H, W, C) (2D fields, channels last); "
            f"got shape {trajectories.shape}."
        )
    if not np.issubdtype(trajectories.dtype, np.floating):
        trajectories = trajectories.astype("float32")
    n_traj, t_total, h, w, c = trajectories.shape
    n_steps_input = int(n_steps_input)
    if not 1 <= n_steps_input < t_total:
        raise ValueError(
            f"`n_steps_input` must be in [1, T - 1] = [1, {t_total - 1}]; got {n_steps_input}."
        )
    max_steps = t_total - n_steps_input
    n_steps = max_steps if n_steps is None else int(n_steps)
    if not 1 <= n_steps <= max_steps:
        raise ValueError(
            f"`n_steps` must be in [1, {max_steps}] for trajectories of {t_total} frames "
            f"with n_steps_input={n_steps_input}; got {n_steps}."
        )
    metric_names = ["vrmse"] + [m for m in metrics if m != "vrmse"]
    unknown = [m for m in metric_names if m not in METRIC_FUNCTIONS]
    if unknown:
        raise ValueError(f"Unknown metrics {unknown}; choose from {sorted(METRIC_FUNCTIONS)}.")
    if field_names is None:
        field_names = [str(i) for i in range(c)]
    field_names = [str(n) for n in field_names]
    if len(field_names) != c:
        raise ValueError(f"{len(field_names)} field_names for {c} channels.")
    if constants is not None:
        constants = _to_numpy(constants).astype(trajectories.dtype, copy=False)
        if constants.ndim == 3:
            constants = np.broadcast_to(constants, (n_traj,) + constants.shape)
        if constants.ndim != 4 or constants.shape[:3] != (n_traj, h, w):
            raise ValueError(
                f"`constants` must be (N, H, W, C_const) = ({n_traj}, {h}, {w}, C_const) "
                f"or (H, W, C_const); got {constants.shape}."
            )
    win = rollout_windows(n_steps, include_partial=include_partial_windows, windows=windows)

    values = {m: np.empty((n_traj, n_steps, c)) for m in metric_names}
    finite_pred = np.empty((n_traj, n_steps), dtype=bool)
    kept = [] if return_predictions else None
    batch_size = n_traj if not batch_size else int(batch_size)
    for start in range(0, n_traj, batch_size):
        sl = slice(start, min(start + batch_size, n_traj))
        x0 = trajectories[sl, :n_steps_input]
        target = trajectories[sl, n_steps_input : n_steps_input + n_steps]
        const = None if constants is None else np.ascontiguousarray(constants[sl])
        pred = _predict_rollout(model, x0, const, n_steps)
        if denormalize is not None:
            pred = _to_numpy(denormalize(pred))
            target = _to_numpy(denormalize(target))
        pred = np.asarray(pred, dtype=np.float64 if pred.dtype == np.float64 else np.float32)
        target = np.asarray(target, dtype=pred.dtype)
        finite_pred[sl] = np.isfinite(pred).all(axis=(2, 3, 4))
        with np.errstate(all="ignore"):
            for m in metric_names:
                values[m][sl] = _to_numpy(METRIC_FUNCTIONS[m](target, pred))
        if kept is not None:
            kept.append(pred)
    for m in metric_names:
        values[m][~np.isfinite(values[m])] = np.inf
        values[m][~finite_pred] = np.inf

    divergences = []
    field_mean = values["vrmse"].mean(axis=-1)  # (N, steps)
    bad_finite = ~finite_pred | ~np.isfinite(field_mean)
    bad = bad_finite.copy()
    if divergence_threshold is not None:
        bad |= field_mean > float(divergence_threshold)
    first_bad = np.full(n_traj, n_steps + 1)
    for i in np.flatnonzero(bad.any(axis=1)):
        j = int(np.argmax(bad[i]))
        first_bad[i] = j + 1
        divergences.append(
            Divergence(
                trajectory=int(i),
                step=j + 1,
                reason="non_finite" if bad_finite[i, j] else "threshold",
                value=_json_float(field_mean[i, j]),
            )
        )

    scores = {}
    for m in metric_names:
        scores[m] = []
        for wnd in win:
            per_field = values[m][:, wnd.slice()].mean(axis=1)  # (N, C)
            per_traj = per_field.mean(axis=1)  # (N,)
            scores[m].append(
                WindowScore(
                    window=wnd,
                    mean=float(per_traj.mean()),
                    median=float(np.median(per_traj)),
                    per_field_mean=[float(v) for v in per_field.mean(axis=0)],
                    per_field_median=[float(v) for v in np.median(per_field, axis=0)],
                    n_diverged=int((first_bad <= wnd.end).sum()),
                )
            )
    return RolloutEvaluation(
        n_trajectories=n_traj,
        n_steps_input=n_steps_input,
        n_steps=n_steps,
        field_names=field_names,
        metric_names=metric_names,
        values=values,
        windows=win,
        scores=scores,
        divergences=divergences,
        divergence_threshold=divergence_threshold,
        predictions=None if kept is None else np.concatenate(kept, axis=0),
    )
