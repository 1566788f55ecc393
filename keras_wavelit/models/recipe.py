"""The paper's training recipe (Appendix E) as ``compile`` arguments."""

from keras_wavelit.losses.wavelet_loss import WaveletLoss
from keras_wavelit.optimizers.adamw_with_ema_warmup import AdamWWithEMAWarmup
from keras_wavelit.optimizers.warmup_exponential_decay import WarmupExponentialDecay


def paper_optimizer(learning_rate=1e-3, warmup_steps=5000, weight_decay=1e-4, ema_warmup=10.0):
    """AdamW with the warm-up/exponential schedule, clipping and EMA.

    Args:
        learning_rate: float, peak learning rate after the warm-up (the paper
            does not state it; 1e-3 is this library's default).
        warmup_steps: int, linear warm-up length. Defaults to 5000.
        weight_decay: float, AdamW decoupled weight decay. Defaults to 1e-4.
        ema_warmup: warm-up of the EMA momentum (see
            :class:`~keras_wavelit.optimizers.AdamWWithEMAWarmup`); None gives
            Keras's fixed-momentum EMA. Defaults to 10: identical to the
            paper's EMA after 881 steps, and no share of the random
            initialisation left in the average of a short run.

    Returns:
        An :class:`~keras_wavelit.optimizers.AdamWWithEMAWarmup` (AdamW) with
        ``global_clipnorm=1.0`` and ``use_ema=True``, ``ema_momentum=0.99``
        (the weights become their moving average at the end of ``fit``,
        which is what evaluation uses).
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
    warmup_steps=5000,
    weight_decay=1e-4,
    wavelet="bior2.2",
    mode="reflect",
):
    """Keyword arguments for ``model.compile`` implementing Appendix E.

    Returns:
        dict with ``optimizer`` (:func:`paper_optimizer`), ``loss``
        (``WaveletLoss(1, 1)``) and ``metrics`` (``[VRMSE()]``).
    """
    from keras_wavelit.metrics import VRMSE

    return {
        "optimizer": paper_optimizer(learning_rate, warmup_steps, weight_decay),
        "loss": WaveletLoss(1.0, 1.0, wavelet=wavelet, mode=mode),
        "metrics": [VRMSE()],
    }
