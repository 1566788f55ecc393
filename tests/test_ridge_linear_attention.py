import keras
import numpy as np
import pytest
from attention_reference import ridge_attention
from attention_reference import softmax_attention
from attention_reference import vanilla_attention
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import RidgeLinearAttention


def make_input(shape=(2, 6, 8, 32), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def bare(**kw):
    kw.setdefault("kernel_gate", False)
    kw.setdefault("lepe", False)
    return RidgeLinearAttention(num_heads=2, **kw)


def test_ridge_matches_float64_reference():
    x = make_input()
    layer = bare(ridge_lambda=0.7)
    out = to_numpy(layer(x))
    for b in range(2):
        ref = ridge_attention(layer, x[b], [0.7, 0.7])
        np.testing.assert_allclose(out[b], ref, rtol=1e-4, atol=1e-5)


def test_ridge_per_head_lambda_is_learned_softplus():
    layer = bare(ridge_lambda=2.5)
    layer(make_input())
    np.testing.assert_allclose(to_numpy(layer.ridge_lambdas()), [2.5, 2.5], rtol=1e-6)
    layer.ridge_raw.assign(np.array([0.0, 1.0], "float32"))
    x = make_input()
    lam = np.log1p(np.exp([0.0, 1.0]))
    ref = ridge_attention(layer, x[0], lam)
    np.testing.assert_allclose(to_numpy(layer(x))[0], ref, rtol=1e-4, atol=1e-5)


def test_large_lambda_limit():
    # lambda -> inf: S ~ lambda^-1 K^T V / N, i.e. lambda * o -> vanilla state.
    x = make_input()
    lam = 1e5
    layer = bare(ridge_lambda=lam)
    out = to_numpy(layer(x)) * lam
    h, w, dim = x.shape[1:]
    from attention_reference import elu_plus_one
    from attention_reference import project
    from attention_reference import rope

    q, k, v = project(layer, x[0])
    qr, kr = rope(elu_plus_one(q), h, w), rope(elu_plus_one(k), h, w)
    ref = np.stack([qr[:, i] @ (kr[:, i].T @ v[:, i] / (h * w)) for i in range(2)], 1).reshape(
        h, w, dim
    )
    rel = np.linalg.norm(out[0] - ref) / np.linalg.norm(ref)
    assert rel < 2e-3, rel


def test_least_squares_limit():
    # lambda -> 0: S equals the least-squares solution of K S = V.
    x = make_input((1, 8, 8, 32))
    layer = bare(ridge_lambda=1e-6, rope=False)
    out = to_numpy(layer(x))[0]
    from attention_reference import elu_plus_one
    from attention_reference import project

    q, k, v = project(layer, x[0])
    q, k = elu_plus_one(q), elu_plus_one(k)
    ref = np.zeros_like(v)
    for i in range(2):
        s = np.linalg.lstsq(k[:, i], v[:, i], rcond=None)[0]
        ref[:, i] = q[:, i] @ s
    np.testing.assert_allclose(out, ref.reshape(8, 8, 32), rtol=5e-3, atol=5e-3)


def test_vanilla_matches_mlla_reference():
    x = make_input()
    layer = bare(ridge=False)
    out = to_numpy(layer(x))
    for b in range(2):
        np.testing.assert_allclose(out[b], vanilla_attention(layer, x[b]), rtol=1e-4, atol=1e-5)
    assert not any(v.name == "ridge_raw" for v in layer.weights)


def test_softmax_baseline_matches_reference():
    x = make_input((1, 4, 4, 32))
    layer = bare(attention="softmax")
    out = to_numpy(layer(x))
    np.testing.assert_allclose(out[0], softmax_attention(layer, x[0]), rtol=1e-4, atol=1e-5)


def test_linalg_solver_agrees_with_gauss_jordan():
    x = make_input()
    a = bare()
    b = bare(solver="linalg")
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(to_numpy(a(x)), to_numpy(b(x)), rtol=1e-4, atol=1e-5)


def test_any_grid_at_call_time():
    layer = RidgeLinearAttention(num_heads=2)
    for shape in [(1, 4, 4, 32), (1, 8, 6, 32), (2, 16, 16, 32)]:
        assert tuple(layer(make_input(shape)).shape) == shape


def test_errors():
    with pytest.raises(ValueError, match="divisible by num_heads"):
        RidgeLinearAttention(num_heads=3)(make_input())
    with pytest.raises(ValueError, match="divisible by 4"):
        RidgeLinearAttention(num_heads=4)(make_input((1, 4, 4, 24)))
    with pytest.raises(ValueError, match="attention"):
        RidgeLinearAttention(attention="quadratic")
    with pytest.raises(ValueError, match="ridge_lambda"):
        RidgeLinearAttention(ridge_lambda=0.0)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"ridge": False},
        {"attention": "softmax"},
        {"value_projection": True, "mode": "periodic"},
    ],
)
def test_layer_contract(kw, tmp_path):
    check_layer(lambda: RidgeLinearAttention(num_heads=2, **kw), (2, 8, 8, 16), tmp_path)


def test_mixed_precision_solves_in_float32():
    keras.config.set_dtype_policy("mixed_bfloat16")
    layer = RidgeLinearAttention(num_heads=2)
    out = layer(make_input((1, 8, 8, 16)))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(layer.ridge_raw.dtype) == "float32"
    assert np.all(np.isfinite(to_numpy(out).astype("float32")))
