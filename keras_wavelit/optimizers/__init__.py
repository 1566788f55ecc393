"""Optimizer pieces of the paper's training recipe (Appendix E)."""

from keras_wavelit.optimizers.adamw_with_ema_warmup import AdamWWithEMAWarmup
from keras_wavelit.optimizers.warmup_exponential_decay import WarmupExponentialDecay
