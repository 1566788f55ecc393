"""Weights written under one Keras backend give the same predictions under every other.

Used by test_wavelit.py in two passes, each backend in its own process:

- `python cross_backend_weights.py write DIR` writes `DIR/<model>_<backend>.weights.h5`
  and `DIR/<model>_<backend>_pred.npy` for a small WaveLiT and a small WaveLiT-FM
  (backend-specific seeds);
- `python cross_backend_weights.py load DIR` loads every backend's weights
  into a fresh model and exits non-zero, naming the pair, when a prediction
  differs from the writer's by more than 1e-5.
"""

import os
import sys

import keras
import numpy as np

from keras_wavelit.models import WaveLiT
from keras_wavelit.models import WaveLiTFM

BACKENDS = ("jax", "tensorflow", "torch")


def small_model():
    return WaveLiT(dim=16, depth=2, num_heads=2, pyramid_levels=1, auto_compile=False)


def fixed_input():
    rng = np.random.default_rng(11)
    return {
        "fields": rng.standard_normal((2, 2, 16, 16, 3)).astype("float32"),
        "constants": rng.standard_normal((2, 16, 16, 1)).astype("float32"),
    }


def small_fm():
    return WaveLiTFM(
        datasets=["gray_scott_2d", "acoustic_scattering_2d"],
        dim=8,
        depth=1,
        num_heads=2,
        pyramid_levels=0,
        n_steps_input=2,
        auto_compile=False,
    )


def fm_input():
    """One batch of acoustic_scattering_2d (3 fields, 2 constant fields)."""
    rng = np.random.default_rng(12)
    fields = rng.standard_normal((2, 2, 16, 16, 3)).astype("float32")
    constants = rng.standard_normal((2, 16, 16, 2)).astype("float32")
    return {"fields": fields, "constants": constants, "dataset": np.full((2,), 1, "int32")}


MODELS = {"wavelit": (small_model, fixed_input), "fm": (small_fm, fm_input)}


def _predict(model, x):
    return np.asarray(keras.ops.convert_to_numpy(model(x)))


def write(out_dir):
    backend = keras.backend.backend()
    keras.utils.set_random_seed({"jax": 1, "tensorflow": 2, "torch": 3}[backend])
    for name, (make, inputs) in MODELS.items():
        model = make()
        pred = _predict(model, inputs())
        model.save_weights(os.path.join(out_dir, f"{name}_{backend}.weights.h5"))
        np.save(os.path.join(out_dir, f"{name}_{backend}_pred.npy"), pred)


def load(out_dir):
    here = keras.backend.backend()
    failures = []
    for name, (make, inputs) in MODELS.items():
        x = inputs()
        for writer in BACKENDS:
            model = make()
            model(x)
            model.load_weights(os.path.join(out_dir, f"{name}_{writer}.weights.h5"))
            pred = _predict(model, x)
            expected = np.load(os.path.join(out_dir, f"{name}_{writer}_pred.npy"))
            err = float(np.max(np.abs(pred - expected)))
            if not np.allclose(pred, expected, rtol=1e-5, atol=1e-5):
                failures.append(
                    f"{name} weights from {writer} loaded under {here}: max difference {err:.3g}"
                )
    if failures:
        sys.exit("\n".join(failures))


if __name__ == "__main__":
    {"write": write, "load": load}[sys.argv[1]](sys.argv[2])
