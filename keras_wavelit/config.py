"""One switch for the CPU fast paths of the layers (`docs/design.md` §4).

Some operations compile to slow code under XLA on a CPU, and the layers work
around them (each measured with `benchmarks/profile_step.py` and
`benchmarks/model_throughput.py`):

- `"fusion_barrier"`: `keras_wavelit.ops.fusion_barrier`, an identity
  `keras.ops.cond` that keeps XLA's CPU backend from fusing (and recomputing)
  slow producer chains into reductions and shifted reads (JAX, TensorFlow);
- `"shifted_sum_conv"`: `BoundaryDepthwiseConv2D` as a sum of `k * k`
  shifted, channel-scaled copies (with a hand-written gradient on the XLA
  backends) instead of `keras.ops.depthwise_conv`;
- `"dense_upsampling"`: `SharedFPN`'s bilinear upsampling as two dense
  interpolation products instead of `keras.ops.image.resize`;
- `"gauss_jordan_solve"`: the ridge solve of `RidgeLinearAttention` as a
  Gauss-Jordan loop in `keras.ops` instead of `keras.ops.linalg.solve`
  (LAPACK calls inside jitted JAX programs were seen to hang on small CPU
  machines).

`set_fast_paths("auto")` (the default) enables each of them only where it was
measured to help: on a CPU, for the backends listed in `AUTO_FAST_PATHS`. On
any other device (GPU, TPU) the plain operations run: batched matrix
products, `keras.ops.linalg.solve`, no conditionals. `True` enables every
fast path on every device and backend, `False` none. The choice is made when
a layer is traced, so it costs nothing per step; set it before building or
compiling a model.

This module is not part of the public API (`docs/design.md` §4).

Example:

```python
from keras_wavelit import config

config.set_fast_paths(False)  # the plain operations everywhere
assert not config.fast_path_enabled("fusion_barrier")
config.set_fast_paths("auto")
```
"""

import keras

#: The fast paths the switch controls.
FAST_PATHS = ("fusion_barrier", "shifted_sum_conv", "dense_upsampling", "gauss_jordan_solve")

#: The backends on which `"auto"` enables each fast path on a CPU.
AUTO_FAST_PATHS = {
    # XLA's CPU fusion is what the barriers work around; PyTorch runs eagerly.
    "fusion_barrier": ("jax", "tensorflow"),
    # Faster than XLA's CPU depthwise convolution and its gradient for 3x3
    # kernels; on PyTorch the layer has always run as a shifted sum.
    "shifted_sum_conv": ("jax", "tensorflow", "torch"),
    # TensorFlow's resize and its gradient were slow under XLA on CPU; the
    # products are as fast on JAX and PyTorch, so the CPU path is the same.
    "dense_upsampling": ("jax", "tensorflow", "torch"),
    # LAPACK inside jitted JAX programs hung; TensorFlow's XLA and PyTorch
    # solve quickly (the unrolled elimination compiled for minutes on TF).
    "gauss_jordan_solve": ("jax",),
}

_SETTING = ["auto"]


def set_fast_paths(value="auto"):
    """Turns the CPU fast paths on (`True`), off (`False`) or to `"auto"`.

    Args:
        value: `"auto"` (default: each fast path where measured to help, on
            a CPU only), `True` or `False`.

    Raises:
        ValueError: for any other value.
    """
    if value != "auto" and value is not True and value is not False:
        raise ValueError(f"set_fast_paths expects 'auto', True or False; got {value!r}.")
    _SETTING[0] = value


def fast_paths():
    """The current setting: `"auto"`, `True` or `False`."""
    return _SETTING[0]


def device_platform():
    """The kind of device Keras computes on: `"cpu"`, `"gpu"` or `"tpu"`."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.default_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        for kind in ("TPU", "GPU"):
            if tf.config.list_logical_devices(kind):
                return kind.lower()
        return "cpu"
    if backend == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    return "cpu"


def fast_path_enabled(name):
    """Whether the fast path `name` (one of `FAST_PATHS`) runs now.

    Args:
        name: str, one of `FAST_PATHS`.

    Returns:
        bool: with the setting `"auto"`, true on a CPU for the backends in
        `AUTO_FAST_PATHS[name]`; else the setting itself.

    Raises:
        ValueError: for an unknown `name`.
    """
    if name not in FAST_PATHS:
        raise ValueError(f"Unknown fast path {name!r}; expected one of {FAST_PATHS}.")
    setting = _SETTING[0]
    if setting != "auto":
        return setting
    return device_platform() == "cpu" and keras.backend.backend() in AUTO_FAST_PATHS[name]
