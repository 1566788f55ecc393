"""The Well's one-step score: the mean over every test window (`docs/design.md` §2.9)."""

import dataclasses
from typing import Callable
from typing import Dict
from typing import List
from typing import Optional
from typing import Sequence

import numpy as np

from keras_wavelit.evaluation import _predict
from keras_wavelit.evaluation._predict import format_number
from keras_wavelit.evaluation._predict import json_float


@dataclasses.dataclass
class OneStepEvaluation:
    """Result of `evaluate_one_step`.

    Attributes:
        n_windows: number of test windows scored (every start time of every
            trajectory).
        field_names: one name per channel.
        metric_names: the metrics computed.
        values: metric name -> `(n_windows, C)`, non-finite entries `inf`.
    """

    n_windows: int
    field_names: List[str]
    metric_names: List[str]
    values: Dict[str, np.ndarray]

    def mean(self, metric="vrmse"):
        """The Well's one-step score: `metric` averaged over windows and fields."""
        return float(self.values[metric].mean())

    def median(self, metric="vrmse"):
        """Median over windows of the field-mean `metric`."""
        return float(np.median(self.values[metric].mean(axis=-1)))

    def per_field_mean(self, metric="vrmse"):
        """One mean over windows per field."""
        return [float(v) for v in self.values[metric].mean(axis=0)]

    def to_dict(self):
        """JSON-ready dict; non-finite numbers become None."""
        out = {"statistic": "mean over all test windows", "n_windows": int(self.n_windows)}
        for m in self.metric_names:
            out[m] = {
                "mean": json_float(self.mean(m)),
                "median": json_float(self.median(m)),
                "per_field_mean": {
                    n: json_float(v) for n, v in zip(self.field_names, self.per_field_mean(m))
                },
            }
        return out

    def describe(self, metric="vrmse", precision=4):
        """One Markdown line."""
        return (
            f"One-step {metric} (The Well's: mean over all {self.n_windows} test windows): "
            f"{format_number(self.mean(metric), precision)}"
        )


def _window_index(n_traj, n_windows_per_traj):
    traj = np.repeat(np.arange(n_traj), n_windows_per_traj)
    start = np.tile(np.arange(n_windows_per_traj), n_traj)
    return traj, start


def evaluate_one_step(
    model,
    trajectories,
    n_steps_input,
    *,
    constants=None,
    denormalize: Optional[Callable] = None,
    metrics: Sequence[str] = ("vrmse", "nrmse", "mse"),
    field_names: Optional[Sequence[str]] = None,
    batch_size: int = 32,
    verbose=1,
):
    """One-step errors over every window of the test trajectories, as The Well scores them.

    Every start time `t` of every trajectory gives one window: the input is
    frames `t .. t + n_steps_input - 1`, the target frame
    `t + n_steps_input`. The Well's one-step number is the metric averaged
    over all those windows (and the fields); `OneStepEvaluation.mean` gives
    it. This differs from the first step of a rollout from each
    trajectory's start (`evaluate_rollout`'s `1:1` window, reported as a
    median over trajectories).

    Args:
        model: an object with `rollout(x0, steps)` or a callable
            `predict(x_window)`, as for `evaluate_rollout`.
        trajectories: array `(N, T, H, W, C)` in the model's units.
        n_steps_input: int, frames in the model's input window.
        constants: optional constant fields `(N, H, W, C_const)` or
            `(H, W, C_const)`.
        denormalize: optional callable mapping `(B, 1, H, W, C)` arrays to
            physical units, applied to predictions and targets.
        metrics: names among `"vrmse"`, `"nrmse"`, `"mse"`,
            `"relative_l2"`; `"vrmse"` is always computed.
        field_names: names of the `C` channels.
        batch_size: windows per model call. Defaults to 32. A smaller last
            batch is padded to this size (and the padding dropped), so a
            compiled model compiles once.
        verbose: 0 (silent) or 1 (a progress bar over windows). Defaults
            to 1.

    Returns:
        A `OneStepEvaluation`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.evaluation import evaluate_one_step

    trajectories = np.random.default_rng(0).normal(size=(2, 6, 8, 8, 1))
    persistence = lambda x: x[:, -1:]  # repeats the last input frame
    result = evaluate_one_step(persistence, trajectories, n_steps_input=2, verbose=0)
    assert result.n_windows == 2 * 4
    assert result.mean("vrmse") > 1  # independent noise: worse than the mean
    ```
    """
    trajectories, n_steps_input = _predict.check_trajectories(trajectories, n_steps_input)
    n_traj, t_total, _, _, c = trajectories.shape
    metric_names = _predict.check_metric_names(metrics)
    field_names = _predict.check_field_names(field_names, c)
    constants = _predict.check_constants(constants, trajectories)
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1, got {batch_size}.")
    per_traj = t_total - n_steps_input
    traj_index, start_index = _window_index(n_traj, per_traj)
    n_windows = traj_index.shape[0]
    values = {m: np.empty((n_windows, c)) for m in metric_names}
    offsets = np.arange(n_steps_input + 1)
    progress = _predict.progress_bar(n_windows, verbose, unit_name="window")
    for begin in range(0, n_windows, batch_size):
        sl = slice(begin, min(begin + batch_size, n_windows))
        frames = trajectories[traj_index[sl, None], start_index[sl, None] + offsets]
        x, target = frames[:, :n_steps_input], frames[:, n_steps_input:]
        const = None if constants is None else np.ascontiguousarray(constants[traj_index[sl]])
        pred = _predict.predict_steps(model, x, const, 1, pad_to=min(batch_size, n_windows))
        scores, _, _ = _predict.score(pred, target, metric_names, denormalize)
        for m in metric_names:
            values[m][sl] = scores[m][:, 0]
        if progress is not None:
            progress.add(x.shape[0])
    return OneStepEvaluation(n_windows, field_names, metric_names, values)
