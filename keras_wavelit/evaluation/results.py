"""Results of `evaluate_rollout`: per-window scores, divergences, error growth."""

import dataclasses
from typing import Dict
from typing import List
from typing import Optional

import numpy as np

from keras_wavelit.evaluation._predict import format_number
from keras_wavelit.evaluation._predict import json_float
from keras_wavelit.evaluation.growth import GROWTH_STEPS
from keras_wavelit.evaluation.growth import error_growth
from keras_wavelit.evaluation.windows import RolloutWindow


@dataclasses.dataclass
class Divergence:
    """Where one trajectory's rollout went bad.

    Attributes:
        trajectory: index of the trajectory in the evaluated array.
        step: first bad rollout step, 1-based.
        reason: `"non_finite"` (a NaN/Inf prediction or metric) or
            `"threshold"` (the field-mean VRMSE exceeded the threshold).
        value: field-mean VRMSE at that step (None when not finite).
    """

    trajectory: int
    step: int
    reason: str
    value: Optional[float]

    def to_dict(self):
        """The divergence as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class WindowScore:
    """One metric over one rollout window.

    Each trajectory's score is its metric averaged over the window's steps
    and the fields; `mean` and `median` are taken over trajectories.
    `per_field_*` average over the steps only. A trajectory whose
    predictions are not finite inside the window scores `inf`, so the mean
    is then `inf` while the median stays informative. An undefined window
    (see `rollout_windows`) has None everywhere.

    Attributes:
        window: the `RolloutWindow`.
        mean, median: floats over trajectories, None when undefined.
        per_field_mean, per_field_median: one float (or None) per field.
        n_diverged: trajectories that diverged at or before the window's
            last scored step.
    """

    window: RolloutWindow
    mean: Optional[float]
    median: Optional[float]
    per_field_mean: List[Optional[float]]
    per_field_median: List[Optional[float]]
    n_diverged: int

    @property
    def defined(self):
        """Whether the window has a score."""
        return self.window.defined

    def to_dict(self, field_names=None):
        """JSON-ready dict; non-finite numbers and undefined scores become None."""
        names = field_names or [str(i) for i in range(len(self.per_field_mean))]
        return {
            **self.window.to_dict(),
            "mean": json_float(self.mean),
            "median": json_float(self.median),
            "per_field_mean": {n: json_float(v) for n, v in zip(names, self.per_field_mean)},
            "per_field_median": {n: json_float(v) for n, v in zip(names, self.per_field_median)},
            "n_diverged": int(self.n_diverged),
        }


def window_score(values, window, first_bad):
    """The `WindowScore` of `values` `(N, steps, C)` over `window`."""
    n_fields = values.shape[-1]
    if not window.defined:
        return WindowScore(window, None, None, [None] * n_fields, [None] * n_fields, 0)
    per_field = values[:, window.slice()].mean(axis=1)  # (N, C)
    per_traj = per_field.mean(axis=1)  # (N,)
    return WindowScore(
        window=window,
        mean=float(per_traj.mean()),
        median=float(np.median(per_traj)),
        per_field_mean=[float(v) for v in per_field.mean(axis=0)],
        per_field_median=[float(v) for v in np.median(per_field, axis=0)],
        n_diverged=int((first_bad <= window.end).sum()),
    )


@dataclasses.dataclass
class RolloutEvaluation:
    """Result of `evaluate_rollout`.

    Attributes:
        n_trajectories: number of trajectories evaluated.
        n_steps_input: frames given to the model.
        n_steps: predicted steps per trajectory.
        field_names: one name per channel.
        metric_names: the metrics computed; `"vrmse"` always included.
        values: metric name -> array `(N, n_steps, C)`, per trajectory,
            step and field; not-finite entries are stored as `inf`.
        windows: the `RolloutWindow` list (undefined windows included).
        scores: metric name -> one `WindowScore` per window.
        divergences: one `Divergence` per diverged trajectory.
        divergence_threshold: the VRMSE threshold used (None: off).
        predictions: `(N, n_steps, H, W, C)` in the evaluated units when
            requested with `return_predictions=True`, else None.
        one_step: the `OneStepEvaluation` over all test windows when
            requested with `one_step=True`, else None.
    """

    n_trajectories: int
    n_steps_input: int
    n_steps: int
    field_names: List[str]
    metric_names: List[str]
    values: Dict[str, np.ndarray]
    windows: List[RolloutWindow]
    scores: Dict[str, list]
    divergences: List[Divergence]
    divergence_threshold: Optional[float]
    predictions: Optional[np.ndarray] = None
    one_step: Optional[object] = None

    @property
    def diverged(self):
        """True when any trajectory diverged."""
        return bool(self.divergences)

    @property
    def diverged_trajectories(self):
        """Indices of the diverged trajectories."""
        return [d.trajectory for d in self.divergences]

    def score(self, window_name, metric="vrmse", stat="median"):
        """`stat` (`"mean"`/`"median"` over trajectories) of `metric` over a window.

        Returns None when the window is undefined (the rollout does not
        cover it); raises `KeyError` for a window that was not evaluated.
        """
        if metric not in self.scores:
            raise KeyError(f"Metric {metric!r} not evaluated; have {self.metric_names}.")
        if stat not in ("mean", "median"):
            raise ValueError(f"`stat` must be 'mean' or 'median', got {stat!r}.")
        for s in self.scores[metric]:
            if s.window.name == window_name:
                return getattr(s, stat)
        raise KeyError(f"No window {window_name!r}; evaluated: {[w.name for w in self.windows]}.")

    def per_step(self, metric="vrmse", stat="median"):
        """`(n_steps,)`: field-mean `metric` per step, `stat` over trajectories."""
        per_traj = self.values[metric].mean(axis=-1)  # (N, steps)
        if stat == "median":
            return np.median(per_traj, axis=0)
        if stat == "mean":
            return per_traj.mean(axis=0)
        raise ValueError(f"`stat` must be 'mean' or 'median', got {stat!r}.")

    def error_growth(self, metric="vrmse", stat="median", first_step=None, last_step=None):
        """The `ErrorGrowth` of the `stat` per-step curve of `metric`.

        Defaults: the mean ratio `VRMSE(t+1) / VRMSE(t)` over steps 2-12 and
        the first step at which the median VRMSE exceeds 1.
        """
        return error_growth(
            self.per_step(metric, stat),
            first_step=first_step or GROWTH_STEPS[0],
            last_step=last_step or GROWTH_STEPS[1],
        )

    def to_dict(self, include_values=False):
        """JSON-serializable summary; non-finite numbers become None.

        Args:
            include_values: also include the per-trajectory, per-step,
                per-field arrays (as nested lists).
        """
        growth = self.error_growth()
        out = {
            "n_trajectories": int(self.n_trajectories),
            "n_steps_input": int(self.n_steps_input),
            "n_steps": int(self.n_steps),
            "field_names": list(self.field_names),
            "metrics": list(self.metric_names),
            "window_statistics": "mean and median over trajectories of the window mean",
            "divergence_threshold": json_float(self.divergence_threshold),
            "diverged": self.diverged,
            "divergences": [d.to_dict() for d in self.divergences],
            "windows": {
                m: [s.to_dict(self.field_names) for s in self.scores[m]] for m in self.metric_names
            },
            "error_growth": {"statistic": "median over trajectories", **growth.to_dict()},
            "per_step": {
                m: {
                    "mean": [json_float(v) for v in self.per_step(m, "mean")],
                    "median": [json_float(v) for v in self.per_step(m, "median")],
                }
                for m in self.metric_names
            },
        }
        if self.one_step is not None:
            out["one_step"] = self.one_step.to_dict()
        if include_values:
            out["values"] = {
                m: [[[json_float(v) for v in step] for step in traj] for traj in self.values[m]]
                for m in self.metric_names
            }
        return out

    def summary_table(self, metric="vrmse", per_field=True, precision=4):
        """Markdown: `metric` per window (mean and median over trajectories,
        per-field medians), then the one-step score over all windows (when
        evaluated), the error growth and the divergences."""
        if metric not in self.scores:
            raise KeyError(f"Metric {metric!r} not evaluated; have {self.metric_names}.")
        lines = self._window_rows(metric, per_field, precision)
        lines.append("")
        lines.append(
            "Windows are rollout steps (1-based) from each trajectory's first input "
            f"window; — marks a window the {self.n_steps}-step rollout does not cover."
        )
        if self.one_step is not None:
            lines += ["", self.one_step.describe(metric, precision)]
        lines += [""] + self.error_growth(metric).describe(metric.upper())
        if self.divergences:
            lines.append("")
            lines.append(f"Diverged: {len(self.divergences)} of {self.n_trajectories} trajectories")
            for d in self.divergences:
                lines.append(f"- trajectory {d.trajectory}: step {d.step} ({d.reason})")
        return "\n".join(lines) + "\n"

    def _window_rows(self, metric, per_field, precision):
        header = [
            "window",
            "steps",
            f"{metric} (mean over trajectories)",
            f"{metric} (median over trajectories)",
        ]
        if per_field:
            header += [f"{name} (median)" for name in self.field_names]
        header.append("diverged")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for s in self.scores[metric]:
            w = s.window
            if not w.defined:
                steps = f"{w.start}-{w.nominal_end} (undefined)"
            else:
                steps = f"{w.start}-{w.end}" + (" (partial)" if w.partial else "")
            row = [w.name, steps, format_number(s.mean, precision)]
            row.append(format_number(s.median, precision))
            if per_field:
                row += [format_number(v, precision) for v in s.per_field_median]
            row.append(f"{s.n_diverged}/{self.n_trajectories}" if w.defined else "—")
            lines.append("| " + " | ".join(row) + " |")
        return lines
