"""keras-wavelit: WaveLiT neural PDE surrogates for Keras 3.

Wavelet tokenization, ridge-corrected linear attention in a MILA block,
shared-weight multiscale pyramids and a wavelet-domain loss, on JAX,
TensorFlow or PyTorch (``KERAS_BACKEND``).

Submodules load on first use (``keras_wavelit.layers``, ``.models``, ...), so
``import keras_wavelit`` itself imports neither Keras nor a backend.
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "data",
    "evaluation",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "training",
)

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"keras_wavelit.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_wavelit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
