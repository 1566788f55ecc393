"""The CPU fast-path switch (`keras_wavelit.config`, `docs/design.md` §4)."""

import keras
import numpy as np
import pytest
from layer_contract import gradients
from layer_contract import to_numpy

from keras_wavelit import config
from keras_wavelit.layers import RidgeMILABlock
from keras_wavelit.layers import SharedFPN
from keras_wavelit.ops import fusion_barrier
from keras_wavelit.ops import gradient_fusion_barrier
from keras_wavelit.ops import resolve_solver


@pytest.fixture(autouse=True)
def _restore_setting():
    yield
    config.set_fast_paths("auto")


def test_setting_and_errors():
    assert config.fast_paths() == "auto"
    for value in (True, False, "auto"):
        config.set_fast_paths(value)
        assert config.fast_paths() == value
    with pytest.raises(ValueError, match="'auto', True or False"):
        config.set_fast_paths("on")
    with pytest.raises(ValueError, match="Unknown fast path"):
        config.fast_path_enabled("winograd")
    config.set_fast_paths(True)
    assert all(config.fast_path_enabled(name) for name in config.FAST_PATHS)
    assert resolve_solver("auto") == "gauss_jordan"
    config.set_fast_paths(False)
    assert not any(config.fast_path_enabled(name) for name in config.FAST_PATHS)
    assert resolve_solver("auto") == "linalg"


def test_auto_on_this_cpu_follows_the_measured_table():
    assert config.device_platform() == "cpu"
    backend = keras.backend.backend()
    for name in config.FAST_PATHS:
        assert config.fast_path_enabled(name) == (backend in config.AUTO_FAST_PATHS[name])
    assert resolve_solver("auto") == ("gauss_jordan" if backend == "jax" else "linalg")


@pytest.mark.parametrize("platform", ["gpu", "tpu"])
def test_auto_picks_the_plain_ops_off_cpu(platform, monkeypatch):
    monkeypatch.setattr(config, "device_platform", lambda: platform)
    assert not any(config.fast_path_enabled(name) for name in config.FAST_PATHS)
    assert resolve_solver("auto") == "linalg"
    x = keras.ops.ones((2, 3))
    assert fusion_barrier(x) is x  # no conditional at all
    assert gradient_fusion_barrier(x) is x
    if keras.backend.backend() == "jax":
        import jax

        fpn = SharedFPN(RidgeMILABlock(num_heads=2), pyramid_levels=1)
        t = np.zeros((1, 8, 8, 16), "float32")
        fpn.build(t.shape)
        params = [v.value for v in fpn.trainable_variables]
        others = [v.value for v in fpn.non_trainable_variables]

        def program():
            return str(jax.make_jaxpr(lambda p: fpn.stateless_call(p, others, t)[0])(params))

        jaxpr = program()
        assert not any(op in jaxpr for op in (" cond[", " scan[", " while["))
        monkeypatch.setattr(config, "device_platform", lambda: "cpu")
        assert " cond[" in program()  # the CPU program has its fusion barriers


def _jitted_gradients(layer, x):
    """Gradients as in `layer_contract.gradients`, jitted on JAX (much faster)."""
    if keras.backend.backend() != "jax":
        return gradients(layer, x)
    import jax
    import jax.numpy as jnp

    r = np.random.default_rng(7).standard_normal(x.shape).astype("float32")
    others = [v.value for v in layer.non_trainable_variables]

    def loss(trainable):
        out, _ = layer.stateless_call(trainable, others, x, training=True)
        return jnp.mean(out * r)

    grads = jax.jit(jax.grad(loss))([v.value for v in layer.trainable_variables])
    return [to_numpy(g) for g in grads]


def test_fast_and_plain_paths_agree():
    # One layer traced both ways: fusion barriers, shifted-sum or plain depthwise
    # convolution, dense or `ops.image.resize` upsampling, Gauss-Jordan or
    # `ops.linalg.solve`.
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 16)).astype("float32")
    fpn = SharedFPN(RidgeMILABlock(num_heads=2, boundary="periodic"), pyramid_levels=1)
    results = {}
    for setting in (True, False):
        config.set_fast_paths(setting)
        results[setting] = (to_numpy(fpn(x)), _jitted_gradients(fpn, x))
    (out_fast, grads_fast), (out_plain, grads_plain) = results[True], results[False]
    np.testing.assert_allclose(out_fast, out_plain, rtol=1e-4, atol=1e-5)
    assert len(grads_fast) == len(grads_plain) == len(fpn.trainable_variables)
    for v, a, b in zip(fpn.trainable_variables, grads_fast, grads_plain):
        scale = np.abs(b).max() + 1e-6
        np.testing.assert_allclose(a / scale, b / scale, rtol=1e-3, atol=1e-4, err_msg=v.path)
