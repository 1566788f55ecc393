"""Rollout evaluation: The Well's metrics over rollout windows, one-step scores
over all test windows, error growth, divergence reporting, error spectra and
figures (paper section 4.1, Appendices D, H and J; `docs/design.md` §2.9).

The plotting functions live in `keras_wavelit.evaluation.plots` and import
matplotlib only when called.
"""

from keras_wavelit.evaluation.growth import ErrorGrowth
from keras_wavelit.evaluation.growth import error_growth
from keras_wavelit.evaluation.one_step import OneStepEvaluation
from keras_wavelit.evaluation.one_step import evaluate_one_step
from keras_wavelit.evaluation.report import write_report
from keras_wavelit.evaluation.results import Divergence
from keras_wavelit.evaluation.results import RolloutEvaluation
from keras_wavelit.evaluation.results import WindowScore
from keras_wavelit.evaluation.rollout import evaluate_rollout
from keras_wavelit.evaluation.runs import evaluate_run
from keras_wavelit.evaluation.runs import load_trajectories
from keras_wavelit.evaluation.spectra import error_spectrum
from keras_wavelit.evaluation.spectra import rapsd
from keras_wavelit.evaluation.windows import PAPER_WINDOWS
from keras_wavelit.evaluation.windows import WELL_WINDOWS
from keras_wavelit.evaluation.windows import RolloutWindow
from keras_wavelit.evaluation.windows import rollout_windows
