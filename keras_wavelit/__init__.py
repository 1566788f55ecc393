"""keras-wavelit: WaveLiT neural PDE surrogates for Keras 3.

Wavelet tokenization, ridge-corrected linear attention in a MILA block,
shared-weight multiscale pyramids and a wavelet-domain loss, on JAX,
TensorFlow or PyTorch (``KERAS_BACKEND``).
"""

__version__ = "0.1.0"

from keras_wavelit import evaluation
from keras_wavelit import layers
from keras_wavelit import losses
from keras_wavelit import metrics
from keras_wavelit import models
from keras_wavelit import ops
from keras_wavelit import optimizers
