"""Rollout finetuning (paper Appendix G) and training utilities."""

from keras_wavelit.training.rollout_finetuner import METHODS
from keras_wavelit.training.rollout_finetuner import RolloutFinetuner
