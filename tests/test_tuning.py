"""Tests of keras_wavelit.tuning: the space, the budget, searches, resuming, the CLI."""

import argparse
import gc
import json
import os

import keras
import keras_tuner
import numpy as np
import pytest

from keras_wavelit.models import WaveLiT
from keras_wavelit.tuning import ParameterCounter
from keras_wavelit.tuning import Range
from keras_wavelit.tuning import WaveLiTHyperModel
from keras_wavelit.tuning import best_config
from keras_wavelit.tuning import make_tuner
from keras_wavelit.tuning import parse_space_item
from keras_wavelit.tuning import rollout_vrmse
from keras_wavelit.tuning import trial_records
from keras_wavelit.tuning import valid_num_heads
from keras_wavelit.tuning import write_best_config

SHAPE = (2, 16, 16, 2)  # (T_in, H, W, C)
# Tiny models: a budget of 3000 parameters admits dim 8 at depth <= 2 but
# no dim 16 model, so about half of the proposals are over the budget.
SPACE = {
    "dim": [8, 16],
    "depth": (1, 2),
    "num_heads": [1, 2, 4],
    "pyramid_levels": (0, 1),
    "wavelet": ["haar", "bior2.2"],
}
MAX_PARAMS = 3000


def _data(n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n,) + SHAPE).astype("float32")
    # A learnable target: the last input step, shifted by one cell.
    y = np.roll(x[:, -1:], 1, axis=2)
    return x, y


def _live(cls):
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, cls))


def _real_count(config, shape=SHAPE, constants=0):
    model = WaveLiT(**config, auto_compile=False)
    if constants:
        model.build({"fields": (1,) + shape, "constants": (1,) + shape[1:3] + (constants,)})
    else:
        model.build((1,) + shape)
    return model.count_params()


# -- the space and the budget (no training) ------------------------------------


def test_valid_num_heads_rope_constraint():
    assert valid_num_heads(48, [1, 2, 4, 8]) == [1, 2, 4]
    assert valid_num_heads(48, [1, 2, 4, 8], rope=False) == [1, 2, 4, 8]
    assert valid_num_heads(16, [3, 4]) == [4]


@pytest.mark.parametrize(
    "config, constants",
    [
        ({"dim": 16, "depth": 3, "num_heads": 2, "pyramid_levels": 1}, 0),
        ({"dim": 8, "depth": 2, "num_heads": 1, "pyramid_levels": 0, "wavelet": "haar"}, 0),
        ({"dim": 16, "depth": 4, "num_heads": 4, "pyramid_levels": 2, "mlp_ratio": 2.0}, 3),
    ],
)
def test_parameter_count_equals_real_build(config, constants):
    counter = ParameterCounter(SHAPE, constants_channels=constants)
    assert counter.count(config) == _real_count(config, constants=constants)
    assert counter.max_depth(config, counter.count(config)) == config["depth"]


def test_resolve_moves_heads_and_redraws_over_budget_configurations():
    hm = WaveLiTHyperModel(SHAPE, space=SPACE, max_params=MAX_PARAMS)
    proposal = {
        "dim": 8,
        "depth": 1,
        "num_heads": 4,  # head dimension 2: not a multiple of 4
        "pyramid_levels": 0,
        "wavelet_levels": 1,
        "wavelet": "haar",
        "ridge_lambda": 0.5,
        "loss_alpha": 1.0,
        "loss_beta": 0.3,
        "learning_rate": 1e-3,
        "weight_decay": 1e-4,
    }
    values, changed = hm.resolve(proposal)
    assert changed == ["num_heads"] and values["num_heads"] == 2
    over = dict(proposal, dim=16, num_heads=2, depth=2)
    assert hm.count_params(over) > MAX_PARAMS
    values, changed = hm.resolve(over)
    assert changed and hm.count_params(values) <= MAX_PARAMS
    assert valid_num_heads(values["dim"], [values["num_heads"]])
    # Recipe entries and the ridge strength keep their proposed values.
    for key in ("ridge_lambda", "loss_beta", "learning_rate"):
        assert values[key] == over[key]
    assert hm.resolve(over) == (values, changed)  # deterministic


