"""Autoregressive rollout evaluation with The Well's metrics.

Paper section 4.1, Appendices H and J; `docs/design.md` §2.9.
"""

from typing import Callable
from typing import Optional
from typing import Sequence

import numpy as np

from keras_wavelit.evaluation import _predict
from keras_wavelit.evaluation.one_step import evaluate_one_step
from keras_wavelit.evaluation.results import Divergence
from keras_wavelit.evaluation.results import RolloutEvaluation
from keras_wavelit.evaluation.results import WindowScore
from keras_wavelit.evaluation.results import window_score
from keras_wavelit.evaluation.windows import rollout_windows

# Kept importable from this module, where they used to live.
__all__ = ["Divergence", "RolloutEvaluation", "WindowScore", "evaluate_rollout"]


def _check_n_steps(n_steps, t_total, n_steps_input):
    max_steps = t_total - n_steps_input
    n_steps = max_steps if n_steps is None else int(n_steps)
    if not 1 <= n_steps <= max_steps:
        raise ValueError(
            f"`n_steps` must be in [1, {max_steps}] for trajectories of {t_total} frames "
            f"with n_steps_input={n_steps_input}; got {n_steps}."
        )
    return n_steps


def _roll_out_all(model, trajectories, constants, n_steps_input, n_steps, options):
    """Predictions and scores of every trajectory, in batches."""
    metric_names, denormalize, batch_size, keep, verbose = options
    n_traj, _, _, _, c = trajectories.shape
    values = {m: np.empty((n_traj, n_steps, c)) for m in metric_names}
    finite_pred = np.empty((n_traj, n_steps), dtype=bool)
    kept = []
    progress = _predict.progress_bar(n_traj * n_steps, verbose, unit_name="step")
    batch_size = n_traj if not batch_size else min(int(batch_size), n_traj)
    for start in range(0, n_traj, batch_size):
        sl = slice(start, min(start + batch_size, n_traj))
        x0 = trajectories[sl, :n_steps_input]
        target = trajectories[sl, n_steps_input : n_steps_input + n_steps]
        const = None if constants is None else np.ascontiguousarray(constants[sl])
        pred = _predict.predict_steps(model, x0, const, n_steps, progress, pad_to=batch_size)
        scores, finite_pred[sl], pred = _predict.score(pred, target, metric_names, denormalize)
        for m in metric_names:
            values[m][sl] = scores[m]
        if keep:
            kept.append(pred)
    for m in metric_names:
        values[m][~finite_pred] = np.inf
    return values, finite_pred, (np.concatenate(kept, axis=0) if keep else None)


