"""Stochastic depth (per-sample residual dropout)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_wavelit")
class DropPath(keras.layers.Layer):
    """Drops a whole residual branch per sample during training.

    Stochastic depth for the residual branches of `RidgeMILABlock`
    (`docs/design.md` §2.3): each sample's branch is kept with probability
    `1 - rate` and scaled by `1 / (1 - rate)`, so its expectation is
    unchanged.

    Args:
        rate: float in `[0, 1)`, probability of dropping the branch.
        seed: optional int seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(B, ...)`.
        training: bool; identity unless True.

    Returns:
        Tensor of the same shape: `inputs * mask / (1 - rate)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    layer = kw.layers.DropPath(0.5, seed=0)
    y = layer(np.ones((4, 3), "float32"), training=True)  # rows of 0 or 2
    ```
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"DropPath: `rate` must be in [0, 1), got {rate!r}.")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        keep = 1.0 - self.rate
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        u = keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype)
        mask = ops.cast(u < keep, inputs.dtype)
        return inputs * mask / keep

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
