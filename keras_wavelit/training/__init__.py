"""Rollout finetuning (paper Appendix G) and training utilities."""

from keras_wavelit.training.callbacks import NaNGuard
from keras_wavelit.training.callbacks import RunBackup
from keras_wavelit.training.callbacks import trim_history
from keras_wavelit.training.interrupt import StopOnCtrlC
from keras_wavelit.training.interrupt import ctrl_c_pending
from keras_wavelit.training.interrupt import ctrl_c_stays_an_interrupt
from keras_wavelit.training.interrupt import watch_ctrl_c
from keras_wavelit.training.rollout_finetuner import METHODS
from keras_wavelit.training.rollout_finetuner import RolloutFinetuner
from keras_wavelit.training.runs import NonFiniteLossError
from keras_wavelit.training.runs import RunDirectoryError
from keras_wavelit.training.runs import check_finite_data
from keras_wavelit.training.runs import finetune_run
from keras_wavelit.training.runs import prepare_run_dir
from keras_wavelit.training.runs import read_history
from keras_wavelit.training.runs import read_run
from keras_wavelit.training.runs import train_fm_run
from keras_wavelit.training.runs import train_run