def _find_divergences(vrmse_values, finite_pred, threshold):
    """The `Divergence` list and each trajectory's first bad step (`n_steps + 1`: none)."""
    n_traj, n_steps = finite_pred.shape
    field_mean = vrmse_values.mean(axis=-1)  # (N, steps)
    bad_finite = ~finite_pred | ~np.isfinite(field_mean)
    bad = bad_finite.copy()
    if threshold is not None:
        bad |= field_mean > float(threshold)
    first_bad = np.full(n_traj, n_steps + 1)
    divergences = []
    for i in np.flatnonzero(bad.any(axis=1)):
        j = int(np.argmax(bad[i]))
        first_bad[i] = j + 1
        reason = "non_finite" if bad_finite[i, j] else "threshold"
        value = _predict.json_float(field_mean[i, j])
        divergences.append(Divergence(trajectory=int(i), step=j + 1, reason=reason, value=value))
    return divergences, first_bad


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
    include_partial_windows=False,
    metrics: Sequence[str] = ("vrmse", "nrmse", "mse"),
    field_names: Optional[Sequence[str]] = None,
    batch_size: Optional[int] = 8,
    return_predictions=False,
    one_step=False,
    verbose=1,
):
    """Autoregressive rollout of test trajectories, scored with The Well's metrics.

    For each trajectory `(T, H, W, C)`, the first `n_steps_input` frames are
    the initial window; the model predicts the next `n_steps` frames
    autoregressively. Every predicted step is scored against the true frame,
    per field, in physical units when `denormalize` is given (applied to
    predictions and targets alike). Scores are averaged over each rollout
    window (see `rollout_windows`) and the mean and the median over
    trajectories are reported; the paper (section 4.1, Appendix J) ranks
    models by the median. A window the rollout does not cover to its last
    step is undefined ("—", None) unless `include_partial_windows=True`.

    Next to the windows, `result.error_growth()` gives the mean ratio
    `VRMSE(t+1) / VRMSE(t)` over steps 2-12 and the first step at which the
    median VRMSE exceeds 1. With `one_step=True` the result also holds The
    Well's one-step score, the mean over every test window
    (`evaluate_one_step`), which differs from the `1:1` window (the first
    rollout step of each trajectory, median over trajectories).

    A trajectory diverges at the first step whose prediction holds NaN/Inf,
    whose VRMSE is not finite, or whose field-mean VRMSE exceeds
    `divergence_threshold`. Divergence is reported, never raised; a
    non-finite step scores `inf` so that means expose it and medians stay
    robust.

    Args:
        model: an object with `rollout(x0, steps) -> (B, steps, H, W, C)`
            (e.g. `keras_wavelit.models.WaveLiT`), or a callable
            `predict(x_window) -> (B, k, H, W, C)` (`k >= 1`; a plain
            Keras model predicting one step qualifies) that is stepped here,
            the window dropping its oldest `k` frames each call.
        trajectories: array `(N, T, H, W, C)` in the model's units
            (normalized if the model was trained on normalized data).
        n_steps_input: int, frames in the model's input window.
        n_steps: int, steps to predict. Defaults to all remaining frames,
            `T - n_steps_input`.
        constants: optional constant fields `(N, H, W, C_const)` (or
            `(H, W, C_const)` shared by all). The model then receives
            `{"fields": x, "constants": c}`.
        denormalize: optional callable mapping arrays `(B, steps, H, W, C)`
            to physical units, e.g. `WellSequence.denormalize`.
        divergence_threshold: float or None. Defaults to 10.0 (VRMSE 1 is
            the error of predicting the spatial mean; 10 is far beyond any
            useful forecast). None: only non-finite values count.
        windows: optional window specs for `rollout_windows`.
        include_partial_windows: score windows that the rollout ends inside
            over the steps it has (marked partial) instead of reporting them
            undefined. Defaults to False.
        metrics: names among `"vrmse"`, `"nrmse"`, `"mse"`,
            `"relative_l2"`; `"vrmse"` is always computed.
        field_names: names of the `C` channels. Defaults to `"0"`, `"1"`...
        batch_size: trajectories per model call (None: all at once).
            Defaults to 8. A smaller last batch is padded to this size (and
            the padding dropped), so a compiled model compiles once.
        return_predictions: keep the predictions (in the evaluated units)
            on the result. Defaults to False.
        one_step: also compute The Well's one-step score over all windows.
            Defaults to False.
        verbose: 0 (silent) or 1 (a progress bar over trajectories and
            steps). Defaults to 1.

    Returns:
        A `RolloutEvaluation` with `score()`, `per_step()`,
        `error_growth()`, `to_dict()` and `summary_table()`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.evaluation import evaluate_rollout

    t = np.arange(20)[None, :, None, None, None]
    x = np.arange(16)[None, None, None, :, None]
    waves = np.sin(2 * np.pi * (x - t) / 16) * np.ones((2, 1, 8, 1, 1))  # (2, 20, 8, 16, 1)
    persistence = lambda window: window[:, -1:]
    result = evaluate_rollout(persistence, waves, n_steps_input=2, verbose=0)
    assert result.score("13:30") is None  # 18 steps do not cover 13:30
    assert result.score("6:12") > result.score("1:1")
    print(result.summary_table())
    ```
    """
    trajectories, n_steps_input = _predict.check_trajectories(trajectories, n_steps_input)
    n_traj, t_total, _, _, c = trajectories.shape
    n_steps = _check_n_steps(n_steps, t_total, n_steps_input)
    metric_names = _predict.check_metric_names(metrics)
    field_names = _predict.check_field_names(field_names, c)
    constants = _predict.check_constants(constants, trajectories)
    win = rollout_windows(n_steps, include_partial=include_partial_windows, windows=windows)

    options = (metric_names, denormalize, batch_size, return_predictions, verbose)
    values, finite_pred, predictions = _roll_out_all(
        model, trajectories, constants, n_steps_input, n_steps, options
    )
    divergences, first_bad = _find_divergences(values["vrmse"], finite_pred, divergence_threshold)
    scores = {m: [window_score(values[m], w, first_bad) for w in win] for m in metric_names}
    one_step_result = None
    if one_step:
        one_step_result = evaluate_one_step(
            model,
            trajectories,
            n_steps_input,
            constants=constants,
            denormalize=denormalize,
            metrics=metric_names,
            field_names=field_names,
            verbose=verbose,
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
        predictions=predictions,
        one_step=one_step_result,
    )
