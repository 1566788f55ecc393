import keras
import numpy as np
import pytest
from attention_reference import mlla_attention
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
    lam = 1e-3 + np.log1p(np.exp([0.0, 1.0]))  # min_ridge_lambda + softplus
    ref = ridge_attention(layer, x[0], lam)
    np.testing.assert_allclose(to_numpy(layer(x))[0], ref, rtol=1e-4, atol=1e-5)


def test_large_lambda_limit_is_vanilla():
    # lambda -> inf: S ~ lambda^-1 K~^T V / N, i.e. lambda * o -> the vanilla state (Eq. 5).
    x = make_input()
    lam = 1e5
    ridge = bare(attention_state="fixed_ridge", ridge_lambda=lam)
    vanilla = bare(ridge=False)
    ridge(x)
    vanilla(x)
    assert vanilla.attention_state == "vanilla"
    vanilla.set_weights(ridge.get_weights())
    out = to_numpy(ridge(x)) * lam
    ref = to_numpy(vanilla(x))
    np.testing.assert_allclose(ref[0], vanilla_attention(vanilla, x[0]), rtol=1e-4, atol=1e-5)
    rel = np.linalg.norm(out - ref) / np.linalg.norm(ref)
    assert rel < 2e-3, rel


def test_least_squares_matches_lstsq():
    # lambda -> 0: S equals the least-squares solution of K S = V.
    x = make_input((1, 8, 8, 32))
    layer = bare(attention_state="least_squares", min_ridge_lambda=1e-6, rope=False)
    out = to_numpy(layer(x))[0]
    assert not any("ridge_raw" in v.path for v in layer.weights)
    from attention_reference import elu_plus_one
    from attention_reference import project

    q, k, v = project(layer, x[0])
    q, k = elu_plus_one(q), elu_plus_one(k)
    ref = np.zeros_like(v)
    for i in range(2):
        s = np.linalg.lstsq(k[:, i], v[:, i], rcond=None)[0]
        ref[:, i] = q[:, i] @ s
    np.testing.assert_allclose(out, ref.reshape(8, 8, 32), rtol=5e-3, atol=5e-3)


def test_fixed_ridge_is_the_ridge_state_without_a_weight():
    x = make_input()
    layer = bare(attention_state="fixed_ridge", ridge_lambda=0.3)
    out = to_numpy(layer(x))
    assert not any("ridge_raw" in v.path for v in layer.weights)
    np.testing.assert_allclose(to_numpy(layer.ridge_lambdas()), [0.3, 0.3], rtol=1e-6)
    np.testing.assert_allclose(
        out[1], ridge_attention(layer, x[1], [0.3, 0.3]), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("state", ["ridge", "least_squares"])
def test_fewer_tokens_than_head_dim_never_singular(state):
    # A 2x2 grid (N = 4) with head_dim 16: the Gram matrix has rank <= 4.
    x = make_input((2, 2, 2, 32))
    layer = bare(attention_state=state)
    layer(x)
    if state == "ridge":  # lambda driven to its floor: softplus(-30) ~ 1e-13
        layer.ridge_raw.assign(np.full((2,), -30.0, "float32"))
    out = to_numpy(layer(x))
    assert np.all(np.isfinite(out))
    lam = [1e-3, 1e-3]
    np.testing.assert_allclose(to_numpy(layer.ridge_lambdas()), lam, rtol=1e-5)
    for b in range(2):
        np.testing.assert_allclose(out[b], ridge_attention(layer, x[b], lam), rtol=2e-3, atol=2e-3)


def test_vanilla_is_eq5_and_mlla_keeps_the_normaliser():
    x = make_input()
    vanilla = bare(ridge=False)
    mlla = bare(attention_state="mlla")
    out = to_numpy(vanilla(x))
    mlla(x)
    mlla.set_weights(vanilla.get_weights())
    out_mlla = to_numpy(mlla(x))
    for b in range(2):
        np.testing.assert_allclose(out[b], vanilla_attention(vanilla, x[b]), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out_mlla[b], mlla_attention(mlla, x[b]), rtol=1e-4, atol=1e-5)
    assert not any("ridge_raw" in v.path for v in vanilla.weights + mlla.weights)


def test_saved_configs_keep_their_state():
    layer = RidgeLinearAttention(num_heads=2, attention_state="least_squares")
    config = layer.get_config()
    assert config["attention_state"] == "least_squares" and "ridge" not in config
    assert RidgeLinearAttention.from_config(config).attention_state == "least_squares"
    # Release 0.1.0 configs: `ridge` (False meant MLLA), `mode`, no floor under lambda.
    old = {k: v for k, v in config.items() if k not in ("attention_state", "min_ridge_lambda")}
    old["mode"] = old.pop("boundary")
    for ridge, state in ((False, "mlla"), (True, "ridge")):
        revived = RidgeLinearAttention.from_config(dict(old, ridge=ridge))
        assert revived.attention_state == state
        assert revived.min_ridge_lambda == 0.0


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
    with pytest.raises(ValueError, match="attention_state"):
        RidgeLinearAttention(attention_state="delta")
    with pytest.raises(ValueError, match="contradicts"):
        RidgeLinearAttention(ridge=False, attention_state="least_squares")
    with pytest.raises(ValueError, match="min_ridge_lambda"):
        RidgeLinearAttention(attention_state="least_squares", min_ridge_lambda=0.0)
    with pytest.raises(ValueError, match="num_heads"):
        RidgeLinearAttention(num_heads=0)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"ridge": False},
        {"attention_state": "fixed_ridge"},
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
