import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.losses import WaveletLoss
from keras_wavelit.models import DEFAULT_INPUT_NOISE
from keras_wavelit.models import NonFiniteGuard
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


def schedule_of(model):
    return model.optimizer._learning_rate


def acoustic_windows(n_trajectories, seed, t_in=2):
    """One-step windows of the embedded acoustics simulation at 16 x 16
    (pressure and velocity: 3 fields), as `wavelit demo` trains on."""
    from keras_wavelit.data import acoustics

    sim = acoustics.run(resolution=16, n_trajectories=n_trajectories, n_steps=12, seed=seed)
    p = sim.t0_fields["pressure"].data[..., None]
    fields = np.concatenate([p, sim.t1_fields["velocity"].data], axis=-1).astype("float32")
    fields = fields / fields.std(axis=(0, 1, 2, 3))
    n = fields.shape[1] - t_in
    x = np.concatenate([fields[:, t : t + t_in] for t in range(n)])
    y = np.concatenate([fields[:, t + t_in : t + t_in + 1] for t in range(n)])
    return x, y


@pytest.fixture(scope="module")
def fitted():
    """The default model (compiled by itself) after the README's `fit(...,
    epochs=10)` on a small embedded dataset: 16 windows, batch 8, 20 steps
    (compiled once per module)."""
    keras.utils.set_random_seed(0)
    x, y = acoustic_windows(2, seed=0)
    x, y = x[:16], y[:16]
    xv, yv = acoustic_windows(1, seed=1)
    model = tiny()
    before = model.evaluate(xv, yv, batch_size=10, verbose=0, return_dict=True)["loss"]
    history = model.fit(
        x, y, batch_size=8, epochs=10, validation_data=(xv, yv), validation_freq=10, verbose=0
    )
    history.history["val_loss_before"] = [before]
    return model, history, x, y


def test_default_model_visibly_trains_in_a_short_fit(fitted):
    """Issue 16 item 7: with the paper's fixed 5,000-step warm-up the learning
    rate of these 20 steps stays below 4e-6 and the loss barely moves; the
    adaptive warm-up (2 steps here) lowers it by more than 1.4x."""
    model, history, _, _ = fitted
    assert schedule_of(model).warmup_steps == 2
    before = history.history["val_loss_before"][0]
    after = history.history["val_loss"][-1]
    assert after < before / 1.4, (before, after)


def test_pyramid_combination_and_older_configs():
    model = tiny(pyramid_levels=1, auto_compile=False)
    config = model.get_config()
    assert config["pyramid_combine"] == model.backbone.mixers[0].combine
    del config["pyramid_combine"]  # as saved before the argument existed
    old = WaveLiT.from_config(config)
    assert old.get_config()["pyramid_combine"] == "output"
    # release 0.1 spelled the arguments differently and kept the recipe in the config
    legacy = {k: v for k, v in model.get_config().items() if k not in ("wavelet_levels",)}
    legacy.update(levels=1, fpn_levels=0, mode="periodic", fpn_combine="residual")
    legacy.update(learning_rate=2e-3, warmup_steps=7, weight_decay=0.0, auto_compile=True)
    for key in ("pyramid_levels", "boundary", "pyramid_combine"):
        del legacy[key]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # loading an old file is silent
        revived = WaveLiT.from_config(legacy)
    assert (revived.pyramid_levels, revived.boundary) == (0, "periodic")
    assert revived.get_config()["pyramid_combine"] == "residual"
    for key in ("learning_rate", "warmup_steps", "weight_decay", "levels", "fpn_levels", "mode"):
        assert key not in revived.get_config()
    # ... with the recipe values used by the automatic compile
    assert schedule_of(revived).warmup_steps == 7
    assert schedule_of(revived).peak_learning_rate == 2e-3


def test_renamed_arguments_warn():
    with pytest.warns(DeprecationWarning, match="`fpn_levels`"):
        model = tiny(fpn_levels=0, auto_compile=False)
    assert model.pyramid_levels == 0
    with pytest.warns(DeprecationWarning, match="`levels`"):
        assert tiny(levels=2, pyramid_levels=0, auto_compile=False).wavelet_levels == 2
    with pytest.warns(DeprecationWarning, match="`mode`"):
        assert tiny(mode="periodic", auto_compile=False).boundary == "periodic"
    with pytest.warns(DeprecationWarning, match="pass them to `compile"):
        model = tiny(warmup_steps=3)
    assert schedule_of(model).warmup_steps == 3


