"""Rollout finetuning (paper Appendix G) and training utilities."""

from keras_wavelit.training.callbacks import NaNGuard
from keras_wavelit.training.rollout_finetuner import METHODS
from keras_wavelit.training.rollout_finetuner import RolloutFinetuner
from keras_wavelit.training.runs import finetune_run
from keras_wavelit.training.runs import read_history
from keras_wavelit.training.runs import train_run
