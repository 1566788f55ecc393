"""Per-dataset output heads of the foundation model (paper section 3.5)."""

import keras
import numpy as np
from keras import ops

from keras_wavelit.layers.channel_lifting import check_call_boundary
from keras_wavelit.layers.channel_lifting import wavelet_boundaries
from keras_wavelit.layers.dwt import IDWT2D
from keras_wavelit.layers.task_embedding import task_rows


@keras.saving.register_keras_serializable(package="keras_wavelit")
class TaskHead(keras.layers.Layer):
    """One linear head per dataset, from shared tokens to that dataset's fields.

    WaveLiT-FM's output (paper section 3.5): the head of the sample's
    dataset `k` maps every token to the one-level wavelet coefficients of
    the dataset's `output_channels[k]` output channels (a `dim` x
    `4 * C_k` matrix and a bias), and the inverse wavelet transform
    returns the fields on the grid. The heads are stored stacked and padded
    to `S = max(output_channels)` slots; slots beyond `C_k` are masked to
    exactly zero, so the output's channel `j < C_k` is the dataset's `j`-th
    field and the rest are zero.

    Args:
        output_channels: list of ints, output channels of each dataset
            (task).
        wavelet: str, PyWavelets wavelet name. Defaults to `"bior2.2"`.
        boundary: boundary mode of the inverse transform, `"reflect"`
            (default) or `"periodic"`; a call may choose another.
        kernel_initializer: initializer of the stacked head matrices.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tokens `(B, h, w, dim)`.
        task_index: integer task of every sample, `(B,)` (or a scalar).
            Defaults to task 0.
        boundary: optional boundary mode for this call.

    Returns:
        Fields `(B, 2h, 2w, S)`; the first `C_k` channels are task `k`'s.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    head = kw.layers.TaskHead(output_channels=[2, 3])
    tokens = np.random.rand(2, 8, 8, 16).astype("float32")
    fields = head(tokens, task_index=np.array([0, 0]))  # (2, 16, 16, 3)
    gray_scott = fields[..., :2]
    ```
    """

    def __init__(
        self,
        output_channels,
        wavelet="bior2.2",
        boundary="reflect",
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        output_channels = [int(c) for c in output_channels]
        if not output_channels or min(output_channels) < 1:
            raise ValueError(
                "TaskHead: `output_channels` must list at least one task with >= 1 channel; "
                f"got {output_channels!r}."
            )
        self.output_channels = output_channels
        self.wavelet = wavelet
        self.boundary = boundary
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self._boundaries = wavelet_boundaries(wavelet, boundary)
        self.transforms = {
            m: IDWT2D(wavelet, 1, m, dtype=self.dtype_policy, name=f"idwt_{m}")
            for m in self._boundaries
        }
        slots = max(output_channels)
        mask = np.zeros((len(output_channels), slots, 4), "float32")
        for k, c in enumerate(output_channels):
            mask[k, :c] = 1.0
        self._mask = mask.reshape(len(output_channels), 4 * slots)

    @property
    def num_tasks(self):
        return len(self.output_channels)

    @property
    def slots(self):
        return max(self.output_channels)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"TaskHead expects tokens (B, h, w, dim) with a known dim; got {input_shape}."
            )
        dim = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.num_tasks, dim, 4 * self.slots),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.num_tasks, 4 * self.slots), initializer="zeros"
        )

    def call(self, inputs, task_index=None, boundary=None):
        boundary = self.boundary if boundary is None else boundary
        check_call_boundary(boundary, self._boundaries, "TaskHead")
        dtype = inputs.dtype
        mask = ops.convert_to_tensor(self._mask, dtype=dtype)
        kernel = ops.cast(self.kernel, dtype) * mask[:, None, :]
        bias = ops.cast(self.bias, dtype) * mask
        k = task_rows(kernel, task_index, inputs)  # (B, dim, 4S)
        b = task_rows(bias, task_index, inputs)  # (B, 4S)
        h, w, dim = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        x = ops.reshape(inputs, (-1, h * w, dim))
        coeffs = ops.matmul(x, k) + b[:, None, :]
        coeffs = ops.reshape(coeffs, (-1, h, w, 4 * self.slots))
        return self.transforms[boundary](coeffs)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, self.slots)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_channels": list(self.output_channels),
                "wavelet": self.wavelet,
                "boundary": self.boundary,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config