def test_default_compile_is_the_paper_recipe_with_the_models_transform():
    model = tiny(wavelet="haar", boundary="periodic", wavelet_levels=2, pyramid_levels=0)
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.AdamW)
    assert isinstance(schedule_of(model), WarmupExponentialDecay)
    assert schedule_of(model).warmup_steps == "auto"
    assert opt.global_clipnorm == 1.0
    assert opt.use_ema and opt.ema_momentum == pytest.approx(0.99)
    assert opt.ema_warmup == 10  # AdamWWithEMAWarmup
    assert opt.weight_decay == pytest.approx(1e-4)
    loss = model.loss
    assert isinstance(loss, WaveletLoss)
    assert (loss.alpha, loss.beta) == (1.0, 1.0)
    assert (loss.wavelet, loss.wavelet_levels, loss.boundary) == ("haar", 2, "periodic")
    assert model.guard_non_finite
    model.compile(schedule="paper")
    assert schedule_of(model).warmup_steps == 5000
    with pytest.raises(ValueError, match="`schedule` must be one of"):
        model.compile(schedule="cosine")
    with pytest.raises(ValueError, match="apply to optimizer='auto' only"):
        model.compile(optimizer="adam", learning_rate=1e-3)


def test_steps_per_epoch_for_the_adaptive_warmup():
    from keras_wavelit.models.recipe import steps_per_epoch_of

    x, _ = data(n=12)
    assert steps_per_epoch_of({"fields": x}, batch_size=5) == 3
    assert steps_per_epoch_of(x, batch_size=4, validation_split=0.25) == 3
    assert steps_per_epoch_of(iter([])) is None


def test_fit_evaluate_rollout_and_save(fitted, tmp_path):
    model, hist, x, y = fitted
    x, y = x[:8], y[:8]
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
    assert schedule_of(loaded).get_config() == schedule_of(model).get_config()


