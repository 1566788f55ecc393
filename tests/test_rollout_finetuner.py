import keras
import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.models import WaveLiT
from keras_wavelit.training import RolloutFinetuner


@keras.saving.register_keras_serializable(package="keras_wavelit_tests")
class ScaleLast(keras.Model):
    """pred = a * last input frame: gradients of unrolls are known exactly."""

    def __init__(self, a=0.8, **kwargs):
        super().__init__(**kwargs)
        self.a0 = a
        self.a = self.add_weight(shape=(), initializer=keras.initializers.Constant(a), name="a")

    def call(self, inputs, training=None):
        fields = inputs["fields"] if isinstance(inputs, dict) else inputs
        return self.a * fields[:, -1:]

    def get_config(self):
        return {**super().get_config(), "a": self.a0}


def batch(seed=0, k=2):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 2, 4, 4, 1)).astype("float32")
    y = rng.standard_normal((3, k, 4, 4, 1)).astype("float32")
    return x, y


def one_sgd_step(method, x, y, a=0.8, step=0, **kw):
    model = ScaleLast(a)
    ft = RolloutFinetuner(
        model,
        method=method,
        unroll=y.shape[1],
        auto_compile=False,
        step_loss=keras.losses.MeanSquaredError(),
        **kw,
    )
    ft.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0))
    ft(x)
    ft.finetune_step.assign(step)
    ft.train_on_batch(x, y)
    return a - float(to_numpy(model.a))  # the gradient


def mse(p, t):
    return float(np.mean((p - t) ** 2))


def analytic(method, x, y, a=0.8, eps=1.0, truth_fed=False):
    u = x[:, -1:].astype("float64")
    y1, y2 = y[:, :1].astype("float64"), y[:, 1:2].astype("float64")
    p1 = a * u
    l1 = mse(p1, y1)
    g1 = np.mean(2 * (p1 - y1) * u)
    if truth_fed:  # second input is the truth: p2 = a * y1
        p2 = a * y1
        g2 = np.mean(2 * (p2 - y2) * y1)
    else:
        p2 = a * a * u
        g2 = np.mean(2 * (p2 - y2) * 2 * a * u)
    if method == "pushforward":
        return np.mean(2 * (p2 - y2) * (a * u))
    if method == "causal_bptt":
        return (g1 + np.exp(-eps * l1) * g2) / 2
    return (g1 + g2) / 2


def test_bptt_gradient_through_all_steps():
    x, y = batch()
    np.testing.assert_allclose(one_sgd_step("bptt", x, y), analytic("bptt", x, y), rtol=1e-4)


def test_pushforward_has_no_gradient_through_intermediate_steps():
    x, y = batch()
    g = one_sgd_step("pushforward", x, y)
    np.testing.assert_allclose(g, analytic("pushforward", x, y), rtol=1e-4)
    assert abs(g - analytic("bptt", x, y)) > 1e-3


@pytest.mark.parametrize("eps", [0.0, 0.5, 3.0])
def test_causal_bptt_weights_follow_the_formula(eps):
    x, y = batch(1)
    g = one_sgd_step("causal_bptt", x, y, causal_eps=eps)
    np.testing.assert_allclose(g, analytic("causal_bptt", x, y, eps=eps), rtol=1e-4)
    if eps == 0.0:
        np.testing.assert_allclose(g, analytic("bptt", x, y), rtol=1e-4)


def test_scheduled_sampling_feeds_truth_then_predictions():
    x, y = batch(2)
    # start of the schedule: teacher forcing rate 1, the second input is y1
    g_start = one_sgd_step("scheduled_sampling", x, y, step=0, schedule_steps=10)
    np.testing.assert_allclose(g_start, analytic("ss", x, y, truth_fed=True), rtol=1e-4)
    # end of the schedule: rate 0, fully autoregressive (BPTT)
    g_end = one_sgd_step("scheduled_sampling", x, y, step=10, schedule_steps=10)
    np.testing.assert_allclose(g_end, analytic("bptt", x, y), rtol=1e-4)


def test_teacher_forcing_rate_follows_linear_schedule():
    x, y = batch(3, k=2)
    xs, ys = np.concatenate([x] * 4), np.concatenate([y] * 4)
    ft = RolloutFinetuner(ScaleLast(), unroll=2, schedule_steps=8, auto_compile=False)
    ft.compile(optimizer=keras.optimizers.SGD(1e-3))
    hist = ft.fit(xs, ys, batch_size=3, epochs=2, verbose=0, shuffle=False)
    assert int(to_numpy(ft.finetune_step)) == 8
    np.testing.assert_allclose(float(to_numpy(ft.teacher_forcing_rate())), 0.0, atol=1e-7)
    np.testing.assert_allclose(float(to_numpy(ft.teacher_forcing_rate(2))), 0.75, rtol=1e-6)
    # per-epoch means of the rate: steps 0..3 then 4..7
    np.testing.assert_allclose(
        hist.history["teacher_forcing"], [1 - 1.5 / 8, 1 - 5.5 / 8], rtol=1e-5
    )


def test_jitter_and_noise_run_and_errors():
    x, y = batch(4)
    ft = RolloutFinetuner(
        ScaleLast(),
        method="bptt",
        unroll=2,
        jitter=True,
        noise_std=0.01,
        auto_compile=False,
        seed=3,
    )
    ft.compile(optimizer=keras.optimizers.SGD(1e-3))
    hist = ft.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    with pytest.raises(ValueError, match="method"):
        RolloutFinetuner(ScaleLast(), method="dagger")
    with pytest.raises(ValueError, match="unroll"):
        RolloutFinetuner(ScaleLast(), unroll=0)
    short = RolloutFinetuner(ScaleLast(), unroll=3, auto_compile=False)
    short.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="n_steps_output=3"):
        short.train_on_batch(x, y)


