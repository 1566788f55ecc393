"""Linear warm-up followed by stepwise-continuous exponential decay."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WarmupExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The learning-rate schedule of the paper's Appendix E.

    ``lr(step) = peak * step / warmup_steps`` for ``step < warmup_steps``,
    then ``peak * decay_rate ** ((step - warmup_steps) / decay_steps)``
    (a decay by ``decay_rate`` every ``decay_steps`` steps, applied
    continuously).

    Args:
        peak_learning_rate: float, the learning rate reached at the end of
            the warm-up. Defaults to 1e-3.
        warmup_steps: int, length of the linear warm-up from 0. Defaults to
            5000 (the paper's value).
        decay_rate: float, multiplicative decay per ``decay_steps``. Defaults
            to 0.99.
        decay_steps: int. Defaults to 2000.

    Example:

    >>> schedule = WarmupExponentialDecay(1e-3, warmup_steps=10)
    >>> float(schedule(5))
    0.0005
    >>> optimizer = keras.optimizers.AdamW(learning_rate=schedule)
    """

    def __init__(
        self,
        peak_learning_rate=1e-3,
        warmup_steps=5000,
        decay_rate=0.99,
        decay_steps=2000,
    ):
        if warmup_steps < 0 or decay_steps <= 0:
            raise ValueError(
                "`warmup_steps` must be >= 0 and `decay_steps` > 0; got "
                f"warmup_steps={warmup_steps}, decay_steps={decay_steps}."
            )
        self.peak_learning_rate = peak_learning_rate
        self.warmup_steps = warmup_steps
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = ops.cast(self.peak_learning_rate, "float32")
        warmup = float(max(self.warmup_steps, 1))
        warm = peak * step / warmup
        decayed = peak * ops.power(
            ops.cast(self.decay_rate, "float32"),
            (step - float(self.warmup_steps)) / float(self.decay_steps),
        )
        if self.warmup_steps == 0:
            return decayed
        return ops.where(step < float(self.warmup_steps), warm, decayed)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_rate": self.decay_rate,
            "decay_steps": self.decay_steps,
        }
