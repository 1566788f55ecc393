import json
import os

import keras
import numpy as np
import pytest

from keras_wavelit.evaluation import error_growth
from keras_wavelit.evaluation import error_spectrum
from keras_wavelit.evaluation import evaluate_one_step
from keras_wavelit.evaluation import evaluate_rollout
from keras_wavelit.evaluation import plots
from keras_wavelit.evaluation import rapsd
from keras_wavelit.evaluation import rollout_windows
from keras_wavelit.evaluation import write_report

H, W, C, T_IN = 8, 16, 2, 2
SPEEDS = np.array([1, 1, 2, 5])  # pixels per step, one per trajectory


def advected_sines(n_steps, speeds=SPEEDS, amplitudes=(1.0, 3.0)):
    """u_t(y, x) = A_c sin(2 pi (x - v t) / W + phase): each trajectory translates
    a sinusoid by v pixels per step (periodic), so persistence errors are analytic."""
    t = np.arange(T_IN + n_steps)[None, :, None, None, None]
    v = np.asarray(speeds)[:, None, None, None, None]
    x = np.arange(W)[None, None, None, :, None]
    phase = np.array([0.3, 1.1])[None, None, None, None, :]
    amp = np.asarray(amplitudes)[None, None, None, None, :]
    u = amp * np.sin(2 * np.pi * (x - v * t) / W + phase)
    return np.broadcast_to(u, (len(speeds), T_IN + n_steps, H, W, C)).astype("float32")


def persistence_vrmse(speed, step, amplitude=1.0):
    """VRMSE of repeating the last input frame, ``step`` steps later."""
    n = H * W
    delta = 2 * np.pi * speed * step / W
    err = amplitude**2 * (1 - np.cos(delta))
    var = amplitude**2 * 0.5 * n / (n - 1)
    return np.sqrt(err / (var + 1e-7))


class Persistence:
    """A fake surrogate with the library's rollout contract."""

    def __init__(self):
        self.calls = []

    def rollout(self, x0, steps):
        self.calls.append(x0)
        fields = x0["fields"] if isinstance(x0, dict) else x0
        last = keras.ops.convert_to_tensor(fields[:, -1:])
        return keras.ops.repeat(last, steps, axis=1)


def test_rollout_windows_undefined_by_default_partial_on_request():
    assert [(w.name, w.defined) for w in rollout_windows(1)] == [
        ("1:1", True),
        ("6:12", False),
        ("13:30", False),
        ("2:8", False),
        ("9:26", False),
        ("27:56", False),
    ]
    ws = rollout_windows(16)
    assert [w.name for w in ws if w.defined] == ["1:1", "6:12", "2:8"]
    assert (ws[2].start, ws[2].end, ws[2].nominal_end, ws[2].defined) == (13, 16, 30, False)
    assert ws[2].length == 0 and not ws[2].partial
    assert not ws[1].partial and ws[1].slice() == slice(5, 12) and ws[1].length == 7
    partial = rollout_windows(16, include_partial=True)
    assert [(w.name, w.end) for w in partial if w.partial] == [("13:30", 16), ("9:26", 16)]
    assert not partial[5].defined  # 27:56 starts after the last step
    assert partial[5].to_dict()["defined"] is False
    all_six = rollout_windows(56)
    assert [w.name for w in all_six] == ["1:1", "6:12", "13:30", "2:8", "9:26", "27:56"]
    assert all(w.defined and not w.partial for w in all_six)
    custom = rollout_windows(10, windows=[(3, 4), ("late", 9, 20)], include_partial=True)
    assert [(w.name, w.start, w.end) for w in custom] == [("3:4", 3, 4), ("late", 9, 10)]
    with pytest.raises(ValueError):
        rollout_windows(0)
    with pytest.raises(ValueError):
        rollout_windows(10, windows=[(5, 2)])