@pytest.mark.slow
def test_finetunes_wavelit_with_fit():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 16, 16, 2)).astype("float32")
    y = rng.standard_normal((4, 2, 16, 16, 2)).astype("float32")
    base = WaveLiT(dim=16, depth=1, num_heads=2, pyramid_levels=0, auto_compile=False)
    base(x)
    before = [to_numpy(w).copy() for w in base.trainable_variables]
    ft = RolloutFinetuner(base, method="causal_bptt", unroll=2, learning_rate=1e-3)
    hist = ft.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    changed = [np.abs(to_numpy(w) - b).max() > 0 for w, b in zip(base.trainable_variables, before)]
    assert all(changed)
    assert base.rollout(x[:1], 3).shape == (1, 3, 16, 16, 2)


def test_scheduled_sampling_anneals_over_the_whole_fit_by_default():
    x, y = batch(5, k=2)
    xs, ys = np.concatenate([x] * 4), np.concatenate([y] * 4)  # 12 samples
    ft = RolloutFinetuner(ScaleLast(), unroll=2, auto_compile=False)
    assert ft.schedule_steps is None and ft.get_config()["schedule_steps"] is None
    ft.compile(optimizer=keras.optimizers.SGD(1e-3))
    hist = ft.fit(xs, ys, batch_size=3, epochs=3, verbose=0, shuffle=False)
    # 4 batches x 3 epochs: the rate falls from 1 to 0 over these 12 steps, not over 1000
    assert int(to_numpy(ft.schedule_length)) == 12
    np.testing.assert_allclose(
        hist.history["teacher_forcing"], [1 - 1.5 / 12, 1 - 5.5 / 12, 1 - 9.5 / 12], rtol=1e-5
    )
    # a second fit continues the run: 12 done + 8 more
    ft.fit(xs, ys, batch_size=6, epochs=4, verbose=0)
    assert int(to_numpy(ft.schedule_length)) == 20


def test_default_step_loss_uses_the_models_wavelet():
    base = WaveLiT(
        dim=16, depth=1, num_heads=2, wavelet="haar", boundary="periodic", auto_compile=False
    )
    loss = RolloutFinetuner(base, auto_compile=False).step_loss
    assert (loss.wavelet, loss.boundary, loss.wavelet_levels) == ("haar", "periodic", 1)


def test_relative_noise_is_sized_to_the_one_step_change():
    """Paper section 5: `relative_noise=True` measures `noise_std` in each sample's
    and field's RMS one-step change, the rule of `WaveLiT.compile(input_noise=...)`."""
    rng = np.random.default_rng(7)
    x0 = rng.standard_normal((4, 1, 16, 16, 2))
    change = rng.choice([-1.0, 1.0], (4, 1, 16, 16, 2)) * np.array([0.5, 5.0])
    x = np.concatenate([x0, x0 + change], axis=1).astype("float32")
    y = rng.standard_normal((4, 2, 16, 16, 2)).astype("float32")
    stds = {}
    for relative in (False, True):
        ft = RolloutFinetuner(
            ScaleLast(1.0),
            method="pushforward",
            unroll=2,
            noise_std=0.2,
            relative_noise=relative,
            auto_compile=False,
            seed=0,
        )
        _, preds, _ = ft.unrolled_losses(x, y, training=True)
        stds[relative] = (to_numpy(preds[0]) - x[:, -1:]).std(axis=(0, 1, 2, 3))
        _, clean, _ = ft.unrolled_losses(x, y, training=False)
        np.testing.assert_array_equal(to_numpy(clean[0]), x[:, -1:])
    np.testing.assert_allclose(stds[False], [0.2, 0.2], rtol=0.08)
    np.testing.assert_allclose(stds[True], [0.1, 1.0], rtol=0.08)
    config = ft.get_config()
    assert (config["relative_noise"], config["noise_std"]) == (True, 0.2)
    with pytest.raises(ValueError, match="`noise_std` must be a number >= 0, got -0.1"):
        RolloutFinetuner(ScaleLast(), noise_std=-0.1)


def test_warmup_for_a_multi_step_objective_from_the_start():
    x, y = batch(8, k=2)
    xs, ys = np.concatenate([x] * 10), np.concatenate([y] * 10)  # 30 samples
    ft = RolloutFinetuner(
        ScaleLast(), method="causal_bptt", unroll=2, learning_rate=1e-3, warmup_steps="auto"
    )
    schedule = ft.optimizer._learning_rate
    assert schedule.warmup_steps == "auto" and ft.get_config()["warmup_steps"] == "auto"
    ft.fit(xs, ys, batch_size=3, epochs=2, verbose=0)
    assert schedule.warmup_steps == 2  # a tenth of the 20 steps of this fit
    assert schedule.peak_learning_rate == 1e-3
    fixed = RolloutFinetuner(ScaleLast(), warmup_steps=7)
    assert fixed.optimizer._learning_rate.warmup_steps == 7
    assert RolloutFinetuner(ScaleLast()).optimizer._learning_rate.warmup_steps == 0
    with pytest.raises(ValueError, match="`warmup_steps` must be an integer >= 0 or 'auto'"):
        RolloutFinetuner(ScaleLast(), warmup_steps="paper")
