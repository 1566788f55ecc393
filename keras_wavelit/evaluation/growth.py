"""How fast a rollout's error grows (paper Appendix H; `docs/design.md` §2.9)."""

import dataclasses
import math
from typing import Optional

import numpy as np

#: Steps (1-based, inclusive) whose consecutive ratios define the growth rate.
GROWTH_STEPS = (2, 12)


def _json_float(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclasses.dataclass(frozen=True)
class ErrorGrowth:
    """The growth of a per-step error curve.

    Appendix H of the paper bounds the rollout error by `e_{t+1} <= L e_t +
    delta`: once the error dominates, it grows by a factor close to the
    local Lipschitz constant `L` per step. `mean_ratio` estimates that factor
    as the mean of `error(t+1) / error(t)` over consecutive steps between
    `first_step` and `last_step`; above 1 the error grows geometrically.

    Attributes:
        mean_ratio: float, `nan` when the rollout has fewer than two steps
            in the range or the curve is zero there; `inf` when it diverged.
        first_step, last_step: the steps used (1-based, inclusive);
            `last_step` is cut to the rollout's length.
        crossing_step: first step whose error exceeds `threshold` (a
            non-finite error counts), None if none does.
        threshold: float, 1.0 for VRMSE (the error of predicting the
            spatial mean).
        n_steps: length of the curve.
    """

    mean_ratio: float
    first_step: int
    last_step: int
    crossing_step: Optional[int]
    threshold: float
    n_steps: int

    def to_dict(self):
        """JSON-ready dict; a non-finite ratio becomes None."""
        return {
            "mean_ratio": _json_float(self.mean_ratio),
            "ratio_steps": [self.first_step, self.last_step],
            "crossing_step": self.crossing_step,
            "threshold": float(self.threshold),
        }

    def describe(self, metric="VRMSE", statistic="median over trajectories"):
        """Two Markdown lines for reports."""
        ratio = self.mean_ratio
        ratio_text = "—" if math.isnan(ratio) else ("inf" if math.isinf(ratio) else f"{ratio:.3f}")
        if self.crossing_step is None:
            crossing = f"never within {self.n_steps} steps"
        else:
            crossing = f"at step {self.crossing_step}"
        return [
            f"- Error growth ({statistic}): mean {metric}(t+1)/{metric}(t) over steps "
            f"{self.first_step}-{self.last_step}: {ratio_text}",
            f"- {metric} first exceeds {self.threshold:g} ({statistic}): {crossing}",
        ]


def error_growth(per_step, first_step=GROWTH_STEPS[0], last_step=GROWTH_STEPS[1], threshold=1.0):
    """Mean step-to-step growth ratio and threshold crossing of an error curve.

    Args:
        per_step: array `(n_steps,)`, the error at rollout steps `1 ..
            n_steps` (e.g. `RolloutEvaluation.per_step("vrmse")`).
        first_step: int >= 1, first step of the ratio range. Defaults to 2.
        last_step: int > `first_step`, last step of the ratio range (cut to
            the curve's length). Defaults to 12.
        threshold: float, the level whose first crossing is reported.
            Defaults to 1.0.

    Returns:
        An `ErrorGrowth`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.evaluation import error_growth

    curve = 0.1 * 1.5 ** np.arange(20)  # grows by 1.5 per step
    growth = error_growth(curve)
    assert abs(growth.mean_ratio - 1.5) < 1e-9
    assert growth.crossing_step == 7  # 0.1 * 1.5**6 = 1.14
    ```
    """
    curve = np.asarray(per_step, dtype=np.float64).reshape(-1)
    first_step, last_step = int(first_step), int(last_step)
    if first_step < 1 or last_step <= first_step:
        raise ValueError(
            "`first_step` must be >= 1 and `last_step` > `first_step`; got "
            f"first_step={first_step}, last_step={last_step}."
        )
    n = curve.shape[0]
    if n < 1:
        raise ValueError("`per_step` is empty: the rollout has no steps.")
    last = min(last_step, n)
    with np.errstate(all="ignore"):
        if last > first_step and not np.isfinite(curve[first_step - 1 : last]).all():
            mean_ratio = float("inf")  # the rollout diverged inside the range
        elif last > first_step:
            ratios = curve[first_step:last] / curve[first_step - 1 : last - 1]
            mean_ratio = float(np.mean(ratios))
        else:
            mean_ratio = float("nan")
        above = ~(curve <= threshold)  # NaN and inf count as above
    crossing = int(np.argmax(above)) + 1 if above.any() else None
    return ErrorGrowth(mean_ratio, first_step, last, crossing, float(threshold), n)
