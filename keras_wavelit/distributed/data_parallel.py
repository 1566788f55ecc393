"""Data-parallel training: one model replica per device, the batch split.

On JAX this is `keras.distribution.DataParallel` (every device of every
process of the job); on TensorFlow `tf.distribute.MirroredStrategy` (the
devices of this machine). The models need no change: WaveLiT and its
recipe (paper Appendix E) train under either as they are.
"""

import warnings

import keras

from keras_wavelit.distributed.backends import require


def data_parallel(devices=None, set_global=True, auto_shard_dataset=False):
    """The backend's data-parallel distribution over `devices`.

    On JAX, returns a `keras.distribution.DataParallel` over `devices`
    (default: `keras.distribution.list_devices()`, every device of every
    process of the job) and, with `set_global=True`, makes it the global
    distribution, so that models, optimizers and `fit` built afterwards
    use it; the batches given to `fit` are then each process's part of the
    global batch. On TensorFlow, returns a `tf.distribute.MirroredStrategy`
    over `devices` (default: all local GPUs, else the CPU); build and
    compile the model inside `strategy.scope()`. Keras 3.15.1's TensorFlow
    optimizer clips each replica's gradient before summing them, so under
    `MirroredStrategy` the recipe's global clipping (paper Appendix E) acts
    per replica; a warning says so.

    Args:
        devices: list of device names (`"cpu:0"`, `"gpu:1"`) or None.
        set_global: JAX only: set the distribution globally.
        auto_shard_dataset: JAX only: let Keras shard a `tf.data.Dataset`
            over the processes. Defaults to False: each process feeds its
            own shard (`WellSequence(shard=...)`), which Keras requires for
            every input that is not a `tf.data.Dataset`.

    Returns:
        `keras.distribution.DataParallel` (JAX) or
        `tf.distribute.MirroredStrategy` (TensorFlow).

    Raises:
        DistributionNotSupportedError: on PyTorch (the released Keras has
            no distribution support for it).

    Example:

    ```python
    import keras
    import numpy as np
    import keras_wavelit as kw
    from keras_wavelit.distributed import data_parallel

    if keras.backend.backend() in ("jax", "tensorflow"):
        distribution = data_parallel(set_global=False)
        with distribution.scope():
            model = kw.models.WaveLiT(dim=16, depth=1, num_heads=2)
            x = np.random.rand(2, 1, 16, 16, 2).astype("float32")
            print(model(x).shape)  # (2, 1, 16, 16, 2)
    ```
    """
    backend = require("data_parallel")
    if backend == "jax":
        distribution = keras.distribution.DataParallel(
            devices=list(devices) if devices else None,
            auto_shard_dataset=auto_shard_dataset,
        )
        if set_global:
            keras.distribution.set_distribution(distribution)
        return distribution
    import tensorflow as tf

    warnings.warn(
        "TensorFlow MirroredStrategy: Keras 3.15.1 applies `clipnorm`/`global_clipnorm` to "
        "each replica's gradient before the all-reduce, so the recipe's global clipping at "
        "norm 1 acts per replica (docs/distributed.md). JAX's DataParallel clips the global "
        "gradient.",
        stacklevel=2,
    )
    return tf.distribute.MirroredStrategy(
        devices=[_tf_device(d) for d in devices] if devices else None
    )


def _tf_device(name):
    name = str(name)
    return name if name.startswith("/") else "/" + name


def local_batch_size(global_batch_size, num_processes):
    """Each process's part of a global batch; raises unless it divides evenly.

    Example:

    ```python
    from keras_wavelit.distributed import local_batch_size

    print(local_batch_size(8, 2))  # 4
    ```
    """
    if global_batch_size % num_processes:
        raise ValueError(
            f"The global batch size {global_batch_size} must be divisible by the number of "
            f"processes {num_processes}, so that every process feeds an equal part."
        )
    return global_batch_size // num_processes
