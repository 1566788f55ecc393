"""Assembled WaveLiT models."""

from keras_wavelit.models.recipe import DEFAULT_INPUT_NOISE
from keras_wavelit.models.recipe import RECIPES
from keras_wavelit.models.recipe import SCHEDULES
from keras_wavelit.models.recipe import NonFiniteGuard
from keras_wavelit.models.recipe import paper_compile_kwargs
from keras_wavelit.models.recipe import paper_optimizer
from keras_wavelit.models.wavelit import WaveLiT
from keras_wavelit.models.wavelit_backbone import WaveLiTBackbone
from keras_wavelit.models.wavelit_fm import FM_PRESETS
from keras_wavelit.models.wavelit_fm import WaveLiTFM
from keras_wavelit.models.wavelit_fm import WaveLiTFMDatasetView
from keras_wavelit.models.wavelit_presets import PRESETS
from keras_wavelit.models.wavelit_presets import WAVELIT_PRESETS
