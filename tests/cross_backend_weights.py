"""Weights written under one Keras backend give the same predictions under every other.

Used by test_wavelit.py in two passes, each backend in its own process:

- `python cross_backend_weights.py write DIR` writes `DIR/<backend>.weights.h5`
  and `DIR/<backend>_pred.npy` (a small WaveLiT with a backend-specific seed);
- `python cross_backend_weights.py load DIR` loads every backend's weights
  into a fresh model and exits non-zero, naming the pair, when a prediction
  differs from the writer's by more than 1e-5.
"""

import os
import sys

import keras
import numpy as np

from keras_wavelit.models import WaveLiT

BACKENDS = ("jax", "tensorflow", "torch")


def small_model():
    return WaveLiT(dim=16, depth=2, num_heads=2, pyramid_levels=1, auto_compile=False)


def fixed_input():
    rng = np.random.default_rng(11)
    return {
        "fields": rng.standard_normal((2, 2, 16, 16, 3)).astype("float32"),
        "constants": rng.standard_normal((2, 16, 16, 1)).astype("float32"),
    }


def write(out_dir):
    backend = keras.backend.backend()
    keras.utils.set_random_seed({"jax": 1, "tensorflow": 2, "torch": 3}[backend])
    model = small_model()
    pred = np.asarray(keras.ops.convert_to_numpy(model(fixed_input())))
    model.save_weights(os.path.join(out_dir, f"{backend}.weights.h5"))
    np.save(os.path.join(out_dir, f"{backend}_pred.npy"), pred)


def load(out_dir):
    here = keras.backend.backend()
    x = fixed_input()
    failures = []
    for writer in BACKENDS:
        model = small_model()
        model(x)
        model.load_weights(os.path.join(out_dir, f"{writer}.weights.h5"))
        pred = np.asarray(keras.ops.convert_to_numpy(model(x)))
        expected = np.load(os.path.join(out_dir, f"{writer}_pred.npy"))
        err = float(np.max(np.abs(pred - expected)))
        if not np.allclose(pred, expected, rtol=1e-5, atol=1e-5):
            failures.append(f"weights from {writer} loaded under {here}: max difference {err:.3g}")
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    {"write": write, "load": load}[sys.argv[1]](sys.argv[2])