def test_space_errors_name_the_problem():
    with pytest.raises(ValueError, match="max_params"):
        WaveLiTHyperModel(SHAPE, space=SPACE, max_params=100)
    with pytest.raises(ValueError, match="widht"):
        WaveLiTHyperModel(SHAPE, space={"widht": [8]})
    with pytest.raises(ValueError, match="num_heads"):
        WaveLiTHyperModel(SHAPE, space={"dim": [6, 10], "num_heads": [1, 2]})
    with pytest.raises(ValueError, match="rollout_data"):
        WaveLiTHyperModel(SHAPE, objective="val_rollout_vrmse")
    with pytest.raises(ValueError, match="objective"):
        WaveLiTHyperModel(SHAPE, objective="val_loss2")


def test_parse_space_item():
    assert parse_space_item("dim=32,64") == ("dim", [32, 64])
    assert parse_space_item("depth=2:8") == ("depth", Range(2, 8))
    assert parse_space_item("learning_rate=1e-4:1e-3") == ("learning_rate", Range(1e-4, 1e-3))
    assert parse_space_item("wavelet=haar") == ("wavelet", "haar")
    assert parse_space_item("rope=false") == ("rope", False)
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_space_item("dim")


def test_rollout_vrmse_is_the_median_of_window_means():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(3, 4, 8, 8, 1)).astype("float32")
    pred = y.copy()
    pred[0] = 0.0  # trajectory 0: VRMSE about 1 at every step
    pred[1] += 10.0  # trajectory 1: large error
    assert rollout_vrmse(y, pred, (1, 4)) == pytest.approx(
        np.sqrt(np.mean(y[0] ** 2, axis=(1, 2)) / np.var(y[0], axis=(1, 2), ddof=1)).mean(),
        rel=1e-4,
    )
    with pytest.raises(ValueError, match="window"):
        rollout_vrmse(y, pred, (2, 5))


# -- searches -------------------------------------------------------------------


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """A 3-trial random search under the budget; live Keras objects after each trial."""
    directory = str(tmp_path_factory.mktemp("tune"))
    x, y = _data(4)
    xv, yv = _data(2, seed=1)
    hm = WaveLiTHyperModel(SHAPE, space=SPACE, max_params=MAX_PARAMS, warmup_steps=1)
    lines, live = [], []

    def progress(line):
        lines.append(line)
        live.append((_live(WaveLiT), _live(keras.layers.Layer)))

    tuner = make_tuner(hm, "random", max_trials=3, directory=directory, seed=3, progress=progress)
    tuner.search(x, y, validation_data=(xv, yv), epochs=1, batch_size=2, verbose=0)
    return {"tuner": tuner, "hm": hm, "dir": directory, "lines": lines, "live": live}


def test_search_finishes_every_trial_within_the_budget(search):
    tuner, hm = search["tuner"], search["hm"]
    records = trial_records(tuner)
    assert [r["status"] for r in records] == ["COMPLETED"] * 3
    assert len(hm.trained) == 3
    for (_, n), record in zip(hm.trained, records):
        assert n <= MAX_PARAMS
        assert n == record["params"]  # the exact count is what was trained
    assert all(np.isfinite(r["score"]) for r in records)
    assert len(search["lines"]) == 3 and all("val_vrmse=" in s for s in search["lines"])


def test_memory_does_not_grow_across_trials(search):
    # Cleared after every trial: no model or layer of a finished trial survives.
    live = search["live"]
    assert len(live) == 3
    assert all(models == 0 for models, _ in live), live
    assert live[-1][1] <= live[0][1], live


