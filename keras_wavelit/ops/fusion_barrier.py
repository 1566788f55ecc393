"""Hints to the XLA compiler not to fuse across a tensor.

XLA's CPU backend fuses elementwise producers into every consumer, also into
reductions and into the `k*k` shifted reads of a convolution, and it
duplicates the producer chain when there are several consumers. In the
backward pass of a WaveLiT block, the gradient reaching a convolution or a
Dense layer is such a chain (other convolutions' input gradients, matrix
products, activation derivatives); fused into the bias and kernel gradient
reductions it was recomputed a dozen times by slow loops: those reductions
took longer than all matrix products of the block
(`benchmarks/profile_step.py`). Materializing the gradient once avoids it.

`jax.lax.optimization_barrier` does not help here: XLA's CPU pipeline
removes it before fusion. A conditional does keep its operands apart, so the
barrier is an identity `keras.ops.cond` whose predicate XLA cannot fold.
The same holds for TensorFlow's XLA-compiled steps (`jit_compile=True`).

Both functions are fast paths behind `keras_wavelit.config.set_fast_paths`
(`"fusion_barrier"`): with `"auto"` they act on JAX and TensorFlow on a CPU
only, and are identities elsewhere (`docs/design.md` §4).
"""

import keras
from keras import ops

from keras_wavelit import config


def fusion_barrier(*tensors):
    """Returns `tensors` unchanged, materialized before their consumers.

    When the `"fusion_barrier"` fast path is on (`keras_wavelit.config`;
    with `"auto"`: JAX and TensorFlow on a CPU) the tensors pass through
    `keras.ops.cond` with a predicate that is always true but unknown to the
    compiler (`v == v or isnan(v)` for the first element `v` of the first
    tensor), so no consumer can fuse the computation of the tensors; the
    false branch returns zeros and never runs. The cost is one conditional
    and possibly a copy. Otherwise (PyTorch, which runs eagerly and has
    nothing to fuse; any GPU or TPU) the tensors are returned as they are.

    Args:
        *tensors: one or more tensors.

    Returns:
        The tensor, or a tuple of the tensors when several are given.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.ops import fusion_barrier

    a, b = fusion_barrier(np.ones((2, 3), "float32"), np.zeros((3,), "float32"))
    ```
    """
    if _barriers_on():
        first = ops.reshape(tensors[0], (-1,))[0]
        always = ops.logical_or(ops.equal(first, first), ops.isnan(first))
        tensors = ops.cond(
            always,
            lambda: tuple(tensors),
            lambda: tuple(ops.zeros_like(t) for t in tensors),
        )
    return tensors[0] if len(tensors) == 1 else tuple(tensors)


def _barriers_on():
    # A conditional is meaningless outside the XLA backends, whatever the switch.
    return keras.backend.backend() in ("jax", "tensorflow") and config.fast_path_enabled(
        "fusion_barrier"
    )


def gradient_fusion_barrier(x):
    """Identity whose gradient passes through `fusion_barrier`.

    Placed on the output of a layer whose weight gradients are reductions
    of the output gradient (a Dense layer: `x^T g` and `sum(g)`), it makes
    the backward pass compute that gradient once instead of once per
    consumer. A no-op unless the `"fusion_barrier"` fast path is on.

    Args:
        x: tensor.

    Returns:
        `x`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.ops import gradient_fusion_barrier

    y = gradient_fusion_barrier(np.ones((2, 3), "float32"))
    ```
    """
    if not _barriers_on():
        return x

    @ops.custom_gradient
    def identity(t):
        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return fusion_barrier(upstream)

        return t, grad

    return identity(x)
