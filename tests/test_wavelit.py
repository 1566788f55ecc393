import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from cross_backend_weights import fixed_input
from cross_backend_weights import small_model
from layer_contract import to_numpy

from keras_wavelit.losses import WaveletLoss
from keras_wavelit.models import WaveLiT
from keras_wavelit.optimizers import WarmupExponentialDecay

HERE = os.path.dirname(__file__)


def data(n=8, t=2, hw=16, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, t, hw, hw, c)).astype("float32")
    y = (0.5 * x[:, -1:] + 0.1).astype("float32")
    return x, y


def tiny(**kw):
    kw.setdefault("dim", 16)
    kw.setdefault("depth", 1)
    kw.setdefault("num_heads", 2)
    return WaveLiT(**kw)


def test_pyramid_combination_and_older_configs():
    model = tiny(fpn_levels=1)
    assert model.get_config()["fpn_combine"] == "residual"
    assert all(m.combine == "residual" for m in model.mixers)
    config = model.get_config()
    del config["fpn_combine"]  # as saved before the argument existed
    old = WaveLiT.from_config(config)
    assert old.fpn_combine == "output"
    assert all(m.combine == "output" for m in old.mixers)


@pytest.mark.parametrize("size,target", [("1.2M", 1.2e6), ("9.5M", 9.5e6)])
def test_preset_parameter_counts(size, target):
    model = WaveLiT(size=size, auto_compile=False)
    model.build((None, 4, 64, 64, 4))
    n = model.count_params()
    assert abs(n - target) / target < 0.05, n
    assert n == sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_default_compile_is_the_paper_recipe():
    model = tiny()
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.AdamW)
    assert isinstance(
        opt.learning_rate_schedule
        if hasattr(opt, "learning_rate_schedule")
        else opt._learning_rate,
        WarmupExponentialDecay,
    )
    assert opt.global_clipnorm == 1.0
    assert opt.use_ema and opt.ema_momentum == pytest.approx(0.99)
    assert opt.ema_warmup == 10  # AdamWWithEMAWarmup
    assert opt.weight_decay == pytest.approx(1e-4)
    assert isinstance(model.loss, WaveletLoss)
    assert (model.loss.alpha, model.loss.beta) == (1.0, 1.0)


def test_fit_evaluate_rollout_and_save(tmp_path):
    x, y = data()
    model = tiny(warmup_steps=4, learning_rate=3e-3)
    hist = model.fit(x, y, batch_size=4, epochs=4, verbose=0)
    loss = hist.history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    assert "vrmse" in hist.history
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert np.isfinite(result["vrmse"])

    pred = to_numpy(model.predict(x[:2], verbose=0))
    assert pred.shape == (2, 1, 16, 16, 3)
    traj = model.rollout(x[:2], steps=3)
    assert traj.shape == (2, 3, 16, 16, 3)
    np.testing.assert_allclose(traj[:, 0], pred[:, 0], rtol=1e-5, atol=1e-5)
    window = np.concatenate([x[:2, 1:], traj[:, :1]], axis=1)
    second = to_numpy(model.predict(window, verbose=0))
    np.testing.assert_allclose(traj[:, 1], second[:, 0], rtol=1e-4, atol=1e-5)

    path = os.path.join(str(tmp_path), "wavelit.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        to_numpy(loaded.predict(x, verbose=0)),
        to_numpy(model.predict(x, verbose=0)),
        rtol=1e-6,
        atol=1e-6,
    )
    assert isinstance(loaded.loss, WaveletLoss)
    assert loaded.get_config() == model.get_config()