def test_jit_compile_is_not_saved(tmp_path):
    """Issue 16 item 2: a file saved with jit_compile=True loads with the
    loading backend's default (no torch.compile on PyTorch)."""
    model = tiny()
    model.compile(jit_compile=True)
    x, _ = data(n=2)
    model(x)
    assert "jit_compile" not in model.get_compile_config()
    path = os.path.join(str(tmp_path), "jit.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    default = tiny()
    default.build(x.shape)
    assert loaded.jit_compile == default.jit_compile
    if keras.backend.backend() == "torch":
        assert loaded.jit_compile is False


def test_wrong_shapes_give_clear_errors_and_the_model_keeps_working(fitted):
    """Issue 16 item 4: checked before Keras's compiled functions run."""
    model, _, x, y = fitted
    before = to_numpy(model.predict(x, verbose=0))
    wrong = np.zeros((2, 2, 16, 16, 4), "float32")
    for call in (
        lambda: model.predict(wrong, verbose=0),
        lambda: model.evaluate(wrong, y[:2], verbose=0),
        lambda: model.fit(wrong, y[:2], verbose=0),
        lambda: model.predict_on_batch(wrong),
        lambda: model.fit(x, y, validation_data=(wrong, y[:2]), verbose=0),
    ):
        with pytest.raises(ValueError, match=r"built for T_in=2 steps of C=3 fields"):
            call()
    with pytest.raises(ValueError, match="'fields'"):
        model.predict({"x": x}, verbose=0)
    np.testing.assert_allclose(to_numpy(model.predict(x, verbose=0)), before, atol=1e-6)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert np.isfinite(result["loss"])


def test_constants_and_residual():
    x, y = data(n=4)
    c = np.random.default_rng(3).standard_normal((4, 16, 16, 2)).astype("float32")
    model = tiny(predict_residual=True, auto_compile=False)
    model.compile(optimizer="adam", loss="mse")
    inputs = {"fields": x, "constants": c}
    model(inputs)
    assert model.n_constants == 2
    # zero decoder => prediction is exactly the last input frame
    dec = model.decoder.projection
    dec.set_weights([np.zeros_like(w) for w in dec.get_weights()])
    np.testing.assert_allclose(to_numpy(model(inputs)), x[:, -1:], atol=1e-6)
    traj = model.rollout(inputs, steps=2)
    np.testing.assert_allclose(traj[:, 1], x[:, -1], atol=1e-6)
    # tuple form is the same contract
    np.testing.assert_allclose(to_numpy(model((x, c))), to_numpy(model(inputs)), atol=1e-6)


def test_any_resolution_that_is_a_multiple():
    model = tiny(pyramid_levels=2, auto_compile=False)
    model(np.zeros((1, 2, 16, 16, 3), "float32"))
    out = model(np.zeros((1, 2, 32, 24, 3), "float32"))
    assert tuple(out.shape) == (1, 1, 32, 24, 3)


def test_errors():
    # issue 16 item 6: the built model's message, also before build
    unbuilt = tiny(auto_compile=False)
    with pytest.raises(ValueError, match=r"key 'fields'.*got keys \['x'\]"):
        unbuilt({"x": np.zeros((1, 2, 16, 16, 3), "float32")})
    model = tiny(pyramid_levels=1, auto_compile=False)
    with pytest.raises(ValueError, match="pyramid_levels=1.*multiple of 4"):
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
    with pytest.raises(ValueError, match="Unknown WaveLiT preset '3M'"):
        WaveLiT(size="3M")
    with pytest.raises(ValueError, match="steps"):
        model.rollout(np.zeros((1, 2, 16, 16, 3), "float32"), steps=0)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"depth": 0}, "WaveLiT: `depth` must be an integer >= 1, got 0"),
        ({"dim": -8}, "`dim` must be an integer >= 1, got -8"),
        ({"num_heads": 0}, "`num_heads` must be an integer >= 1, got 0"),
        ({"mlp_ratio": 0.0}, "`mlp_ratio` must be a number > 0, got 0.0"),
        ({"mlp_ratio": -1}, "`mlp_ratio` must be a number > 0, got -1"),
        ({"drop_path": 1.0}, r"`drop_path` must be in \[0, 1\), got 1.0"),
        ({"pyramid_levels": -1}, "`pyramid_levels` must be an integer >= 0, got -1"),
        ({"wavelet_levels": 0}, "`wavelet_levels` must be an integer >= 1, got 0"),
    ],
)
def test_constructor_validation(kw, match):
    """Issue 16 item 5: a ValueError naming the argument and the value."""
    with pytest.raises(ValueError, match=match):
        tiny(auto_compile=False, **kw)


