"""Writes a small WaveLiT's weights and predictions under the current backend.

Used by test_wavelit.py: ``python cross_backend_weights.py OUT_DIR`` writes
``OUT_DIR/<backend>.weights.h5`` and ``OUT_DIR/<backend>_pred.npy``.
"""

import os
import sys

import keras
import numpy as np

from keras_wavelit.models import WaveLiT


def small_model():
    return WaveLiT(dim=16, depth=2, num_heads=2, pyramid_levels=1, auto_compile=False)


def fixed_input():
    rng = np.random.default_rng(11)
    return {
        "fields": rng.standard_normal((2, 2, 16, 16, 3)).astype("float32"),
        "constants": rng.standard_normal((2, 16, 16, 1)).astype("float32"),
    }


def main(out_dir):
    backend = keras.backend.backend()
    keras.utils.set_random_seed({"jax": 1, "tensorflow": 2, "torch": 3}[backend])
    model = small_model()
    x = fixed_input()
    pred = np.asarray(keras.ops.convert_to_numpy(model(x)))
    model.save_weights(os.path.join(out_dir, f"{backend}.weights.h5"))
    np.save(os.path.join(out_dir, f"{backend}_pred.npy"), pred)
    print("wrote", backend)


if __name__ == "__main__":
    main(sys.argv[1])
