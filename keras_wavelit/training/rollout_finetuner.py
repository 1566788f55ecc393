"""Rollout finetuning with Keras's own `fit` (paper Appendix G, `docs/design.md` §2.7)."""

import warnings

import keras
from keras import ops

from keras_wavelit.inputs import join_inputs
from keras_wavelit.inputs import shift_window
from keras_wavelit.inputs import split_inputs
from keras_wavelit.layers.relative_noise import add_relative_noise
from keras_wavelit.layers.relative_noise import check_noise_scale
from keras_wavelit.losses.wavelet_loss import WaveletLoss
from keras_wavelit.models.recipe import paper_optimizer
from keras_wavelit.models.recipe import steps_per_epoch_of
from keras_wavelit.optimizers.warmup_exponential_decay import WarmupExponentialDecay
from keras_wavelit.training.interrupt import ctrl_c_stays_an_interrupt

METHODS = ("scheduled_sampling", "bptt", "causal_bptt", "pushforward")
#: Scheduled-sampling length when the number of steps of `fit` is unknown.
FALLBACK_SCHEDULE_STEPS = 1000


def default_step_loss(model):
    """`WaveletLoss(1, 1)` with the model's own wavelet, levels and boundary."""
    return WaveletLoss(
        1.0,
        1.0,
        wavelet=getattr(model, "wavelet", "bior2.2"),
        wavelet_levels=getattr(model, "wavelet_levels", 1),
        boundary=getattr(model, "boundary", "reflect"),
    )


def _roll(x, shift, axis):
    """Periodic shift by a (possibly traced) integer, via gathering."""
    n = x.shape[axis]
    idx = ops.mod(ops.arange(n, dtype="int32") - ops.cast(shift, "int32"), n)
    return ops.take(x, idx, axis=axis)


