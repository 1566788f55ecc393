"""Per-dataset task vector of the foundation model (paper section 3.5)."""

import keras
from keras import ops


def task_rows(table, task_index, batch_like):
    """Rows of a per-task weight for every sample: `(B,) + table.shape[1:]`.

    `task_index` is None (task 0), a Python int, or an integer tensor of
    shape `()`, `(B,)` or `(B, 1)`; `batch_like` is a tensor whose first
    axis is the batch.
    """
    if task_index is None:
        task_index = 0
    idx = ops.convert_to_tensor(task_index)
    if len(idx.shape) == 0 or isinstance(task_index, int):
        zero = ops.zeros_like(ops.reshape(batch_like, (ops.shape(batch_like)[0], -1))[:, 0])
        idx = ops.cast(zero, "int32") + ops.cast(idx, "int32")
    idx = ops.cast(ops.reshape(idx, (-1,)), "int32")
    return ops.take(table, idx, axis=0)


@keras.saving.register_keras_serializable(package="keras_wavelit")
class TaskEmbedding(keras.layers.Layer):
    """Adds one learned vector per dataset (task) to every token.

    WaveLiT-FM's task conditioning (paper section 3.5): after the channel
    lifting, the vector of the sample's dataset is added to each token, so
    the shared trunk knows which system it is solving without any
    dataset-specific weight inside the trunk.

    Args:
        num_tasks: int, number of datasets.
        dim: int, token dimension.
        embeddings_initializer: initializer of the `(num_tasks, dim)` table.
            Defaults to a normal distribution with standard deviation 0.02.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tokens `(B, h, w, dim)`.
        task_index: integer task of every sample, `(B,)` (or a scalar, or a
            Python int). Defaults to task 0.

    Returns:
        Tokens `(B, h, w, dim)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    embed = kw.layers.TaskEmbedding(num_tasks=3, dim=16)
    tokens = np.zeros((2, 8, 8, 16), "float32")
    out = embed(tokens, task_index=np.array([2, 2]))  # every token + vector 2
    ```
    """

    def __init__(self, num_tasks, dim, embeddings_initializer=None, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("num_tasks", num_tasks), ("dim", dim)):
            if int(value) != value or value < 1:
                raise ValueError(f"TaskEmbedding: `{arg}` must be an integer >= 1, got {value!r}.")
        self.num_tasks = int(num_tasks)
        self.dim = int(dim)
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.RandomNormal(stddev=0.02)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def _check_shape(self, shape):
        if shape[-1] is not None and shape[-1] != self.dim:
            raise ValueError(f"TaskEmbedding(dim={self.dim}) got tokens of shape {tuple(shape)}.")

    def build(self, input_shape):
        self._check_shape(input_shape)
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.num_tasks, self.dim),
            initializer=self.embeddings_initializer,
        )

    def call(self, inputs, task_index=None):
        self._check_shape(inputs.shape)
        rows = task_rows(ops.cast(self.embeddings, inputs.dtype), task_index, inputs)
        return inputs + rows[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_tasks": self.num_tasks,
                "dim": self.dim,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            }
        )
        return config
