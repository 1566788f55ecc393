"""Gaussian input noise scaled to the one-step change of each sample.

Noise injection for long-rollout stability (paper section 5): a model
trained on slightly perturbed inputs learns to map states off the data
manifold back towards it, which lowers the effective local Lipschitz
constant its rollouts see (Appendix H). The perturbation is sized, per
sample and per field, to how much that field changes in one step, so one
setting fits fields and datasets of very different dynamics.
"""

import keras
from keras import ops


def one_step_change_rms(fields):
    """Per-sample, per-field RMS of the one-step change in a window.

    Args:
        fields: tensor `(B, T, H, W, C)`. With `T >= 2`, the change is the
            difference of consecutive frames (`x_t - x_{t-1}`, all `T - 1`
            pairs), and the RMS is over those pairs and space. With `T = 1`
            there is no change to measure: the fallback is the field's
            spatial standard deviation.

    Returns:
        Tensor `(B, 1, 1, 1, C)` in the dtype of `fields` (at least
        float32 arithmetic), with no gradient.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.layers.relative_noise import one_step_change_rms

    x = np.zeros((1, 3, 4, 4, 1), "float32")
    x[:, 1], x[:, 2] = 1.0, 3.0  # changes of 1 and 2 everywhere
    rms = np.sqrt((1 + 4) / 2)
    assert np.allclose(np.asarray(one_step_change_rms(x)), rms)
    ```
    """
    fields = ops.convert_to_tensor(fields)
    if len(fields.shape) != 5:
        raise ValueError(
            f"one_step_change_rms expects fields of shape (B, T, H, W, C); got shape "
            f"{tuple(fields.shape)}."
        )
    dtype = fields.dtype
    x = ops.cast(fields, "float32")
    if fields.shape[1] == 1:
        scale = ops.std(x, axis=(1, 2, 3), keepdims=True)
    else:
        change = x[:, 1:] - x[:, :-1]
        scale = ops.sqrt(ops.mean(ops.square(change), axis=(1, 2, 3), keepdims=True))
    return ops.stop_gradient(ops.cast(scale, dtype))


def add_relative_noise(fields, stddev, seed=None):
    """`fields + stddev * one_step_change_rms(fields) * N(0, 1)`.

    Args:
        fields: tensor `(B, T, H, W, C)`.
        stddev: float >= 0, the noise's standard deviation in units of each
            sample's and field's RMS one-step change (see
            `one_step_change_rms`; the spatial standard deviation for a
            one-frame window). 0 returns `fields` unchanged.
        seed: a `keras.random.SeedGenerator` (draws new noise on every call,
            also inside compiled functions) or an int.

    Returns:
        Tensor of the shape and dtype of `fields`.
    """
    if stddev == 0:
        return fields
    fields = ops.convert_to_tensor(fields)
    scale = one_step_change_rms(fields)
    noise = keras.random.normal(ops.shape(fields), seed=seed, dtype=fields.dtype)
    return fields + ops.cast(stddev, fields.dtype) * scale * noise


@keras.saving.register_keras_serializable(package="keras_wavelit")
class RelativeGaussianNoise(keras.layers.Layer):
    """Training-time Gaussian noise sized to each sample's one-step change.

    Like `keras.layers.GaussianNoise`, but the standard deviation is
    `stddev` times the RMS one-step change of each sample's window, per
    field (`one_step_change_rms`; the field's spatial standard deviation
    for a one-frame window). Walrus-style input noise for long-rollout
    stability (paper section 5); `WaveLiT.compile(input_noise=...)` and
    `RolloutFinetuner(..., relative_noise=True)` use the same rule.

    Args:
        stddev: float >= 0, in units of the RMS one-step change.
        seed: optional int seed.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(B, T, H, W, C)`.
        training: bool; identity unless True.

    Returns:
        Tensor of the same shape.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    layer = kw.layers.RelativeGaussianNoise(0.1, seed=0)
    x = np.random.rand(2, 4, 8, 8, 3).astype("float32")
    assert np.array_equal(np.asarray(layer(x)), x)  # identity at inference
    noisy = layer(x, training=True)
    ```
    """

    def __init__(self, stddev=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_noise_scale("RelativeGaussianNoise", "stddev", stddev)
        self.stddev = float(stddev)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        return add_relative_noise(inputs, self.stddev, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


def check_noise_scale(owner, name, value):
    """Raises a `ValueError` naming `owner`'s `name` unless `value` is a number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{owner}: `{name}` must be a number >= 0, got {value!r}.")


def attach_seed_generator(model, name):
    """Sets `model.<name>` to a new `keras.random.SeedGenerator`, tracked as state.

    Its state is a (non-trainable) variable that the compiled train steps of
    every backend carry. A built model locks its state, so it is reopened
    for this: `compile(input_noise=...)` may run on a built model.

    Returns:
        The seed generator.
    """
    tracker = getattr(model, "_tracker", None)
    locked = tracker is not None and tracker.locked
    if locked:
        tracker.unlock()
    try:
        setattr(model, name, keras.random.SeedGenerator(name=name))
    finally:
        if locked:
            tracker.lock()
    return getattr(model, name)