def test_constants_and_residual():
    x, y = data(n=4)
    c = np.random.default_rng(3).standard_normal((4, 16, 16, 2)).astype("float32")
    model = tiny(predict_residual=True, auto_compile=False)
    model.compile(optimizer="adam", loss="mse")
    inputs = {"fields": x, "constants": c}
    model.fit(inputs, y, batch_size=2, epochs=1, verbose=0)
    assert model.n_constants == 2
    # zero decoder => prediction is exactly the last input frame
    dec = model.tokenizer.decoder
    dec.set_weights([np.zeros_like(w) for w in dec.get_weights()])
    np.testing.assert_allclose(to_numpy(model(inputs)), x[:, -1:], atol=1e-6)
    traj = model.rollout(inputs, steps=2)
    np.testing.assert_allclose(traj[:, 1], x[:, -1], atol=1e-6)
    # tuple form is the same contract
    np.testing.assert_allclose(to_numpy(model((x, c))), to_numpy(model(inputs)), atol=1e-6)


def test_any_resolution_that_is_a_multiple():
    model = tiny(fpn_levels=2, auto_compile=False)
    model(np.zeros((1, 2, 16, 16, 3), "float32"))
    out = model(np.zeros((1, 2, 32, 24, 3), "float32"))
    assert tuple(out.shape) == (1, 1, 32, 24, 3)


def test_errors():
    model = tiny(fpn_levels=1, auto_compile=False)
    with pytest.raises(ValueError, match="multiple of 4"):
        model(np.zeros((1, 2, 18, 16, 3), "float32"))
    with pytest.raises(ValueError, match=r"\(B, T_in, H, W, C\)"):
        model(np.zeros((1, 16, 16, 3), "float32"))
    with pytest.raises(ValueError, match="2D only"):
        model(np.zeros((1, 2, 8, 8, 8, 3), "float32"))
    model(np.zeros((1, 2, 16, 16, 3), "float32"))
    with pytest.raises(ValueError, match="C=3 fields"):
        model(np.zeros((1, 2, 16, 16, 4), "float32"))
    with pytest.raises(ValueError, match="constant"):
        model(
            {
                "fields": np.zeros((1, 2, 16, 16, 3), "float32"),
                "constants": np.zeros((1, 16, 16, 1), "float32"),
            }
        )
    with pytest.raises(ValueError, match="'fields'"):
        model({"x": np.zeros((1, 2, 16, 16, 3), "float32")})
    with pytest.raises(ValueError, match="Unknown size"):
        WaveLiT(size="3M")
    with pytest.raises(ValueError, match="steps"):
        model.rollout(np.zeros((1, 2, 16, 16, 3), "float32"), steps=0)


@pytest.mark.parametrize(
    "kw",
    [
        {"tokenizer": "conv"},
        {"fpn_levels": 0},
        {"attention": "softmax"},
        {"wavelet": "haar"},
        {"wavelet": "bior4.4", "levels": 2, "fpn_levels": 0},
        {"mode": "periodic", "wavelet": "db2"},
        {"ridge": False, "kernel_gate": False, "lepe": False, "cpe": False, "mila": False},
    ],
)
def test_ablation_configurations(kw):
    model = tiny(auto_compile=False, **kw)
    x, _ = data(n=1)
    assert tuple(model(x).shape) == (1, 1, 16, 16, 3)
    revived = WaveLiT.from_config(model.get_config())
    assert revived.get_config() == model.get_config()


def test_weights_load_across_backends(tmp_path):
    """3 x 3: weights written under each backend (in subprocesses) load under
    the backend running this test with predictions equal to 1e-5."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(HERE, ".."), HERE, env.get("PYTHONPATH", "")])
    procs = []
    for backend in ("jax", "tensorflow", "torch"):
        procs.append(
            subprocess.Popen(
                [sys.executable, os.path.join(HERE, "cross_backend_weights.py"), str(tmp_path)],
                env=dict(env, KERAS_BACKEND=backend),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    x = fixed_input()
    for backend in ("jax", "tensorflow", "torch"):
        model = small_model()
        model(x)
        model.load_weights(os.path.join(str(tmp_path), f"{backend}.weights.h5"))
        expected = np.load(os.path.join(str(tmp_path), f"{backend}_pred.npy"))
        np.testing.assert_allclose(
            to_numpy(model(x)), expected, rtol=1e-5, atol=1e-5, err_msg=f"weights from {backend}"
        )