def test_best_config_round_trip(search, tmp_path):
    tuner, hm = search["tuner"], search["hm"]
    path = str(tmp_path / "best.json")
    written = write_best_config(tuner, path)
    with open(path) as f:
        best = json.load(f)
    assert best == json.loads(json.dumps(written))
    assert set(best) == {"model", "optimizer", "loss", "objective", "score"}
    assert best["objective"] == "val_vrmse"
    assert best["score"] == pytest.approx(min(r["score"] for r in trial_records(tuner)))
    assert set(best["optimizer"]) == {"learning_rate", "weight_decay", "warmup_steps"}
    assert set(best["loss"]) == {"alpha", "beta"}
    # WaveLiT(**model) is the searched architecture, with its parameter count.
    model = WaveLiT(**best["model"])
    model.build((1,) + SHAPE)
    assert model.count_params() == hm.count_params(best["model"]) <= MAX_PARAMS
    compiled = hm.build_model(best)
    assert compiled.loss.alpha == pytest.approx(best["loss"]["alpha"])
    assert compiled.loss.beta == pytest.approx(best["loss"]["beta"])
    eager = WaveLiTHyperModel(SHAPE, space=SPACE, compile_kwargs={"jit_compile": False})
    assert eager.build_model(best).jit_compile is False


def test_finished_search_reopens_without_rerunning_trials(search):
    x, y = _data(4)
    before = {r["trial_id"]: r["score"] for r in trial_records(search["tuner"])}
    hm = WaveLiTHyperModel(SHAPE, space=SPACE, max_params=MAX_PARAMS, warmup_steps=1)
    tuner = make_tuner(hm, "random", max_trials=3, directory=search["dir"], seed=3)
    tuner.search(x, y, validation_data=(x, y), epochs=1, batch_size=2, verbose=0)
    assert hm.trained == []  # nothing trained again
    assert {r["trial_id"]: r["score"] for r in trial_records(tuner)} == before