def test_non_finite_loss_stops_and_restores_weights():
    """Issue 16 item 8: the default compile guards `fit` against NaN."""
    x, y = data(n=8)
    model = tiny()
    model.fit(x[:4], y[:4], batch_size=4, epochs=1, verbose=0)
    good = [to_numpy(v).copy() for v in model.trainable_variables]
    bad = y.copy()
    bad[5] = np.nan  # a NaN target in the second batch of 4
    with pytest.warns(RuntimeWarning, match="epoch 1, batch 2"):
        history = model.fit(x, bad, batch_size=4, epochs=3, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 1  # stopped in the first epoch
    for v, g in zip(model.trainable_variables, good):
        np.testing.assert_array_equal(to_numpy(v), g)
    assert all(np.all(np.isfinite(to_numpy(v))) for v in model.optimizer.variables)
    # still trains afterwards
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # opting out
    model.compile(guard_non_finite=False)
    assert not model.guard_non_finite
    assert NonFiniteGuard().failure is None


@pytest.mark.parametrize(
    "kw",
    [
        {"tokenizer": "conv"},
        {"pyramid_levels": 0},
        {"attention": "softmax"},
        {"wavelet": "haar"},
        {"wavelet": "bior4.4", "wavelet_levels": 2, "pyramid_levels": 0},
        {"boundary": "periodic", "wavelet": "db2"},
        {"ridge": False, "kernel_gate": False, "lepe": False, "cpe": False, "mila": False},
    ],
)
def test_ablation_configurations(kw):
    model = tiny(auto_compile=False, **kw)
    x, _ = data(n=1)
    assert tuple(model(x).shape) == (1, 1, 16, 16, 3)
    revived = WaveLiT.from_config(model.get_config())
    assert revived.get_config() == model.get_config()


@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="backend-independent: covers all three backends in subprocesses, once per suite run",
)
def test_weights_load_across_backends(tmp_path):
    """3 x 3: weights of a WaveLiT and of a WaveLiT-FM written under each
    backend load under every backend with predictions equal to 1e-5 (each
    backend in its own process)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(HERE, ".."), HERE, env.get("PYTHONPATH", "")])
    script = os.path.join(HERE, "cross_backend_weights.py")
    for step in ("write", "load"):
        procs = [
            subprocess.Popen(
                [sys.executable, script, step, str(tmp_path)],
                env=dict(env, KERAS_BACKEND=backend),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for backend in ("jax", "tensorflow", "torch")
        ]
        for backend, p in zip(("jax", "tensorflow", "torch"), procs):
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, f"{step} under {backend}: {err[-2000:]}"


def test_input_noise_is_sized_to_the_one_step_change_and_off_at_inference():
    """Paper section 5: training-time input noise of `input_noise` times each
    sample's and field's RMS one-step change; inference is unaffected."""
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal((8, 1, 16, 16, 3))
    change = rng.choice([-1.0, 1.0], (8, 1, 16, 16, 3)) * np.array([0.1, 1.0, 3.0])
    x = np.concatenate([x0, x0 + change], axis=1).astype("float32")
    model = tiny(predict_residual=True, pyramid_levels=0, auto_compile=False)
    model.build(x.shape)
    dec = model.decoder.projection
    dec.set_weights([np.zeros_like(w) for w in dec.get_weights()])  # output = last frame
    model.compile(optimizer="sgd", loss="mse", input_noise=0.3)
    np.testing.assert_array_equal(to_numpy(model(x)), x[:, -1:])
    np.testing.assert_array_equal(to_numpy(model(x, training=False)), x[:, -1:])
    noise = to_numpy(model(x, training=True)) - x[:, -1:]
    np.testing.assert_allclose(noise.std(axis=(0, 1, 2, 3)), [0.03, 0.3, 0.9], rtol=0.06)
    assert np.abs(to_numpy(model(x, training=True)) - x[:, -1:] - noise).max() > 0
    with pytest.raises(ValueError, match="`input_noise` must be a number >= 0, got -1"):
        model.compile(input_noise=-1)


def test_input_noise_trains_compiled_and_is_saved(tmp_path):
    x, y = data(n=2)
    default = tiny()  # the "wavelit" recipe: input noise 0.1, adaptive warm-up
    assert default.input_noise == DEFAULT_INPUT_NOISE == 0.1
    assert default.input_noise_seed_generator is not None
    assert schedule_of(default).warmup_steps == "auto"
    plain = tiny(auto_compile=False)
    plain.compile(recipe="paper")  # the paper's plain recipe, by name
    assert plain.input_noise == 0.0 and plain.input_noise_seed_generator is None
    assert plain.get_compile_config()["input_noise"] == 0.0
    assert schedule_of(plain).warmup_steps == 5000
    plain.compile(recipe="paper", input_noise=0.3, schedule="auto")  # explicit ones win
    assert plain.input_noise == 0.3 and schedule_of(plain).warmup_steps == "auto"
    with pytest.raises(ValueError, match="`recipe` must be one of"):
        plain.compile(recipe="walrus")
    model = tiny(pyramid_levels=0)
    model.build(x.shape)
    model.compile(input_noise=0.2)  # after build: the seed's state is still tracked
    seed = model.input_noise_seed_generator
    assert any(v is seed.state for v in model.non_trainable_variables)
    before = to_numpy(seed.state).copy()
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert not np.array_equal(to_numpy(seed.state), before)  # drew noise in the train step
    assert model.get_compile_config()["input_noise"] == 0.2
    path = os.path.join(str(tmp_path), "noise.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.input_noise == 0.2 and loaded.input_noise_seed_generator is not None
