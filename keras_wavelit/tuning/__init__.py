"""Hyperparameter search for WaveLiT with KerasTuner, under a parameter budget.

- `WaveLiTHyperModel`: a `keras_tuner.HyperModel` over the model and the
  training recipe (`DEFAULT_SPACE`), with `max_params` enforced before any
  model is built (`ParameterCounter`); `WaveLiTFMHyperModel`: the same for
  the foundation model, scored by the median over datasets of the
  validation VRMSE;
- `make_tuner`: random search, Bayesian optimisation or Hyperband, resumable,
  clearing the session between trials; `best_config` / `write_best_config`:
  the best trial as `best.json`;
- `RolloutVRMSE`, `rollout_vrmse`: the rollout objective.

Needs the `tune` extra (`pip install 'keras-wavelit[tune]'`, installs
keras-tuner). See docs/tuning.md.
"""

try:
    import keras_tuner  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "keras_wavelit.tuning needs KerasTuner; install the 'tune' extra: "
        f"pip install 'keras-wavelit[tune]'. Import failed with: {err}"
    ) from None

from keras_wavelit.tuning.budget import ParameterCounter
from keras_wavelit.tuning.fm_hypermodel import FM_DEFAULT_SPACE
from keras_wavelit.tuning.fm_hypermodel import FMParameterCounter
from keras_wavelit.tuning.fm_hypermodel import MedianVRMSE
from keras_wavelit.tuning.fm_hypermodel import WaveLiTFMHyperModel
from keras_wavelit.tuning.hypermodel import BudgetedHyperModel
from keras_wavelit.tuning.hypermodel import WaveLiTHyperModel
from keras_wavelit.tuning.objectives import OBJECTIVES
from keras_wavelit.tuning.objectives import RolloutVRMSE
from keras_wavelit.tuning.objectives import rollout_vrmse
from keras_wavelit.tuning.search_space import DEFAULT_SPACE
from keras_wavelit.tuning.search_space import Range
from keras_wavelit.tuning.search_space import parse_space_item
from keras_wavelit.tuning.search_space import valid_num_heads
from keras_wavelit.tuning.tuners import TUNER_NAMES
from keras_wavelit.tuning.tuners import BayesianOptimization
from keras_wavelit.tuning.tuners import Hyperband
from keras_wavelit.tuning.tuners import RandomSearch
from keras_wavelit.tuning.tuners import best_config
from keras_wavelit.tuning.tuners import make_tuner
from keras_wavelit.tuning.tuners import trial_records
from keras_wavelit.tuning.tuners import write_best_config

__all__ = [
    "DEFAULT_SPACE",
    "FM_DEFAULT_SPACE",
    "BudgetedHyperModel",
    "FMParameterCounter",
    "MedianVRMSE",
    "WaveLiTFMHyperModel",
    "OBJECTIVES",
    "TUNER_NAMES",
    "BayesianOptimization",
    "Hyperband",
    "ParameterCounter",
    "RandomSearch",
    "Range",
    "RolloutVRMSE",
    "WaveLiTHyperModel",
    "best_config",
    "make_tuner",
    "parse_space_item",
    "rollout_vrmse",
    "trial_records",
    "valid_num_heads",
    "write_best_config",
]
