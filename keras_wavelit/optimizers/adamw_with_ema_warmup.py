"""AdamW whose moving average of the weights warms up (paper Appendix E, `docs/design.md` §2.6)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_wavelit")
class AdamWWithEMAWarmup(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with a warm-up of the weights' EMA.

    The paper trains with an exponential moving average (EMA) of the weights
    (Appendix E). Keras's EMA uses a fixed momentum `m` from the first
    step, so after `t` steps the average still holds a share `m^t` of the
    weights of the first step, i.e. of the random initialisation: 13% after
    200 steps at `m = 0.99`. For the paper's 200k-step runs that share is
    zero; for short runs it dominates the error of the averaged model.

    Here the momentum at step `t` (0-based) is
    `min(ema_momentum, (1 + t) / (ema_warmup + t))` (the `num_updates`
    rule of `tf.train.ExponentialMovingAverage`), so the average starts
    as the current weights, covers about `t / ema_warmup` of the steps
    so far and reaches `ema_momentum` after
    `(ema_warmup * m - 1) / (1 - m)` steps (881 steps for the defaults).
    From then on it is exactly Keras's EMA. `ema_warmup=None` (or 0) turns
    the warm-up off.

    Args:
        ema_warmup: float > 1 or None. Defaults to 10.
        *args, **kwargs: `keras.optimizers.AdamW` arguments (`use_ema`,
            `ema_momentum`, `learning_rate`, ...).

    Example:

    ``python
    from keras_wavelit.optimizers import AdamWWithEMAWarmup

    optimizer = AdamWWithEMAWarmup(learning_rate=1e-3, use_ema=True, ema_momentum=0.99)
    assert optimizer.ema_warmup == 10.0
    ``
    """

    def __init__(self, *args, ema_warmup=10.0, **kwargs):
        super().__init__(*args, **kwargs)
        if ema_warmup is not None and ema_warmup != 0 and ema_warmup <= 1:
            raise ValueError(f"`ema_warmup` must be > 1, 0 or None; got {ema_warmup}.")
        self.ema_warmup = ema_warmup

    def _update_model_variables_moving_average(self, trainable_variables):
        # Overrides the hook that every Keras backend's optimizer calls after
        # the update step, with the step-dependent momentum described above.
        if not self.use_ema:
            return
        if not self.ema_warmup:
            return super()._update_model_variables_moving_average(trainable_variables)
        step = ops.cast(self.iterations, "float32")
        momentum = ops.minimum(
            ops.cast(self.ema_momentum, "float32"), (1.0 + step) / (self.ema_warmup + step)
        )
        # Step 0: the average becomes the weights, as in Keras.
        momentum = ops.where(ops.equal(self.iterations, 0), 0.0, momentum)
        for var, average in zip(trainable_variables, self._model_variables_moving_average):
            if average is not None:
                m = ops.cast(momentum, var.dtype)
                average.assign(m * average + (1 - m) * var)

    def get_config(self):
        config = super().get_config()
        config["ema_warmup"] = self.ema_warmup
        return config
