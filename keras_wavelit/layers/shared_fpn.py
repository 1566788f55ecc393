"""Shared-weight multiscale feature pyramid (paper section 3.3, `docs/design.md` §2.4)."""

import keras
import numpy as np
from keras import ops

from keras_wavelit import config as wavelit_config
from keras_wavelit._deprecation import renamed_argument

UPSAMPLE_MODES = ("bilinear", "nearest")
COMBINE_MODES = ("output", "residual")


def bilinear_matrix(out_size, in_size):
    """`(out_size, in_size)` matrix of 1D linear interpolation.

    Half-pixel centres, edge samples clamped: the weights of
    `keras.ops.image.resize(..., interpolation="bilinear", antialias=False)`
    along one axis when upsampling. Applying it along both axes as two
    matrix products gives the same image as the resize, but compiles to
    dense products on every backend (TensorFlow's resize and its gradient
    were slow under XLA on CPU).

    Args:
        out_size: int, the upsampled length.
        in_size: int, the input length.

    Returns:
        A float32 NumPy array `(out_size, in_size)`.

    Example:

    ```python
    from keras_wavelit.layers.shared_fpn import bilinear_matrix

    m = bilinear_matrix(4, 2)  # rows [1, 0], [.75, .25], [.25, .75], [0, 1]
    ```
    """
    scale = in_size / out_size
    source = np.clip((np.arange(out_size) + 0.5) * scale - 0.5, 0.0, in_size - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, in_size - 1)
    frac = source - low
    matrix = np.zeros((out_size, in_size), dtype="float32")
    matrix[np.arange(out_size), low] += 1.0 - frac
    matrix[np.arange(out_size), high] += frac
    return matrix


@keras.saving.register_keras_serializable(package="keras_wavelit")
class SharedFPN(keras.layers.Layer):
    """Applies one block at several resolutions with the same weights.

    The shared-weight pyramid of paper section 3.3 (`docs/design.md` §2.4):
    `x_l = AvgPool2x2^l(x)` and `y_l = block(x_l)` for
    `l = 0 .. pyramid_levels` (the block sees the grid `(h / 2^l, w / 2^l)`,
    so RoPE is computed per level), combined with learned scalar weights
    `w_l` initialised to `1 / (pyramid_levels + 1)`:

    - `combine="output"` (default, the paper's Eq. 3):
      `y = sum_l w_l Upsample_l(y_l)`;
    - `combine="residual"`: the levels mix the blocks' *updates* and the
      full-resolution input passes through unchanged,
      `y = x + sum_l w_l Upsample_l(y_l - x_l)`. With `"output"` and a
      residual block, the input's fine scales reach the output only with
      weight `w_0` (1/2 for FPN-L1 at initialisation) while the coarse
      levels add blurred copies of it; `"residual"` avoids that damping
      (compared in `docs/layers.md`, Table 13).

    Both equal the plain block for `pyramid_levels=0` (`w_0 = 1`). Weight
    sharing adds only `pyramid_levels + 1` parameters; the paper's default
    is one coarser level (FPN-L1). Layers saved before `combine` existed
    load as `combine="output"`, what they were trained with.

    Upsampling is bilinear (half-pixel centres), as two dense interpolation
    products where the CPU fast path is on (`keras_wavelit.config`), else
    `keras.ops.image.resize`; both give the same values.

    Args:
        block: a Keras layer mapping `(B, h, w, dim)` to the same shape at
            any grid, typically `RidgeMILABlock`.
        pyramid_levels: int >= 0, number of coarser levels. Defaults to 1.
            (Deprecated name: `levels`.)
        upsample: `"bilinear"` (default) or `"nearest"`.
        combine: `"output"` (default, Eq. 3) or `"residual"`, see above.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tokens `(B, h, w, dim)` with `h` and `w` multiples of
            `2**pyramid_levels`.
        training: bool, passed to the block.

    Returns:
        Tensor `(B, h, w, dim)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    fpn = kw.layers.SharedFPN(kw.layers.RidgeMILABlock(num_heads=2), pyramid_levels=1)
    y = fpn(np.random.rand(2, 8, 8, 16).astype("float32"))  # (2, 8, 8, 16)
    ```
    """

    def __init__(self, block, pyramid_levels=1, upsample="bilinear", combine="output", **kwargs):
        pyramid_levels = renamed_argument(
            "SharedFPN",
            kwargs,
            "levels",
            "pyramid_levels",
            None if pyramid_levels == 1 else pyramid_levels,
            1,
        )
        super().__init__(**kwargs)
        if isinstance(block, dict):
            block = keras.saving.deserialize_keras_object(block)
        if (
            isinstance(pyramid_levels, bool)
            or not isinstance(pyramid_levels, (int, np.integer))
            or pyramid_levels < 0
        ):
            raise ValueError(
                f"SharedFPN: `pyramid_levels` must be an integer >= 0, got {pyramid_levels!r}."
            )
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"`upsample` must be one of {UPSAMPLE_MODES}, got {upsample!r}.")
        if combine not in COMBINE_MODES:
            raise ValueError(f"`combine` must be one of {COMBINE_MODES}, got {combine!r}.")
        self.block = block
        self.pyramid_levels = int(pyramid_levels)
        self.upsample = upsample
        self.combine = combine

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        f = 2**self.pyramid_levels
        for axis, name in ((1, "height"), (2, "width")):
            n = input_shape[axis]
            if n is not None and n % f:
                raise ValueError(
                    f"SharedFPN(pyramid_levels={self.pyramid_levels}) needs a token grid whose "
                    f"{name} is a multiple of {f}; got shape {tuple(input_shape)}."
                )
        if not self.block.built:
            self.block.build(input_shape)
        self.level_weights = self.add_weight(
            name="level_weights",
            shape=(self.pyramid_levels + 1,),
            initializer=keras.initializers.Constant(1.0 / (self.pyramid_levels + 1)),
        )

    def call(self, inputs, training=None):
        h, w = inputs.shape[1], inputs.shape[2]
        weights = ops.cast(self.level_weights, inputs.dtype)
        residual = self.combine == "residual"
        y = self.block(inputs, training=training)
        out = inputs + weights[0] * (y - inputs) if residual else weights[0] * y
        x = inputs
        dense = wavelit_config.fast_path_enabled("dense_upsampling")
        for level in range(1, self.pyramid_levels + 1):
            x = ops.average_pool(x, 2, strides=2, padding="valid")
            y = self.block(x, training=training)
            if residual:
                y = y - x
            if self.upsample == "nearest":
                f = 2**level
                y = ops.repeat(ops.repeat(y, f, axis=1), f, axis=2)
            elif not dense:
                y = ops.image.resize(y, (h, w), interpolation="bilinear", antialias=False)
            else:
                rows = ops.convert_to_tensor(bilinear_matrix(h, y.shape[1]), y.dtype)
                cols = ops.convert_to_tensor(bilinear_matrix(w, y.shape[2]), y.dtype)
                y = ops.einsum("Hh,bhwc->bHwc", rows, y)
                y = ops.einsum("Ww,bhwc->bhWc", cols, y)
            out = out + weights[level] * y
        return out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "block": keras.saving.serialize_keras_object(self.block),
                "pyramid_levels": self.pyramid_levels,
                "upsample": self.upsample,
                "combine": self.combine,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["block"] = keras.saving.deserialize_keras_object(config["block"])
        # Saved before `combine` existed: keep the combination they were trained with.
        config.setdefault("combine", "output")
        return cls(**config)