@keras.saving.register_keras_serializable(package="keras_wavelit")
class RolloutFinetuner(keras.Model):
    """Trains a one-step model on its own autoregressive rollouts.

    Data are `(x, y)` with `x` the first `T_in` frames
    `(B, T_in, H, W, C)` (or `{"fields": x, "constants": c}`) and `y`
    the next `k = unroll` frames `(B, k, H, W, C)` (for example
    `WellSequence(..., n_steps_output=k)`). The unroll is written with
    `keras.ops` inside `compute_loss`, so Keras's `fit` trains it on
    JAX, TensorFlow and PyTorch alike. With `L_t` the step loss (default
    :class:`WaveletLoss`) of step `t = 1..k`:

    - `"scheduled_sampling"`: the input of step `t > 1` is, per sample,
      the true frame with probability `p` and the model's prediction
      otherwise; `p` falls linearly from 1 to 0 over
      `schedule_steps` optimizer steps, by default over the whole run
      (all the steps `fit` will run). Gradients flow through the unroll
      (BPTT). Loss `mean_t L_t`.
    - `"bptt"`: fully autoregressive, loss `mean_t L_t`, gradients
      through every step.
    - `"causal_bptt"`: loss `mean_t w_t L_t` with
      `w_t = exp(-eps * sum_{s<t} stop_gradient(L_s))`; `eps = 0` is
      BPTT.
    - `"pushforward"`: unroll with `stop_gradient` on every intermediate
      state; the loss is `L_k` of the final step only.

    Optional augmentations for long-rollout stability (both off by default,
    paper section 5): Gaussian noise on the initial window (`noise_std`, in
    normalized units; with `relative_noise=True` in units of each sample's
    and field's RMS one-step change, the rule of
    `WaveLiT.compile(input_noise=...)`) and a random periodic shift of the
    whole sample (`jitter=True`; periodic data only). A wrapped `WaveLiT`
    compiled with `input_noise > 0` also perturbs every window it is fed
    during the unroll (its calls run with `training=True`).

    A multi-step objective from the start: with `warmup_steps` (e.g.
    `"auto"`) and a peak `learning_rate` of a fresh run (e.g. 1e-3), the
    finetuner trains an untrained model with the paper's recipe on the
    unrolled objective directly.

    Args:
        model: the one-step model, e.g. a trained
            :class:`~keras_wavelit.models.WaveLiT`; its weights are updated.
        method: one of `METHODS`. Defaults to `"scheduled_sampling"`.
        unroll: int `k >= 1`, number of unrolled steps.
        causal_eps: float `eps >= 0` of CausalBPTT. Defaults to 1.0.
        schedule_steps: int or None, optimizer steps over which scheduled
            sampling anneals the teacher-forcing rate from 1 to 0. None
            (default): the whole run; every `fit` sets it to the steps
            already taken plus the steps it will run (1000 when `fit`
            cannot know its length, e.g. a generator without
            `steps_per_epoch`).
        step_loss: per-step loss (a `keras.losses.Loss`); defaults to
            `WaveletLoss(1, 1)` with the model's own `wavelet`,
            `wavelet_levels` and `boundary`.
        noise_std: float >= 0, standard deviation of the input noise.
        relative_noise: bool, measure `noise_std` in units of the RMS
            one-step change of each sample's window, per field
            (`keras_wavelit.layers.relative_noise.one_step_change_rms`; the
            spatial standard deviation for a one-frame window) instead of
            normalized units. Defaults to False.
        jitter: bool, random periodic shifts of samples.
        seed: int seed of the sampling and augmentation randomness.
        auto_compile: bool, compile with the paper's optimizer recipe
            (AdamW, clipping, EMA) at `learning_rate` without warm-up.
        learning_rate: float, the (peak) learning rate. Defaults to 1e-4.
        warmup_steps: int >= 0 or `"auto"`, linear warm-up of the learning
            rate with `auto_compile` (`"auto"`: a tenth of the steps of the
            first `fit`, at most 5,000, as `WaveLiT.compile`). Defaults to
            0 (finetuning a trained model needs none).
        **kwargs: `keras.Model` keyword arguments.

    Example:

    ``python
    import numpy as np
    import keras_wavelit as kw

    base = kw.models.WaveLiT(dim=16, depth=1, num_heads=2)
    x = np.random.rand(4, 2, 16, 16, 3).astype("float32")
    y = np.random.rand(4, 2, 16, 16, 3).astype("float32")  # the next 2 steps
    finetuner = kw.training.RolloutFinetuner(base, unroll=2)
    finetuner.fit(x, y, batch_size=2, epochs=1, verbose=0)  # trains `base` in place
    assert int(finetuner.schedule_length) == 2  # annealed over the whole run
    ``
    """

    def __init__(
        self,
        model,
        method="scheduled_sampling",
        unroll=4,
        causal_eps=1.0,
        schedule_steps=None,
        step_loss=None,
        noise_std=0.0,
        jitter=False,
        seed=None,
        auto_compile=True,
        learning_rate=1e-4,
        relative_noise=False,
        warmup_steps=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(model, dict):
            model = keras.saving.deserialize_keras_object(model)
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}, got {method!r}.")
        if int(unroll) != unroll or unroll < 1:
            raise ValueError(f"`unroll` must be an integer >= 1, got {unroll!r}.")
        if causal_eps < 0:
            raise ValueError(f"`causal_eps` must be >= 0, got {causal_eps}.")
        if schedule_steps is not None and (
            int(schedule_steps) != schedule_steps or schedule_steps < 1
        ):
            raise ValueError(
                f"`schedule_steps` must be an integer >= 1 or None, got {schedule_steps!r}."
            )
        check_noise_scale("RolloutFinetuner", "noise_std", noise_std)
        if warmup_steps != "auto" and (
            isinstance(warmup_steps, (str, bool)) or int(warmup_steps) != warmup_steps
        ):
            raise ValueError(
                f"`warmup_steps` must be an integer >= 0 or 'auto', got {warmup_steps!r}."
            )
        if isinstance(step_loss, dict):
            step_loss = keras.saving.deserialize_keras_object(step_loss)
        self.model = model
        self.method = method
        self.unroll = int(unroll)
        self.causal_eps = float(causal_eps)
        self.schedule_steps = None if schedule_steps is None else int(schedule_steps)
        self.step_loss = step_loss if step_loss is not None else default_step_loss(model)
        self.noise_std = float(noise_std)
        self.relative_noise = bool(relative_noise)
        self.warmup_steps = warmup_steps if warmup_steps == "auto" else int(warmup_steps)
        self.jitter = bool(jitter)
        self.seed = seed
        self.auto_compile = auto_compile
        self.learning_rate = learning_rate
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.finetune_step = keras.Variable(0, dtype="int32", trainable=False, name="finetune_step")
        # A variable (not a Python number) so that each `fit` can set it
        # without retracing the compiled train step.
        self.schedule_length = keras.Variable(
            self.schedule_steps or FALLBACK_SCHEDULE_STEPS,
            dtype="int32",
            trainable=False,
            name="schedule_length",
        )
        self.teacher_forcing_tracker = keras.metrics.Mean(name="teacher_forcing")
        self.final_step_tracker = keras.metrics.Mean(name="final_step_loss")
        if auto_compile:
            self.compile(
                optimizer=paper_optimizer(
                    learning_rate=learning_rate, warmup_steps=self.warmup_steps
                )
            )

    # -- forward ----------------------------------------------------------
    def call(self, inputs, training=None):
        return self.model(inputs, training=training)

    def teacher_forcing_rate(self, step=None):
        """Scheduled-sampling probability of feeding the true frame."""
        step = self.finetune_step if step is None else step
        length = ops.maximum(ops.cast(self.schedule_length, "float32"), 1.0)
        frac = ops.cast(step, "float32") / length
        return ops.clip(1.0 - frac, 0.0, 1.0)

    def _augment(self, fields, constants, y):
        if self.jitter:
            h, w = fields.shape[2], fields.shape[3]
            sh = keras.random.randint((), 0, h, seed=self.seed_generator)
            sw = keras.random.randint((), 0, w, seed=self.seed_generator)
            fields = _roll(_roll(fields, sh, 2), sw, 3)
            y = _roll(_roll(y, sh, 2), sw, 3)
            if constants is not None:
                constants = _roll(_roll(constants, sh, 1), sw, 2)
        if self.noise_std > 0 and self.relative_noise:
            fields = add_relative_noise(fields, self.noise_std, seed=self.seed_generator)
        elif self.noise_std > 0:
            noise = keras.random.normal(
                ops.shape(fields),
                stddev=self.noise_std,
                seed=self.seed_generator,
                dtype=fields.dtype,
            )
            fields = fields + noise
        return fields, constants, y

    def unrolled_losses(self, x, y, first_prediction=None, training=False):
        """Per-step losses `(k,)` and predictions of one unrolled batch.

        Returns:
            `(losses, predictions, teacher_forcing_rate)` where `losses`
            is a list of `k` scalars and `predictions` a list of `k`
            tensors `(B, 1, H, W, C)`.
        """
        fields, constants = split_inputs(x, owner="RolloutFinetuner")
        fields = ops.convert_to_tensor(fields)
        y = ops.convert_to_tensor(y)
        k = self.unroll
        if y.shape[1] is not None and y.shape[1] < k:
            raise ValueError(
                f"RolloutFinetuner(unroll={k}) needs targets with at least {k} "
                f"steps; got y of shape {tuple(y.shape)}. Use a sequence with "
                f"n_steps_output={k}."
            )
        augmented = training and (self.jitter or self.noise_std > 0)
        if augmented:
            fields, constants, y = self._augment(fields, constants, y)
            first_prediction = None
        rate = self.teacher_forcing_rate()
        window = fields
        losses, preds = [], []
        for t in range(k):
            if t == 0 and first_prediction is not None:
                pred = first_prediction
            else:
                pred = self.model(join_inputs(window, constants), training=training)
            target = y[:, t : t + 1]
            losses.append(self.step_loss(target, pred))
            preds.append(pred)
            if t == k - 1:
                break
            nxt = pred
            if self.method == "pushforward":
                nxt = ops.stop_gradient(pred)
            elif self.method == "scheduled_sampling" and training:
                coin = keras.random.uniform(
                    (ops.shape(pred)[0], 1, 1, 1, 1), seed=self.seed_generator
                )
                use_truth = ops.cast(coin < rate, pred.dtype)
                nxt = use_truth * ops.cast(target, pred.dtype) + (1.0 - use_truth) * pred
            window = shift_window(window, nxt)
        return losses, preds, rate

    def combine_losses(self, losses):
        """The method's training objective from the per-step losses."""
        k = len(losses)
        if self.method == "pushforward":
            return losses[-1]
        if self.method == "causal_bptt":
            total, acc = 0.0, 0.0
            for step_loss in losses:
                weight = ops.exp(-self.causal_eps * acc)
                total = total + weight * step_loss
                acc = acc + ops.stop_gradient(step_loss)
            return total / k
        return ops.sum(ops.stack(losses)) / k

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The method's objective over the unroll (see the class docstring)."""
        losses, _, rate = self.unrolled_losses(x, y, first_prediction=y_pred, training=training)
        loss = self.combine_losses(losses)
        if training:
            self.finetune_step.assign(self.finetune_step + 1)
        self.teacher_forcing_tracker.update_state(
            rate if self.method == "scheduled_sampling" else 0.0
        )
        self.final_step_tracker.update_state(losses[-1])
        loss = ops.cast(loss, "float32")
        # Losses of sublayers (regularizers) count too.
        if self.losses:
            loss = loss + ops.sum(ops.stack([ops.cast(l, "float32") for l in self.losses]))
        return loss

    @property
    def metrics(self):
        base = super().metrics
        return base + [self.teacher_forcing_tracker, self.final_step_tracker]

    def rollout(self, x0, steps, batch_size=None):
        """Autoregressive rollout of the wrapped model (see `WaveLiT.rollout`)."""
        return self.model.rollout(x0, steps, batch_size=batch_size)

    def _resolve_warmup(self, x, batch_size, epochs, initial_epoch, steps, split):
        schedule = getattr(getattr(self, "optimizer", None), "_learning_rate", None)
        if not isinstance(schedule, WarmupExponentialDecay) or not schedule.is_adaptive:
            return
        steps = steps or steps_per_epoch_of(x, batch_size, split)
        total = None if steps is None else steps * max(int(epochs) - int(initial_epoch), 1)
        schedule.resolve_warmup(total)

    def _resolve_schedule_length(self, x, batch_size, epochs, initial_epoch, steps, split):
        if self.schedule_steps is not None:
            return
        steps = steps or steps_per_epoch_of(x, batch_size, split)
        if steps is None:
            warnings.warn(
                "RolloutFinetuner: the number of steps of this `fit` is unknown (pass "
                f"`steps_per_epoch`); scheduled sampling anneals over {FALLBACK_SCHEDULE_STEPS} "
                "steps.",
                UserWarning,
                stacklevel=3,
            )
            length = FALLBACK_SCHEDULE_STEPS
        else:
            done = int(ops.convert_to_numpy(self.finetune_step))
            length = done + steps * max(int(epochs) - int(initial_epoch), 1)
        self.schedule_length.assign(length)

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        *args,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_split=0.0,
        **kwargs,
    ):
        """`keras.Model.fit`; with `schedule_steps=None` the teacher-forcing
        schedule first spans the steps taken so far plus those of this call,
        and a `warmup_steps="auto"` warm-up is fixed to a tenth of them."""
        self._resolve_warmup(
            x, batch_size, epochs, initial_epoch, steps_per_epoch, validation_split
        )
        self._resolve_schedule_length(
            x, batch_size, epochs, initial_epoch, steps_per_epoch, validation_split
        )
        with ctrl_c_stays_an_interrupt(self):
            history = super().fit(
                x,
                y,
                batch_size,
                epochs,
                *args,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch,
                validation_split=validation_split,
                **kwargs,
            )
        detach = getattr(self.model, "_detach_weight_buffers", None)
        if detach is not None:
            detach()
        return history

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "model": keras.saving.serialize_keras_object(self.model),
                "method": self.method,
                "unroll": self.unroll,
                "causal_eps": self.causal_eps,
                "schedule_steps": self.schedule_steps,
                "step_loss": keras.saving.serialize_keras_object(self.step_loss),
                "noise_std": self.noise_std,
                "jitter": self.jitter,
                "seed": self.seed,
                "auto_compile": self.auto_compile,
                "learning_rate": self.learning_rate,
                "relative_noise": self.relative_noise,
                "warmup_steps": self.warmup_steps,
            }
        )
        return config
