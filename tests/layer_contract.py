"""The checks every keras-wavelit layer must pass (docs/design.md section 3)."""

import inspect
import os

import keras
import numpy as np
from keras import ops


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def gradients(layer, x):
    """Gradients of ``mean(layer(x) * r)`` (r fixed random) w.r.t. the
    layer's trainable variables, with each backend's autodiff."""
    backend = keras.backend.backend()
    out_shape = layer.compute_output_shape(tuple(x.shape))
    r = (
        np.random.default_rng(7)
        .standard_normal(tuple(d if d is not None else x.shape[0] for d in out_shape))
        .astype("float32")
    )
    variables = layer.trainable_variables
    if not variables:
        return []
    kw = {}
    if "training" in inspect.signature(layer.call).parameters:
        kw["training"] = True
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            out = layer(x, **kw)
            loss = tf.reduce_mean(tf.cast(out, "float32") * r)
        grads = tape.gradient(loss, [v.value for v in variables])
    elif backend == "torch":
        import torch

        out = layer(x, **kw)
        loss = torch.mean(out.float() * torch.as_tensor(r))
        grads = torch.autograd.grad(loss, [v.value for v in variables], allow_unused=True)
    elif backend == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in variables]
        others = [v.value for v in layer.non_trainable_variables]

        def f(tv, x):
            out, _ = layer.stateless_call(tv, others, x, **kw)
            return jnp.mean(out.astype("float32") * r)

        # Jitted: one compile of the whole gradient, where op-by-op execution
        # compiles each of its many ops on its own (about twice the time).
        grads = jax.jit(jax.grad(f))(trainable, x)
    else:  # pragma: no cover
        raise ValueError(backend)
    return [None if g is None else to_numpy(g) for g in grads]


def check_layer(make_layer, input_shape, tmp_path, rtol=1e-5, atol=1e-5, grads=True):
    """Config round trip, symbolic/eager shapes, one training step with a
    non-zero gradient for every trainable weight, and a ``.keras`` round trip
    with identical outputs."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(input_shape).astype("float32")
    layer = make_layer()

    # symbolic shape
    sym = keras.KerasTensor(input_shape)
    sym_out = layer.compute_output_spec(sym)
    # eager shape
    out = to_numpy(layer(x))
    assert out.shape == tuple(sym_out.shape), (out.shape, sym_out.shape)
    assert out.shape == tuple(layer.compute_output_shape(input_shape))
    assert np.all(np.isfinite(out))

    # config round trip
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(to_numpy(clone(x)), out, rtol=rtol, atol=atol)

    # training step: every trainable weight gets a non-zero gradient
    grads = gradients(layer, x) if grads else []
    names = [v.path for v in layer.trainable_variables]
    for name, g in zip(names, grads):
        assert g is not None, f"no gradient for {name}"
        assert np.all(np.isfinite(g)), f"non-finite gradient for {name}"
        assert np.abs(g).max() > 0, f"zero gradient for {name}"

    # .keras round trip inside a model
    inputs = keras.Input(input_shape[1:], batch_size=input_shape[0])
    model = keras.Model(inputs, layer(inputs))
    path = os.path.join(str(tmp_path), "layer.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded(x)), to_numpy(model(x)), rtol=rtol, atol=atol)
    return layer, out
