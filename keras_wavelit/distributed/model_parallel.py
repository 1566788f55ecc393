"""Model parallelism for the trunk: its dense kernels sharded over devices.

`trunk_layout_map` shards every mixer block's dense layers Megatron-style
(paper section 3; `docs/design.md` §2.3): the layers that widen or project
the tokens (`query`, `key`, `gate`, `value`, `mila_in`, `mila_gate`,
`mlp_in`) are split along their output features, the ones that return to
the token width (`attention_out`, `mlp_out`) along their input features;
everything else (tokenizer, norms, depthwise convolutions, ridge
parameters) is replicated. XLA's partitioner inserts the collectives, so
results equal unsharded training up to float rounding. At 1-10M
parameters a whole replica with its AdamW and EMA state takes under
0.25 GB, so data parallelism is the better use of devices
(`docs/distributed.md`); this is for models made much wider.
"""

import keras
import numpy as np

from keras_wavelit.distributed.backends import require

_BLOCK = r".*/block_\d+/"
_COLUMN = r"(attention/(query|key|gate|value)|mila_in|mila_gate|mlp_in)"
_ROW = r"(attention_out|mlp_out)"

#: Variable-path patterns (regular expressions, `re.fullmatch`) and how they
#: are sharded: "model" marks the sharded axis.
TRUNK_PATTERNS = {
    _BLOCK + _COLUMN + "/kernel": (None, "model"),
    _BLOCK + _COLUMN + "/bias": ("model",),
    _BLOCK + _ROW + "/kernel": ("model", None),
}


def trunk_layout_map(device_mesh, model_axis="model"):
    """A `keras.distribution.LayoutMap` sharding the trunk's dense kernels.

    Args:
        device_mesh: a `keras.distribution.DeviceMesh` with an axis named
            `model_axis`.
        model_axis: the mesh axis the kernels are split along.

    Returns:
        A `LayoutMap` with the patterns of `TRUNK_PATTERNS`.

    Example:

    ```python
    import keras
    from keras_wavelit.distributed import trunk_layout_map

    if keras.backend.backend() == "jax":
        devices = keras.distribution.list_devices()[:1]
        mesh = keras.distribution.DeviceMesh((1, 1), ("batch", "model"), devices)
        layout_map = trunk_layout_map(mesh)
        print(layout_map["wave_li_t/fpn_0/block_0/mlp_in/kernel"].axes)  # (None, 'model')
    ```
    """
    if model_axis not in device_mesh.axis_names:
        raise ValueError(
            f"model_axis {model_axis!r} is not an axis of the device mesh "
            f"(axes: {list(device_mesh.axis_names)})."
        )
    layout_map = keras.distribution.LayoutMap(device_mesh)
    for pattern, axes in TRUNK_PATTERNS.items():
        layout_map[pattern] = tuple(model_axis if a == "model" else a for a in axes)
    return layout_map


def model_parallel(model_shards, devices=None, set_global=True, auto_shard_dataset=False):
    """`keras.distribution.ModelParallel` over a (batch, model) device mesh.

    The devices form a mesh of shape `(len(devices) // model_shards,
    model_shards)`: the trunk's dense kernels are split over `model_shards`
    devices (`trunk_layout_map`) and the batch over the rest. JAX only.

    Args:
        model_shards: devices each kernel is split over; must divide the
            number of devices, and the split axes of the kernels (the
            token width `dim` and the MLP width).
        devices: device names; defaults to every device of the job.
        set_global: make it the global distribution.
        auto_shard_dataset: see `data_parallel`; defaults to False.

    Returns:
        The `keras.distribution.ModelParallel`.

    Raises:
        DistributionNotSupportedError: on TensorFlow and PyTorch.
        ValueError: `model_shards` does not divide the number of devices.

    Example:

    ```python
    import keras
    from keras_wavelit.distributed import model_parallel

    if keras.backend.backend() == "jax":
        distribution = model_parallel(model_shards=1, set_global=False)
        print(distribution.device_mesh.axis_names)  # ['batch', 'model']
    ```
    """
    require("model_parallel")
    devices = list(devices) if devices else keras.distribution.list_devices()
    model_shards = int(model_shards)
    if model_shards < 1 or len(devices) % model_shards:
        raise ValueError(
            f"model_shards={model_shards} must be a positive divisor of the number of "
            f"devices ({len(devices)})."
        )
    mesh = keras.distribution.DeviceMesh(
        shape=(len(devices) // model_shards, model_shards),
        axis_names=["batch", "model"],
        devices=np.array(devices),
    )
    distribution = keras.distribution.ModelParallel(
        layout_map=trunk_layout_map(mesh),
        batch_dim_name="batch",
        auto_shard_dataset=auto_shard_dataset,
    )
    if set_global:
        keras.distribution.set_distribution(distribution)
    return distribution
