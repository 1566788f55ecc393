"""The paper's training recipe (Appendix E) as `compile` arguments.

`docs/design.md` §2.6. The paper states AdamW, a linear warm-up over 5,000
steps followed by an exponential decay of 0.99 every 2,000 steps, global
gradient clipping at norm 1 and an exponential moving average (EMA) of the
weights for evaluation. Its peak learning rate, weight decay and EMA decay
were lost from the text; the values here (1e-3, 1e-4, 0.99) are this
library's choices.
"""

import math
import warnings

import keras
import numpy as np

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.losses.wavelet_loss import WaveletLoss
from keras_wavelit.optimizers.adamw_with_ema_warmup import AdamWWithEMAWarmup
from keras_wavelit.optimizers.warmup_exponential_decay import PAPER_WARMUP_STEPS
from keras_wavelit.optimizers.warmup_exponential_decay import WarmupExponentialDecay

#: Named learning-rate schedules of `WaveLiT.compile`: `"auto"` warms up over
#: a tenth of the steps `fit` will run (at most 5,000), `"paper"` over 5,000.
SCHEDULES = ("auto", "paper")

#: Named training recipes of `WaveLiT.compile` and `wavelit train --recipe`.
#: `"wavelit"` (the default) is the paper's recipe with the adaptive warm-up
#: and input noise `DEFAULT_INPUT_NOISE` for long-rollout stability;
#: `"paper"` is the paper's plain recipe (5,000 warm-up steps, no noise).
RECIPES = ("wavelit", "paper")

#: Input noise of the `"wavelit"` recipe, in units of each sample's RMS
#: one-step change (`docs/evaluation.md`, long-rollout stability: at 0.1 it
#: lowered the `[6:12]` rollout VRMSE on the three embedded datasets and
#: removed the Gray-Scott divergence at a one-step cost of at most 4%).
DEFAULT_INPUT_NOISE = 0.1


def recipe_defaults(recipe, caller="compile"):
    """The `schedule` and `input_noise` defaults of a named recipe.

    Args:
        recipe: one of `RECIPES`.
        caller: str, the name used in the error message.

    Returns:
        dict with `schedule` (`"auto"` or `"paper"`) and `input_noise`
        (float).

    Example:

    ```python
    from keras_wavelit.models.recipe import recipe_defaults

    assert recipe_defaults("paper") == {"schedule": "paper", "input_noise": 0.0}
    ```
    """
    if recipe == "wavelit":
        return {"schedule": "auto", "input_noise": DEFAULT_INPUT_NOISE}
    if recipe == "paper":
        return {"schedule": "paper", "input_noise": 0.0}
    raise ValueError(f"{caller}: `recipe` must be one of {RECIPES}, got {recipe!r}.")


def paper_optimizer(
    learning_rate=1e-3,
    warmup_steps=PAPER_WARMUP_STEPS,
    weight_decay=1e-4,
    ema_warmup=10.0,
):
    """AdamW with the warm-up/exponential schedule, clipping and EMA.

    Args:
        learning_rate: float, peak learning rate after the warm-up (the paper
            does not state it; 1e-3 is this library's default).
        warmup_steps: int, linear warm-up length, or `"auto"` (a tenth of
            the steps of the first `WaveLiT.fit`, at most 5,000; see
            `WarmupExponentialDecay`). Defaults to 5000 (the paper's).
        weight_decay: float, AdamW decoupled weight decay. Defaults to 1e-4
            (this library's choice).
        ema_warmup: warm-up of the EMA momentum (see `AdamWWithEMAWarmup`);
            None gives Keras's fixed-momentum EMA. Defaults to 10: identical
            to a plain EMA after 881 steps, and no share of the random
            initialisation left in the average of a short run.

    Returns:
        An `AdamWWithEMAWarmup` (AdamW) with `global_clipnorm=1.0`,
        `use_ema=True` and `ema_momentum=0.99` (this library's choice; the
        weights become their moving average at the end of `fit`, which is
        what evaluation uses).

    Example:

    ```python
    from keras_wavelit.models import paper_optimizer

    optimizer = paper_optimizer(learning_rate=1e-3, warmup_steps="auto")
    assert optimizer.global_clipnorm == 1.0 and optimizer.use_ema
    ```
    """
    schedule = WarmupExponentialDecay(
        learning_rate, warmup_steps=warmup_steps, decay_rate=0.99, decay_steps=2000
    )
    return AdamWWithEMAWarmup(
        learning_rate=schedule,
        weight_decay=weight_decay,
        global_clipnorm=1.0,
        use_ema=True,
        ema_momentum=0.99,
        ema_warmup=ema_warmup,
    )


