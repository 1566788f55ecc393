"""TensorFlow only: one traced step function per distinct input signature.

Keras's TensorFlow trainer gives the batches of a `PyDataset` one relaxed
signature (unknown height, width and channels) when their shapes differ, as
the foundation model's batches do (one dataset per batch, datasets on
different grids). The wavelet transforms and RoPE need static spatial sizes,
so they cannot trace under that signature. `per_shape_step` instead takes each
batch eagerly and runs one `tf.function` per distinct input signature: one
trace per shape, as JAX does. This is the library's only TensorFlow-specific
code path outside `keras_wavelit.distributed`; the layers and models stay
`keras.ops` only.
"""


def per_shape_step(step, cache, jit_compile):
    """Wraps `step(data)` in one `tf.function` per input signature.

    Args:
        step: the model's `train_step`, `test_step` or `predict_step`.
        cache: dict kept by the caller, `signature -> tf.function`.
        jit_compile: bool, compile each function with XLA.

    Returns:
        A function `run(data)` that traces `step` once per distinct signature
        of `data` (shapes and dtypes of its flattened tensors).
    """
    import tensorflow as tf

    def run(data):
        flat = tf.nest.flatten(data)
        key = tuple((tuple(t.shape), t.dtype.name) for t in map(tf.convert_to_tensor, flat))
        fn = cache.get(key)
        if fn is None:
            fn = tf.function(step, jit_compile=bool(jit_compile), reduce_retracing=False)
            cache[key] = fn
        return fn(data)

    return run
