"""Linear warm-up followed by stepwise-continuous exponential decay."""

import math

import keras
from keras import ops

#: The paper's warm-up length (Appendix E) and the cap of the adaptive one.
PAPER_WARMUP_STEPS = 5000
#: Share of the run's steps that an adaptive (`"auto"`) warm-up takes.
AUTO_WARMUP_FRACTION = 0.1


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WarmupExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The learning-rate schedule of the paper's Appendix E.

    `lr(step) = peak * step / warmup_steps` for `step < warmup_steps`,
    then `peak * decay_rate ** ((step - warmup_steps) / decay_steps)`
    (a decay by `decay_rate` every `decay_steps` steps, applied
    continuously).

    The paper warms up over 5,000 steps, longer than many whole training
    runs on small data. `warmup_steps="auto"` adapts the warm-up to the
    run: `resolve_warmup(total_steps)` (called by `WaveLiT.fit` with the
    number of steps `fit` will run) sets it to
    `min(max_warmup_steps, ceil(warmup_fraction * total_steps))`. Until then
    the schedule warms up over `max_warmup_steps` steps.

    Args:
        peak_learning_rate: float, the learning rate reached at the end of
            the warm-up. Defaults to 1e-3.
        warmup_steps: int >= 0, or `"auto"`. Defaults to 5000 (the
            paper's value).
        decay_rate: float, multiplicative decay per `decay_steps`. Defaults
            to 0.99.
        decay_steps: int. Defaults to 2000.
        warmup_fraction: float in (0, 1], the share of the run an `"auto"`
            warm-up takes. Defaults to 0.1.
        max_warmup_steps: int, the cap of an `"auto"` warm-up. Defaults to
            5000.

    Example:

    ```python
    import keras
    from keras_wavelit.optimizers import WarmupExponentialDecay

    schedule = WarmupExponentialDecay(1e-3, warmup_steps=10)
    assert abs(float(schedule(5)) - 5e-4) < 1e-9
    auto = WarmupExponentialDecay(1e-3, warmup_steps="auto")
    auto.resolve_warmup(total_steps=300)  # 10% of the run: 30 steps
    assert auto.warmup_steps == 30
    optimizer = keras.optimizers.AdamW(learning_rate=schedule)
    ```
    """

    def __init__(
        self,
        peak_learning_rate=1e-3,
        warmup_steps=PAPER_WARMUP_STEPS,
        decay_rate=0.99,
        decay_steps=2000,
        warmup_fraction=AUTO_WARMUP_FRACTION,
        max_warmup_steps=PAPER_WARMUP_STEPS,
    ):
        if warmup_steps != "auto" and (isinstance(warmup_steps, (str, bool)) or warmup_steps < 0):
            raise ValueError(
                f"`warmup_steps` must be an integer >= 0 or 'auto'; got {warmup_steps!r}."
            )
        if decay_steps <= 0:
            raise ValueError(f"`decay_steps` must be > 0; got decay_steps={decay_steps}.")
        if not 0 < warmup_fraction <= 1:
            raise ValueError(f"`warmup_fraction` must be in (0, 1]; got {warmup_fraction}.")
        if max_warmup_steps < 0:
            raise ValueError(f"`max_warmup_steps` must be >= 0; got {max_warmup_steps}.")
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps
        self.warmup_fraction = warmup_fraction
        self.max_warmup_steps = max_warmup_steps

    @property
    def is_adaptive(self):
        """Whether the warm-up still waits for `resolve_warmup`."""
        return self.warmup_steps == "auto"

    def resolve_warmup(self, total_steps):
        """Fixes an `"auto"` warm-up from the number of steps of the run.

        Args:
            total_steps: int, optimizer steps the run will take, or None
                when unknown (the warm-up becomes `max_warmup_steps`).

        Returns:
            The warm-up length now in use.
        """
        if self.is_adaptive:
            if total_steps is None:
                self.warmup_steps = int(self.max_warmup_steps)
            else:
                steps = math.ceil(self.warmup_fraction * int(total_steps))
                self.warmup_steps = int(min(self.max_warmup_steps, max(steps, 1)))
        return self.warmup_steps

    def __call__(self, step):
        warmup_steps = self.max_warmup_steps if self.is_adaptive else self.warmup_steps
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        warm = peak * step / float(max(warmup_steps, 1))
        decayed = peak * ops.power(
            ops.cast(self.decay_rate, "float32"),
            (step - float(warmup_steps)) / float(self.decay_steps),
        )
        if warmup_steps == 0:
            return decayed
        return ops.where(step < float(warmup_steps), warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
            "warmup_fraction": self.warmup_fraction,
            "max_warmup_steps": self.max_warmup_steps,
        }