def test_hyperband_with_the_rollout_objective(tmp_path):
    x, y = _data(4)
    xv, yv = _data(2, seed=1)
    y_traj = np.concatenate([yv, np.roll(yv, 1, axis=2)], axis=1)  # (2, 2, H, W, C)
    hm = WaveLiTHyperModel(
        SHAPE,
        space={"dim": 8, "depth": 1, "num_heads": 2, "pyramid_levels": 0},
        objective="val_rollout_vrmse",
        rollout_data=(xv, y_traj),
        rollout_window=(1, 2),
        warmup_steps=1,
    )
    tuner = make_tuner(
        hm, "hyperband", max_trials=3, max_epochs=2, factor=2, directory=str(tmp_path)
    )
    tuner.search(x, y, validation_data=(xv, yv), batch_size=2, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 3
    assert all(np.isfinite(t.score) for t in trials)
    # The third trial continues one of the first two from its checkpoint.
    assert "tuner/trial_id" in trials[2].hyperparameters.values
    assert best_config(tuner)["objective"] == "val_rollout_vrmse"


# -- the command line -------------------------------------------------------------


def _tune_args(data, out, **overrides):
    from keras_wavelit.tuning.cli import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    argv = ["tune", "--data", data, "--dataset", "acoustic_scattering_2d", "--out", out]
    args = parser.parse_args(argv)
    vars(args).update(overrides)
    return args


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    from keras_wavelit.data import simulate

    out = str(tmp_path_factory.mktemp("data"))
    simulate("acoustic_scattering_2d", out, resolution=16, n_trajectories=3, n_steps=8, verbose=0)
    return out


def test_cli_bayesian_search_resumes_and_writes_best_json(tiny_dataset, tmp_path, capsys):
    from keras_wavelit.tuning.cli import run

    out = str(tmp_path / "tune")
    options = dict(
        tuner="bayesian",
        max_params=5000,
        epochs=1,
        steps=2,
        validation_steps=1,
        batch_size=2,
        n_steps_input=2,
        space=["dim=8,16", "depth=1:2", "pyramid_levels=0", "wavelet=haar"],
    )
    # An interrupted search (one trial done) continues with the missing trial.
    assert run(_tune_args(tiny_dataset, out, trials=1, **options)) == 0
    with open(os.path.join(out, "trials.json")) as f:
        first = json.load(f)
    assert run(_tune_args(tiny_dataset, out, trials=2, **options)) == 0
    printed = capsys.readouterr().out
    assert printed.count("trial 1/1 ") == 1 and printed.count("trial 2/2 ") == 1
    assert printed.count("trial ") == 2  # the first trial did not run again
    with open(os.path.join(out, "best.json")) as f:
        best = json.load(f)
    with open(os.path.join(out, "trials.json")) as f:
        trials = json.load(f)
    assert len(trials) == 2 and trials[0]["score"] == first[0]["score"]
    assert all(t["status"] == "COMPLETED" and t["params"] <= 5000 for t in trials)
    assert best["model"]["wavelet"] == "haar" and best["model"]["pyramid_levels"] == 0
    assert best["score"] == min(t["score"] for t in trials)
    # The embedded acoustics data has constant fields: the count includes them.
    model = WaveLiT(**best["model"])
    model.build({"fields": (1, 2, 16, 16, 3), "constants": (1, 16, 16, 2)})
    assert model.count_params() in {t["params"] for t in trials}


def test_cli_help_documents_every_option():
    from keras_wavelit.tuning.cli import add_parser

    parser = argparse.ArgumentParser()
    sub = add_parser(parser.add_subparsers(dest="command"))
    for action in sub._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, action.dest
    assert isinstance(keras_tuner.Objective("val_vrmse", "min"), keras_tuner.Objective)


def test_wavelit_command_runs_tune_and_train_reads_best_json(search, tmp_path):
    from keras_wavelit.cli import build_parser
    from keras_wavelit.cli.train import read_config
    from keras_wavelit.tuning.cli import run

    args = build_parser().parse_args(["tune", "--data", "d", "--dataset", "x", "--out", "o"])
    assert args.func is run and args.tuner == "bayesian" and args.max_params == 1.2e6
    path = str(tmp_path / "best.json")
    best = write_best_config(search["tuner"], path)
    model, optimizer, loss = read_config(path)  # what `wavelit train --config` uses
    assert model == best["model"]
    assert optimizer == best["optimizer"] and loss == best["loss"]


def test_fm_search_scores_the_median_over_datasets(tmp_path):
    from keras_wavelit.models import WaveLiTFM
    from keras_wavelit.tuning import WaveLiTFMHyperModel

    rng = np.random.default_rng(0)
    xg = rng.normal(size=(4, 2, 16, 16, 2)).astype("float32")  # gray_scott_2d: A, B
    xk = rng.normal(size=(2, 2, 16, 16, 3)).astype("float32")  # kolmogorov_2d: 3 fields
    valid = {"gray_scott_2d": (xg[:2], xg[:2, -1:]), "kolmogorov_2d": (xk, xk[:, -1:])}
    hm = WaveLiTFMHyperModel(
        ["gray_scott_2d", "kolmogorov_2d"],
        valid,
        n_steps_input=2,
        grid=(16, 16),
        space={"dim": [8, 16], "depth": (1, 2), "num_heads": [2], "pyramid_levels": 0},
        max_params=6000,
        warmup_steps=1,
    )
    config = {"dim": 16, "depth": 2, "num_heads": 2, "pyramid_levels": 0}
    model = WaveLiTFM(["gray_scott_2d", "kolmogorov_2d"], n_steps_input=2, **config)
    model.build({"fields": (1, 2, 16, 16, 2), "dataset": (1,)})
    assert hm.count_params(config) == model.count_params() > 6000  # over the budget

    tuner = make_tuner(hm, "random", max_trials=2, directory=str(tmp_path), seed=1)
    x = {"fields": xg, "dataset": np.zeros((4,), "int32")}
    tuner.search(x, xg[:, -1:], epochs=1, batch_size=2, verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) == 2 and all(np.isfinite(t.score) for t in trials)
    assert all(n <= 6000 for _, n in hm.trained) and len(hm.trained) == 2
    for t in trials:
        per = [t.metrics.get_last_value(f"val_vrmse_{n}") for n in valid]
        assert t.score == pytest.approx(float(np.median(per)))
    best = best_config(tuner)
    assert best["objective"] == "val_median_vrmse"
    fm = WaveLiTFM(**best["model"])  # the datasets and input steps are in "model"
    fm.build({"fields": (1, 2, 16, 16, 2), "dataset": (1,)})
    assert fm.count_params() == hm.count_params(best["model"]) <= 6000
