"""Many repeated jitted training steps of a small SharedFPN(RidgeMILABlock)
stack; run as a subprocess by test_no_hang.py so that a hang becomes a
timeout. Prints 'STEPS <n> LOSS <first> <last>' when done."""

import sys

import keras
import numpy as np

from keras_wavelit.layers import RidgeMILABlock
from keras_wavelit.layers import SharedFPN


def main(steps, solver):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 32))
    x = inputs
    for _ in range(3):
        x = SharedFPN(RidgeMILABlock(num_heads=2, solver=solver), pyramid_levels=1)(x)
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="mse", jit_compile="auto")
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((8, 16, 16, 32)).astype("float32")
    ys = rng.standard_normal((8, 16, 16, 4)).astype("float32")
    epochs = steps // 4
    hist = model.fit(xs, ys, batch_size=2, epochs=epochs, verbose=0)
    loss = hist.history["loss"]
    print(f"STEPS {epochs * 4} LOSS {loss[0]:.6f} {loss[-1]:.6f}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "gauss_jordan")
