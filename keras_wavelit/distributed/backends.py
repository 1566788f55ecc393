"""What each Keras backend supports for distributed training (`docs/distributed.md`).

Keras 3.15.1 implements `keras.distribution` (`DataParallel`,
`ModelParallel`, `initialize`) on JAX only: the TensorFlow backend's
`distribution_lib` is a prototype marked "DO NOT USE", and the PyTorch
backend has none (its support exists only in Keras's development branch).
TensorFlow trains data-parallel on the devices of one machine through
`tf.distribute.MirroredStrategy`, which Keras 3's TensorFlow trainer honours.
Everything else raises `DistributionNotSupportedError` up front, naming the
backend and what to use instead, rather than failing or hanging later.
"""

import keras

#: Feature -> backends that support it, with this library's entry points.
SUPPORT = {
    "data_parallel": ("jax", "tensorflow"),
    "model_parallel": ("jax",),
    "multi_process": ("jax",),
}

_HOW = {
    "data_parallel": "data-parallel training (--data-parallel)",
    "model_parallel": "model-parallel training (--model-parallel)",
    "multi_process": "multi-process training (--num-processes > 1)",
}

_WHY = {
    "torch": (
        "the released Keras 3.15.1 has no keras.distribution support for PyTorch (it exists "
        "only in Keras's unreleased development branch)"
    ),
    "tensorflow": (
        "Keras 3.15.1's keras.distribution for TensorFlow is an unfinished prototype; this "
        "library uses tf.distribute.MirroredStrategy for the devices of one machine only"
    ),
}


class DistributionNotSupportedError(RuntimeError):
    """A distributed feature was asked of a backend that lacks it."""


def require(feature, backend=None):
    """Raises `DistributionNotSupportedError` unless `backend` supports `feature`.

    Args:
        feature: `"data_parallel"`, `"model_parallel"` or `"multi_process"`.
        backend: backend name; defaults to `keras.backend.backend()`.

    Returns:
        The backend name.

    Example:

    ```python
    from keras_wavelit.distributed import require

    require("data_parallel", backend="jax")  # "jax"
    try:
        require("data_parallel", backend="torch")
    except RuntimeError as err:
        print(err)
    ```
    """
    if feature not in SUPPORT:
        raise ValueError(f"Unknown feature {feature!r}; expected one of {sorted(SUPPORT)}.")
    backend = backend or keras.backend.backend()
    if backend in SUPPORT[feature]:
        return backend
    why = _WHY.get(backend, f"the {backend} backend has no distribution support in Keras")
    supported = " or ".join(f"KERAS_BACKEND={b}" for b in SUPPORT[feature])
    raise DistributionNotSupportedError(
        f"{_HOW[feature]} is not available on the {backend} backend: {why}. "
        f"Use {supported} (see docs/distributed.md), or train on one device without the flag."
    )