def paper_compile_kwargs(
    learning_rate=1e-3,
    warmup_steps=PAPER_WARMUP_STEPS,
    weight_decay=1e-4,
    wavelet="bior2.2",
    wavelet_levels=None,
    boundary=None,
    **kwargs,
):
    """Keyword arguments for `model.compile` implementing Appendix E.

    Prefer `WaveLiT.compile()` (all `"auto"`), which takes the loss's
    wavelet, levels and boundary mode from the model.

    Args:
        learning_rate, warmup_steps, weight_decay: see `paper_optimizer`.
        wavelet, wavelet_levels, boundary: the `WaveletLoss` transform; use
            the model's own (old name of `boundary`: `mode`).

    Returns:
        dict with `optimizer` (`paper_optimizer`), `loss`
        (`WaveletLoss(1, 1)` with the given transform) and `metrics`
        (`[VRMSE()]`).

    Example:

    ```python
    from keras_wavelit.models import paper_compile_kwargs

    kwargs = paper_compile_kwargs(wavelet="haar", boundary="periodic")
    assert sorted(kwargs) == ["loss", "metrics", "optimizer"]
    ```
    """
    from keras_wavelit.metrics import VRMSE

    boundary = renamed_argument("paper_compile_kwargs", kwargs, "mode", "boundary", boundary, None)
    if kwargs:
        raise TypeError(f"paper_compile_kwargs got unexpected arguments {sorted(kwargs)}.")
    return {
        "optimizer": paper_optimizer(learning_rate, warmup_steps, weight_decay),
        "loss": WaveletLoss(
            1.0,
            1.0,
            wavelet=wavelet,
            wavelet_levels=1 if wavelet_levels is None else wavelet_levels,
            boundary="reflect" if boundary is None else boundary,
        ),
        "metrics": [VRMSE()],
    }


def _leaves(x):
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in _leaves(v)]
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


def steps_per_epoch_of(x, batch_size=None, validation_split=0.0):
    """Batches per epoch that `fit` will draw from `x`, or None if unknown.

    Arrays (also in dicts and tuples) give `ceil(n (1 - validation_split) /
    batch_size)`; objects with a length (`keras.utils.PyDataset`, torch
    `DataLoader`) give their length; a finite `tf.data.Dataset` gives its
    cardinality.
    """
    leaves = _leaves(x)
    if leaves and all(hasattr(leaf, "shape") and hasattr(leaf, "__len__") for leaf in leaves):
        n = int(leaves[0].shape[0])
        if validation_split:
            n = n - int(n * validation_split)
        return max(1, math.ceil(n / (batch_size or 32)))
    cardinality = getattr(x, "cardinality", None)
    if callable(cardinality):
        try:
            value = int(cardinality())
        except Exception:  # noqa: BLE001 - not a tf.data.Dataset after all
            return None
        return value if value > 0 else None
    try:
        return int(len(x)) or None
    except TypeError:
        return None


class NonFiniteGuard(keras.callbacks.Callback):
    """Stops training on a NaN or infinite loss and restores finite weights.

    Keeps a copy (in memory) of the model's and the optimizer's variables at
    the start of training and after every epoch that ends with finite
    weights. When a batch reports a non-finite loss, training stops, the
    last finite copy is restored at the end of `fit` (after Keras has
    written the EMA weights) and a `RuntimeWarning` says which epoch and
    batch failed. `WaveLiT.fit` adds it unless the model was compiled with
    `guard_non_finite=False` or the callbacks already contain one.

    Args:
        verbose: int, 0 to warn without printing.

    Example:

    ```python
    from keras_wavelit.models import NonFiniteGuard

    guard = NonFiniteGuard()
    assert guard.failure is None
    ```
    """

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self.failure = None
        self._epoch = 0
        self._snapshot = None

    def _take_snapshot(self):
        weights = [np.array(keras.ops.convert_to_numpy(v)) for v in self.model.variables]
        if not all(np.all(np.isfinite(w)) for w in weights if w.dtype.kind == "f"):
            return
        optimizer = getattr(self.model, "optimizer", None)
        opt_vars = []
        if optimizer is not None:
            opt_vars = [np.array(keras.ops.convert_to_numpy(v)) for v in optimizer.variables]
        self._snapshot = (weights, opt_vars)

    def on_train_begin(self, logs=None):
        self.failure = None
        self._take_snapshot()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or self.failure is not None:
            return
        if not math.isfinite(float(loss)):
            self.failure = (self._epoch + 1, batch + 1)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.failure is None:
            self._take_snapshot()

    def on_train_end(self, logs=None):
        if self.failure is None:
            return
        epoch, batch = self.failure
        if self._snapshot is not None:
            weights, opt_vars = self._snapshot
            for var, value in zip(self.model.variables, weights):
                var.assign(value)
            optimizer = getattr(self.model, "optimizer", None)
            if optimizer is not None and len(opt_vars) == len(optimizer.variables):
                for var, value in zip(optimizer.variables, opt_vars):
                    var.assign(value)
            what = "the weights of the last finite epoch were restored"
        else:
            what = "no finite weights were available to restore"
        message = (
            f"Non-finite loss at epoch {epoch}, batch {batch}: training stopped and "
            f"{what}. Check the data for NaN/Inf values or lower the learning rate."
        )
        if self.verbose:
            keras.utils.io_utils.print_msg(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
