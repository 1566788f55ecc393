"""2D axial rotary position embedding (paper section 3.2, `docs/design.md` §2.2)."""

import keras
import numpy as np
from keras import ops


def rope_2d_tables(height, width, dim, max_wavelength=10000.0):
    """Cosine and sine tables `(height * width, dim / 2)` for axial RoPE.

    The first `dim / 4` frequencies rotate with the row index, the last
    `dim / 4` with the column index; `theta_i = max_wavelength^(-i/(dim/4))`.
    Computed in float64 NumPy and returned as float32 arrays.

    Args:
        height: int, rows of the token grid.
        width: int, columns of the token grid.
        dim: int, the head dimension (a multiple of 4).
        max_wavelength: float, base of the frequencies.

    Returns:
        `(cos, sin)`, two float32 NumPy arrays `(height * width, dim / 2)`.

    Example:

    ```python
    from keras_wavelit.layers.rotary_embedding_2d import rope_2d_tables

    cos, sin = rope_2d_tables(4, 4, 16)  # (16, 8) each
    ```
    """
    if dim % 4:
        raise ValueError(f"2D RoPE needs a head dimension divisible by 4; got {dim}.")
    quarter = dim // 4
    theta = max_wavelength ** (-np.arange(quarter) / quarter)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    ang_r = rows.reshape(-1, 1) * theta[None, :]
    ang_c = cols.reshape(-1, 1) * theta[None, :]
    ang = np.concatenate([ang_r, ang_c], axis=-1)  # (N, dim/2)
    return np.cos(ang).astype("float32"), np.sin(ang).astype("float32")


@keras.saving.register_keras_serializable(package="keras_wavelit")
class RotaryEmbedding2D(keras.layers.Layer):
    """Axial 2D rotary position embedding for a token grid.

    The RoPE of paper section 3.2 (`docs/design.md` §2.2). Rotates channel
    pairs of queries or keys by angles proportional to the token's row
    (first half of the channels) and column (second half). Within each half,
    channel `i` pairs with channel `i + dim/4` (the "rotate half"
    convention). The grid is given at call time, so any resolution and every
    pyramid level work. Computed in float32, returned in the input's dtype.

    Args:
        max_wavelength: float, base of the frequencies. Defaults to 10000.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tensor `(B, N, heads, d)` with `N = height * width` tokens
            in row-major order and `d` divisible by 4.
        grid: tuple `(height, width)`.

    Returns:
        Tensor of the same shape and dtype.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    q = np.random.rand(2, 8 * 8, 2, 16).astype("float32")
    rotated = kw.layers.RotaryEmbedding2D()(q, grid=(8, 8))  # (2, 64, 2, 16)
    ```
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = max_wavelength

    def call(self, inputs, grid):
        height, width = grid
        n, dim = inputs.shape[1], inputs.shape[-1]
        if n is not None and n != height * width:
            raise ValueError(f"RotaryEmbedding2D: {n} tokens do not match grid {grid}.")
        cos, sin = rope_2d_tables(height, width, dim, self.max_wavelength)
        dtype = inputs.dtype
        x = ops.cast(inputs, "float32")
        cos = ops.convert_to_tensor(cos)[None, :, None, :]
        sin = ops.convert_to_tensor(sin)[None, :, None, :]
        q = dim // 4
        # halves: rows part [0, dim/2), columns part [dim/2, dim)
        x_r1, x_r2 = x[..., :q], x[..., q : 2 * q]
        x_c1, x_c2 = x[..., 2 * q : 3 * q], x[..., 3 * q :]
        cos_r, cos_c = cos[..., :q], cos[..., q:]
        sin_r, sin_c = sin[..., :q], sin[..., q:]
        out = ops.concatenate(
            [
                x_r1 * cos_r - x_r2 * sin_r,
                x_r2 * cos_r + x_r1 * sin_r,
                x_c1 * cos_c - x_c2 * sin_c,
                x_c2 * cos_c + x_c1 * sin_c,
            ],
            axis=-1,
        )
        return ops.cast(out, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