def test_persistence_matches_analytic_vrmse_mean_and_median():
    n_steps = 30
    traj = advected_sines(n_steps)
    model = Persistence()
    res = evaluate_rollout(model, traj, T_IN, batch_size=3, field_names=["u", "w"])
    # Batches of 3 and 1, the last padded to 3 rows: one batch shape for compiled models.
    assert [len(c) for c in model.calls] == [3, 3]
    steps = np.arange(1, n_steps + 1)
    expected = np.stack([persistence_vrmse(v, steps) for v in SPEEDS])  # (N, steps), amplitude 1
    expected_f1 = np.stack([persistence_vrmse(v, steps, 3.0) for v in SPEEDS])
    np.testing.assert_allclose(res.values["vrmse"][..., 0], expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(res.values["vrmse"][..., 1], expected_f1, rtol=1e-4, atol=1e-5)
    assert [w.name for w in res.windows] == ["1:1", "6:12", "13:30", "2:8", "9:26", "27:56"]
    assert res.windows[-1].end == 30 and not res.windows[-1].defined
    assert res.score("27:56") is None and res.score("27:56", stat="mean") is None
    field_mean = (expected + expected_f1) / 2
    for w in res.windows[:-1]:
        per_traj = field_mean[:, w.start - 1 : w.end].mean(axis=1)
        np.testing.assert_allclose(res.score(w.name, stat="mean"), per_traj.mean(), rtol=1e-4)
        np.testing.assert_allclose(res.score(w.name), np.median(per_traj), rtol=1e-4)
    # Speeds 1, 1, 2, 5 make mean and median differ.
    assert abs(res.score("6:12", stat="mean") - res.score("6:12")) > 1e-3
    s612 = res.scores["vrmse"][1]
    np.testing.assert_allclose(
        s612.per_field_median[1], np.median(expected_f1[:, 5:12].mean(axis=1)), rtol=1e-4
    )
    assert not res.diverged and res.divergences == []
    np.testing.assert_allclose(
        res.per_step("vrmse", "median"), np.median(field_mean, axis=0), rtol=1e-4
    )
    # MSE and nRMSE in the same units as the data (amplitudes 1 and 3).
    np.testing.assert_allclose(
        res.values["mse"][0, :, 1], 9.0 * (1 - np.cos(2 * np.pi * steps / W)), rtol=1e-4, atol=1e-5
    )
    payload = json.loads(json.dumps(res.to_dict(include_values=True), allow_nan=False))
    assert payload["windows"]["vrmse"][1]["name"] == "6:12"
    assert set(payload["windows"]["vrmse"][1]["per_field_median"]) == {"u", "w"}
    assert payload["windows"]["vrmse"][5]["defined"] is False
    assert payload["windows"]["vrmse"][5]["median"] is None
    table = res.summary_table()
    assert table.startswith(
        "| window | steps | vrmse (mean over trajectories) | vrmse (median over trajectories) "
        "| u (median) |"
    )
    assert "| 27:56 | 27-56 (undefined) | — | — | — | — | — |" in table

    # The option keeps the window, truncated to the 30 steps the rollout has.
    kept = evaluate_rollout(Persistence(), traj, T_IN, include_partial_windows=True, verbose=0)
    w = kept.windows[-1]
    assert w.partial and (w.start, w.end) == (27, 30)
    np.testing.assert_allclose(kept.score("27:56"), np.median(field_mean[:, 26:30].mean(axis=1)))
    assert "| 27:56 | 27-30 (partial) |" in kept.summary_table()


def test_callable_predictor_is_stepped_and_exact_shift_scores_zero():
    traj = advected_sines(12)
    by_method = evaluate_rollout(Persistence(), traj, T_IN)
    by_callable = evaluate_rollout(lambda x: x[:, -1:], traj, T_IN, batch_size=None)
    np.testing.assert_allclose(by_callable.values["vrmse"], by_method.values["vrmse"], rtol=1e-6)

    def exact_shift(x):
        # Infer each sample's shift from its last two frames, then apply it.
        out = []
        for a, b in zip(x[:, -2], x[:, -1]):
            v = next(s for s in range(W) if np.allclose(np.roll(a, s, axis=1), b, atol=1e-5))
            out.append(np.roll(b, v, axis=1))
        return np.stack(out)[:, None]

    res = evaluate_rollout(exact_shift, traj, T_IN)
    assert np.abs(res.values["vrmse"]).max() < 1e-3
    assert res.score("6:12") < 1e-3 and not res.diverged

    # A Keras model predicting one step is a valid callable.
    inputs = keras.Input((T_IN, H, W, C))
    last = keras.layers.Lambda(lambda t: t[:, -1:])(inputs)
    res_keras = evaluate_rollout(keras.Model(inputs, last), traj, T_IN, n_steps=5)
    assert res_keras.n_steps == 5
    np.testing.assert_allclose(
        res_keras.values["vrmse"], by_method.values["vrmse"][:, :5], rtol=1e-5, atol=1e-6
    )


def test_divergence_non_finite_reports_first_step_without_crashing():
    traj = advected_sines(30)

    class BlowsUp(Persistence):
        def rollout(self, x0, steps):
            out = np.array(keras.ops.convert_to_numpy(super().rollout(x0, steps)))
            out[1, 6:] = np.nan  # trajectory 1 goes bad at step 7
            out[3, 13:, 0, 0, 1] = np.inf  # trajectory 3: one inf value from step 14
            return out

    res = evaluate_rollout(BlowsUp(), traj, T_IN)
    assert res.diverged
    assert [(d.trajectory, d.step, d.reason) for d in res.divergences] == [
        (1, 7, "non_finite"),
        (3, 14, "non_finite"),
    ]
    assert (
        np.isinf(res.values["vrmse"][1, 6:]).all() and np.isfinite(res.values["vrmse"][1, :6]).all()
    )
    assert (
        np.isinf(res.values["mse"][3, 13:]).all() and np.isfinite(res.values["mse"][3, :13]).all()
    )
    scores = {s.window.name: s for s in res.scores["vrmse"]}
    assert scores["1:1"].n_diverged == 0 and np.isfinite(scores["1:1"].mean)
    assert scores["6:12"].n_diverged == 1 and scores["13:30"].n_diverged == 2
    assert np.isinf(scores["6:12"].mean) and np.isfinite(scores["6:12"].median)
    assert np.isinf(scores["13:30"].median)  # 2 of 4 infinite: the median is their midpoint
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["diverged"] is True
    assert payload["divergences"][0] == {
        "trajectory": 1,
        "step": 7,
        "reason": "non_finite",
        "value": None,
    }
    assert payload["windows"]["vrmse"][1]["mean"] is None
    table = res.summary_table()
    assert "| inf |" in table and "- trajectory 1: step 7 (non_finite)" in table


def test_divergence_threshold():
    static = advected_sines(6, speeds=[0, 0, 0])

    def growing(x):
        return 3.0 * x[:, -1:]  # step s predicts 3^s u

    # VRMSE at step s is (3^s - 1) sqrt((n - 1) / n): 2, 8, 26 ... > 10 first at step 3.
    res = evaluate_rollout(growing, static, T_IN, divergence_threshold=10.0)
    n = H * W
    np.testing.assert_allclose(
        res.values["vrmse"][0, :3, 0],
        (3.0 ** np.arange(1, 4) - 1) * np.sqrt((n - 1) / n),
        rtol=1e-4,
    )
    assert [(d.step, d.reason) for d in res.divergences] == [(3, "threshold")] * 3
    assert res.divergences[0].value == pytest.approx(26 * np.sqrt((n - 1) / n), rel=1e-4)
    assert not evaluate_rollout(growing, static, T_IN, divergence_threshold=None).diverged
    assert not evaluate_rollout(
        growing, static, T_IN, n_steps=2, divergence_threshold=10.0
    ).diverged


def test_denormalize_scores_in_physical_units():
    traj = advected_sines(8)
    scale = np.array([10.0, 0.5], "float32")
    offset = np.array([100.0, -3.0], "float32")
    shapes = []

    def denormalize(a):
        shapes.append(a.shape)
        return a * scale + offset

    plain = evaluate_rollout(Persistence(), traj, T_IN)
    phys = evaluate_rollout(
        Persistence(), traj, T_IN, denormalize=denormalize, return_predictions=True
    )
    assert shapes == [(4, 8, H, W, C), (4, 8, H, W, C)]
    np.testing.assert_allclose(
        phys.values["mse"], plain.values["mse"] * scale**2, rtol=1e-3, atol=1e-4
    )
    # VRMSE is invariant to a per-field affine map (up to eps); nRMSE is not.
    np.testing.assert_allclose(phys.values["vrmse"], plain.values["vrmse"], rtol=1e-3, atol=1e-4)
    assert not np.allclose(phys.values["nrmse"], plain.values["nrmse"], rtol=1e-2)
    np.testing.assert_allclose(
        phys.predictions[:, 0], traj[:, T_IN - 1] * scale + offset, rtol=1e-5
    )


def test_constants_are_passed_in_dict_form():
    traj = advected_sines(4)
    consts = np.random.default_rng(0).standard_normal((4, H, W, 1)).astype("float32")
    model = Persistence()
    evaluate_rollout(model, traj, T_IN, constants=consts, batch_size=3)
    assert all(isinstance(c, dict) and set(c) == {"fields", "constants"} for c in model.calls)
    # Batches of 3 and 1 (padded to 3 by repeating the last trajectory).
    seen_constants = np.concatenate([c["constants"] for c in model.calls])
    seen_fields = np.concatenate([c["fields"] for c in model.calls])
    np.testing.assert_array_equal(seen_constants, consts[[0, 1, 2, 3, 3, 3]])
    np.testing.assert_array_equal(seen_fields, traj[[0, 1, 2, 3, 3, 3], :T_IN])

    seen = []

    def predict(x):
        seen.append(x["constants"])
        return x["fields"][:, -1:]

    evaluate_rollout(predict, traj, T_IN, constants=consts[0])  # shared (H, W, C_const)
    assert len(seen) == 4 and all(s.shape == (4, H, W, 1) for s in seen)
    np.testing.assert_array_equal(seen[0][3], consts[0])


def test_input_validation():
    traj = advected_sines(4)
    with pytest.raises(ValueError, match=r"\(N, T, H, W, C\)"):
        evaluate_rollout(Persistence(), traj[0], T_IN)
    with pytest.raises(ValueError, match="n_steps"):
        evaluate_rollout(Persistence(), traj, T_IN, n_steps=5)
    with pytest.raises(ValueError, match="n_steps_input"):
        evaluate_rollout(Persistence(), traj, 6)
    with pytest.raises(TypeError, match="rollout"):
        evaluate_rollout(object(), traj, T_IN)
    with pytest.raises(ValueError, match="Unknown metrics"):
        evaluate_rollout(Persistence(), traj, T_IN, metrics=("psnr",))

    class Wrong:
        def rollout(self, x0, steps):
            return np.zeros((x0.shape[0], steps + 1) + x0.shape[2:])

    with pytest.raises(ValueError, match="returned shape"):
        evaluate_rollout(Wrong(), traj, T_IN)
    with pytest.raises(ValueError, match="constants"):
        evaluate_rollout(Persistence(), traj, T_IN, constants=np.zeros((3, H, W, 1)))


def test_rapsd_of_sinusoids_peaks_at_wavenumber():
    n = 64
    y, x = np.meshgrid(np.arange(n) / n, np.arange(n) / n, indexing="ij")
    for field, k_expected in [
        (np.sin(2 * np.pi * 5 * x), 5),
        (np.cos(2 * np.pi * 9 * y), 9),
        (np.sin(2 * np.pi * (3 * x + 4 * y)), 5),
    ]:
        k, p = rapsd(field)
        assert k.shape == p.shape == (33,)
        assert int(k[np.argmax(p)]) == k_expected
        assert p[k_expected] > 1e6 * np.delete(p, k_expected).max()
    # Batched input and the mean bin.
    k, p = rapsd(np.stack([np.ones((n, n)), 2 * np.ones((n, n))]))
    assert p.shape == (2, 33)
    np.testing.assert_allclose(p[:, 0], [1.0, 4.0])
    np.testing.assert_allclose(p[:, 1:], 0.0, atol=1e-20)
    assert rapsd(np.ones((n, n)), remove_mean=True)[1].max() < 1e-20


def test_error_spectrum():
    rng = np.random.default_rng(1)
    target = rng.standard_normal((2, 3, 32, 32, 2))
    x = np.arange(32) / 32
    bump = np.zeros_like(target)
    bump[..., 1] = np.sin(2 * np.pi * 7 * x)[None, :]  # error only in field 1, at k = 7
    k, p = error_spectrum(target + bump, target)
    assert p.shape == (17,) and int(k[np.argmax(p)]) == 7
    k, pf = error_spectrum(keras.ops.convert_to_tensor(target + bump), target, per_field=True)
    assert pf.shape == (2, 17)
    np.testing.assert_allclose(pf[0], 0.0, atol=1e-12)  # tensor input went through float32
    np.testing.assert_allclose(pf.mean(axis=0), p, rtol=1e-5, atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        error_spectrum(target, target[:1])


def _is_png(path):
    with open(path, "rb") as f:
        head = f.read(8)
    return head == b"\x89PNG\r\n\x1a\n"


def test_plots_write_png(tmp_path):
    traj = advected_sines(14)
    good = evaluate_rollout(Persistence(), traj, T_IN, return_predictions=True)

    class Bad(Persistence):
        def rollout(self, x0, steps):
            out = np.array(keras.ops.convert_to_numpy(super().rollout(x0, steps)))
            out[:, 9:] = np.nan
            return out

    bad = evaluate_rollout(Bad(), traj, T_IN)
    truth = traj[:, T_IN:]
    paths = [
        plots.plot_rollout_frames(
            truth, good.predictions, [1, 6, 13], ["u", "w"], tmp_path / "frames.png"
        ),
        plots.plot_vrmse_vs_step(
            {"persistence": good, "diverging": bad, "array": good.values["vrmse"]},
            tmp_path / "v.png",
        ),
        plots.plot_error_spectra(
            {"persistence": error_spectrum(good.predictions, truth), "raw": np.linspace(1, 0.1, 9)},
            tmp_path / "sub" / "spectra.png",
        ),
        plots.plot_training_curves(
            {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.5], "vrmse": [0.9, 0.4, 0.2]},
            tmp_path / "curves.png",
        ),
    ]
    for p in paths:
        assert _is_png(p)
        with open(p, "rb") as f:
            assert len(f.read()) > 2000
    with pytest.raises(ValueError, match="steps"):
        plots.plot_rollout_frames(truth[0], truth[0], [0], ["u", "w"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="png"):
        plots.plot_training_curves({"loss": [1.0]}, tmp_path / "x.jpg")


def test_one_step_is_the_mean_over_all_test_windows():
    traj = advected_sines(10)  # 4 trajectories x 10 windows
    calls = []

    def persistence(x):
        calls.append(x.shape[0])
        return x[:, -1:]

    res = evaluate_one_step(persistence, traj, T_IN, batch_size=16, verbose=0)
    assert res.n_windows == 40 and calls == [16, 16, 16]  # the last batch is padded
    # Persistence's one-step error is the same at every start time of a trajectory.
    per_traj = (persistence_vrmse(SPEEDS, 1) + persistence_vrmse(SPEEDS, 1, 3.0)) / 2
    np.testing.assert_allclose(res.mean("vrmse"), per_traj.mean(), rtol=1e-4)
    np.testing.assert_allclose(res.median("vrmse"), np.median(per_traj), rtol=1e-4)
    # The first rollout step is reported as a median over trajectories: a different number.
    rollout = evaluate_rollout(Persistence(), traj, T_IN, one_step=True, verbose=0)
    assert abs(rollout.score("1:1") - rollout.one_step.mean("vrmse")) > 0.05
    np.testing.assert_allclose(rollout.one_step.mean("vrmse"), res.mean("vrmse"), rtol=1e-6)
    payload = json.loads(json.dumps(rollout.to_dict(), allow_nan=False))
    assert payload["one_step"]["statistic"] == "mean over all test windows"
    assert payload["one_step"]["n_windows"] == 40
    assert "One-step vrmse (The Well's: mean over all 40 test windows)" in rollout.summary_table()

    # A trajectory whose one-step error changes over time: the mean covers every window.
    ramp = np.linspace(0.0, 1.0, 8)[None, :, None, None, None] * np.ones((1, 1, H, W, 1))
    ramp = ramp + np.random.default_rng(0).normal(size=(1, 8, H, W, 1)) * 0.01
    one = evaluate_one_step(lambda x: x[:, -1:], ramp, 1, metrics=("mse",), verbose=0)
    expected = np.mean((ramp[0, 1:] - ramp[0, :-1]) ** 2)
    np.testing.assert_allclose(one.mean("mse"), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate_one_step(persistence, traj, T_IN, batch_size=0)


class KnownGrowth:
    """Rolls out truth + delta * g**(s - 1) * pattern: VRMSE grows by exactly g per step."""

    def __init__(self, truth, delta, growth):
        self.truth, self.delta, self.growth = truth, delta, growth

    def rollout(self, x0, steps):
        pattern = np.cos(2 * np.pi * np.arange(W) / W)[None, None, None, :, None]
        scale = self.delta * self.growth ** np.arange(steps)[None, :, None, None, None]
        return self.truth[:, T_IN : T_IN + steps] + scale * pattern


def test_error_growth_of_synthetic_rollouts_with_known_growth():
    traj = advected_sines(30, speeds=[1, 2])
    # VRMSE of an error delta * cos(2 pi x / W) against sines of amplitude A is
    # (delta / A) sqrt((n - 1) / n): field mean (delta + delta / 3) / 2 at step 1.
    res = evaluate_rollout(KnownGrowth(traj, 0.075, 1.3), traj, T_IN, verbose=0)
    first = 0.075 * (2 / 3) * np.sqrt((H * W - 1) / (H * W))
    np.testing.assert_allclose(res.per_step()[:3], first * 1.3 ** np.arange(3), rtol=1e-4)
    growth = res.error_growth()
    assert growth.mean_ratio == pytest.approx(1.3, rel=1e-4)
    assert (growth.first_step, growth.last_step) == (2, 12)
    assert growth.crossing_step == 13  # 0.0498 * 1.3**11 = 0.89, 0.0498 * 1.3**12 = 1.16
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["error_growth"]["crossing_step"] == 13
    assert payload["error_growth"]["mean_ratio"] == pytest.approx(1.3, rel=1e-4)
    assert payload["error_growth"]["ratio_steps"] == [2, 12]
    table = res.summary_table()
    assert "mean VRMSE(t+1)/VRMSE(t) over steps 2-12: 1.300" in table
    assert "VRMSE first exceeds 1 (median over trajectories): at step 13" in table

    slow = evaluate_rollout(KnownGrowth(traj, 0.075, 1.05), traj, T_IN, verbose=0)
    assert slow.error_growth().mean_ratio == pytest.approx(1.05, rel=1e-4)
    assert slow.error_growth().crossing_step is None  # 0.0498 * 1.05**29 = 0.21
    assert "never within 30 steps" in slow.summary_table()
    # Short rollouts use the steps they have; one step has no ratio.
    short = error_growth(0.1 * 2.0 ** np.arange(5))
    assert short.last_step == 5 and short.mean_ratio == pytest.approx(2.0)
    assert np.isnan(error_growth([0.3]).mean_ratio)
    assert error_growth([0.1, 0.2, np.inf, np.nan]).mean_ratio == np.inf
    assert error_growth([0.1, 0.2, np.inf, np.nan]).crossing_step == 3
    with pytest.raises(ValueError, match="last_step"):
        error_growth([1.0, 2.0], first_step=3, last_step=2)


def test_progress_bar_over_trajectories_and_steps(capsys):
    traj = advected_sines(6)
    evaluate_rollout(lambda x: x[:, -1:], traj, T_IN, verbose=0, one_step=True)
    assert capsys.readouterr().out == ""
    evaluate_rollout(lambda x: x[:, -1:], traj, T_IN, verbose=1, batch_size=2)
    out = capsys.readouterr().out
    assert "24/24" in out  # 4 trajectories x 6 steps
    evaluate_one_step(lambda x: x[:, -1:], traj, T_IN, verbose=1)
    assert "24/24" in capsys.readouterr().out  # 4 trajectories x 6 windows


def _write_evaluation(directory, result, truth):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "evaluation.json"), "w") as f:
        json.dump(result.to_dict(), f)
    with open(os.path.join(directory, "evaluation.md"), "w") as f:
        f.write(result.summary_table())
    np.savez(
        os.path.join(directory, "rollout_sample.npz"),
        truth=truth[0],
        prediction=result.predictions[0],
        field_names=np.array(result.field_names),
    )


def test_report_shows_one_step_windows_and_growth(tmp_path):
    traj = advected_sines(20, speeds=[1, 2])
    runs = {
        "fast": evaluate_rollout(
            KnownGrowth(traj, 0.075, 1.3), traj, T_IN, return_predictions=True
        ),
        "slow": evaluate_rollout(
            KnownGrowth(traj, 0.075, 1.05), traj, T_IN, return_predictions=True
        ),
        "persistence": evaluate_rollout(
            Persistence(), traj, T_IN, one_step=True, return_predictions=True
        ),
    }
    for label, result in runs.items():
        _write_evaluation(tmp_path / label, result, traj[:, T_IN:])
    path = write_report(str(tmp_path / "report"), {k: str(tmp_path / k) for k in runs})
    text = open(path).read()
    assert (
        "| model | one-step (mean over windows) | [1:1] (median) | [6:12] (median) | "
        "[13:30] (median) |" in text
    )

    def row(label):
        line = next(x for x in text.splitlines() if x.startswith(f"| {label} |"))
        return [c.strip() for c in line.strip("|").split("|")]

    assert row("fast")[1] == "—"  # evaluated without the one-step score
    assert row("fast")[4] == "—"  # 13:30 with 20 steps
    assert row("fast")[-3:] == ["1.3", "13", "0/2"]
    assert row("slow")[-2:] == ["never", "0/2"]
    one_step = runs["persistence"].one_step.mean("vrmse")
    assert row("persistence")[1] == f"{one_step:.4g}"
    for png in ("rollout_frames.png", "vrmse_vs_step.png"):
        assert _is_png(tmp_path / "report" / png)
    with pytest.raises(FileNotFoundError, match="evaluation.json"):
        write_report(str(tmp_path / "r2"), {"missing": str(tmp_path / "nothing")})
