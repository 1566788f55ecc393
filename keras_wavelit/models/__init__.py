"""Assembled WaveLiT models."""

from keras_wavelit.models.recipe import paper_compile_kwargs
from keras_wavelit.models.recipe import paper_optimizer
from keras_wavelit.models.wavelit import PRESETS
from keras_wavelit.models.wavelit import WaveLiT
from keras_wavelit.models.wavelit_backbone import WaveLiTBackbone
