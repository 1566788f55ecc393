"""The `wavelit` command line: help, backend, errors, Ctrl-C, NaN runs, --config."""

import argparse
import json
import os
import shutil
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest

from keras_wavelit import cli
from keras_wavelit.cli import common
from keras_wavelit.cli import main

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..")
NAME = "acoustic_scattering_2d"
TINY = ["--dim", "16", "--depth", "1", "--num-heads", "2", "--pyramid-levels", "0"]
LOOP = ["--n-steps-input", "2", "--epochs", "2", "--steps-per-epoch", "1"]
LOOP += ["--validation-steps", "1", "--batch-size", "2", "--quiet"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A 16x16 dataset and a copy whose training fields are all NaN."""
    from keras_wavelit.data.simulate import simulate

    base = str(tmp_path_factory.mktemp("cli_data"))
    good = os.path.join(base, "good")
    simulate(NAME, good, resolution=16, n_trajectories=4, n_steps=6, seed=1, verbose=0)
    bad = os.path.join(base, "bad")
    shutil.copytree(good, bad)
    train_dir = os.path.join(bad, "datasets", NAME, "data", "train")
    path = os.path.join(train_dir, os.listdir(train_dir)[0])
    with h5py.File(path, "r+") as f:
        f["t0_fields/pressure"][...] = np.nan
    return good, bad


def _lines(text):
    return [line for line in text.splitlines() if line.strip()]


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    raise AssertionError("no subcommands")


def test_every_option_has_help_and_shows_its_default():
    parser = cli.build_parser()
    commands = _subparsers(parser)
    assert {"generate", "train", "finetune", "evaluate", "report", "demo", "tune"} <= set(commands)
    for name, sub in [("wavelit", parser)] + sorted(commands.items()):
        formatter = common.HelpFormatter(name)
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if isinstance(action, argparse._VersionAction):
                continue
            text = action.help or ""
            assert len(text) > 5, (name, action.dest)
            shown = formatter._get_help_string(action)
            assert "default" in shown.lower() or "(required)" in shown, (name, action.dest)
        page = sub.format_help()
        assert "--backend" in page and "--debug" in page, name
    for name in ("generate", "train", "finetune", "evaluate", "demo", "tune"):
        assert "--quiet" in commands[name].format_help(), name
    page = " ".join(parser.format_help().split())
    assert "here: " + common.keras_default_backend()[0] in page
    # Subcommands are listed with their summary, not with a default.
    assert "train a WaveLiT" in page and "(default: none)" not in page


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"wavelit (keras-wavelit) {cli.__version__}"


def test_keras_default_backend_follows_keras_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert common.keras_default_backend() == ("torch", "$KERAS_BACKEND")
    monkeypatch.delenv("KERAS_BACKEND")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert common.keras_default_backend()[0] == "tensorflow"
    with open(os.path.join(str(tmp_path), "keras.json"), "w") as f:
        json.dump({"backend": "jax"}, f)
    assert common.keras_default_backend() == ("jax", os.path.join(str(tmp_path), "keras.json"))


def test_backend_flag_sets_the_backend_before_keras_loads(capsys):
    # In a fresh process: --backend overrides KERAS_BACKEND.
    code = (
        "import sys; from keras_wavelit.cli import main; rc = main(sys.argv[1:]); "
        "import keras; print('BACKEND', keras.backend.backend()); sys.exit(rc)"
    )
    env = dict(os.environ, KERAS_BACKEND="torch")
    env["PYTHONPATH"] = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code, "--backend", "jax", "generate", "--list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "BACKEND jax" in proc.stdout and NAME in proc.stdout
    # In this process Keras is loaded: another backend is a clear usage error.
    other = "torch" if keras.backend.backend() != "torch" else "jax"
    assert main(["--backend", other, "generate", "--list"]) == 2
    err = capsys.readouterr().err
    assert f"already loaded with the {keras.backend.backend()} backend" in err
    assert main(["--backend", keras.backend.backend(), "generate", "--list"]) == 0


def test_errors_are_one_line_with_exit_status_1(data, tmp_path, capsys):
    good, _ = data
    out = os.path.join(str(tmp_path), "run")
    args = ["train", "--data", good, "--dataset", NAME, "--out", out] + TINY + LOOP
    # A model-side ValueError (heads that do not divide the width).
    assert main(args + ["--num-heads", "3"]) == 1
    err = _lines(capsys.readouterr().err)
    assert len(err) == 1 and err[0].startswith("wavelit train: error: ")
    assert "num_heads" in err[0] and "--debug" in err[0]
    # A data error.
    assert main(["evaluate", "--model", "m.keras", "--data", good, "--dataset", "nope"]) in (1, 2)
    assert main(["train", "--data", good, "--dataset", "nope", "--out", out] + LOOP) == 1
    err = _lines(capsys.readouterr().err)
    assert err[-1].startswith("wavelit train: error: ") and "nope" in err[-1]
    # --debug shows the traceback.
    assert main(args + ["--num-heads", "3", "--debug", "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert _lines(err)[-1].startswith("wavelit train: error: ")


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys, tmp_path):
    import importlib

    from keras_wavelit.training import runs

    simulate_module = importlib.import_module("keras_wavelit.data.simulate")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "train_run", interrupted)
    monkeypatch.setattr(simulate_module, "simulate", interrupted)
    assert main(["train", "--data", "d", "--dataset", NAME, "--out", "o"]) == 130
    err = _lines(capsys.readouterr().err)
    assert err == [
        "wavelit train: interrupted; run the same command again to resume from the "
        "last finished epoch."
    ]
    assert main(["generate", NAME, "--out", str(tmp_path), "--resolution", "16"]) == 130
    assert "nothing to resume" in capsys.readouterr().err


def test_generate_refuses_a_resolution_the_default_model_cannot_take(tmp_path, capsys):
    from keras_wavelit.models import WaveLiT

    multiple = WaveLiT().spatial_multiple
    assert main(["generate", NAME, "--out", str(tmp_path), "--resolution", "30"]) == 1
    err = capsys.readouterr().err
    assert f"needs a multiple of {multiple}" in err and "--resolution 30" in err
    assert not os.path.exists(os.path.join(str(tmp_path), "datasets"))


def test_train_config_file_with_flags_overriding(monkeypatch, tmp_path, capsys):
    from keras_wavelit.training import runs

    seen = {}
    monkeypatch.setattr(runs, "train_run", lambda *a, **kw: seen.update(kw, args=a))
    config = os.path.join(str(tmp_path), "best.json")
    with open(config, "w") as f:
        json.dump(
            {
                "model": {"dim": 32, "depth": 2, "num_heads": 2, "fpn_levels": 1},
                "optimizer": {"learning_rate": 3e-4, "weight_decay": 1e-5},
                "loss": {"alpha": 1.0, "beta": 0.5},
                "objective": "val_vrmse",
                "score": 0.3,
            },
            f,
        )
    base = ["train", "--data", "d", "--dataset", NAME, "--out", "o", "--config", config]
    assert main(base + ["--dim", "16", "--boundary", "periodic"]) == 0
    assert seen["model_kwargs"] == {
        "dim": 16,
        "depth": 2,
        "num_heads": 2,
        "pyramid_levels": 1,
        "boundary": "periodic",
    }
    assert seen["learning_rate"] == 3e-4 and seen["weight_decay"] == 1e-5
    assert seen["loss"] == {"alpha": 1.0, "beta": 0.5}
    assert main(base + ["--lr", "1e-2"]) == 0 and seen["learning_rate"] == 1e-2
    with open(config, "w") as f:
        f.write("{not json")
    assert main(base) == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_build_model_takes_the_config_loss_and_recipe():
    from keras_wavelit.training.runs import _build_model

    model = _build_model(
        {"dim": 16, "depth": 1, "num_heads": 2, "pyramid_levels": 0, "boundary": "periodic"},
        {"learning_rate": 3e-4, "weight_decay": 1e-5},
        {"alpha": 1.0, "beta": 0.5},
    )
    assert (model.loss.alpha, model.loss.beta) == (1.0, 0.5)
    assert model.loss.boundary == "periodic"
    assert np.isclose(float(model.optimizer.weight_decay), 1e-5)


def test_evaluate_quiet_silences_progress(monkeypatch):
    from keras_wavelit.evaluation import runs

    seen = {}

    class Result:
        def summary_table(self):
            return "table"

    def fake(*args, **kwargs):
        seen.update(kwargs)
        return Result()

    monkeypatch.setattr(runs, "evaluate_run", fake)
    args = ["evaluate", "--model", "m.keras", "--data", "d", "--dataset", NAME, "--out", "o"]
    assert main(args) == 0 and seen["verbose"] == 1
    assert main(args + ["--quiet"]) == 0 and seen["verbose"] == 0


def test_non_finite_training_exits_1_and_writes_no_model(data, tmp_path, capsys):
    good, bad = data
    out = os.path.join(str(tmp_path), "run")
    args = ["train", "--data", bad, "--dataset", NAME, "--out", out] + TINY + LOOP
    # --check-finite stops before any training, naming the file and field.
    assert main(args + ["--check-finite"]) == 1
    err = _lines(capsys.readouterr().err)
    assert len(err) == 1 and "non-finite" in err[0] and "pressure" in err[0]
    assert not os.path.exists(os.path.join(out, "model.keras"))
    # Without it the very first batch is NaN: exit 1, no model.keras.
    assert main(args + ["--overwrite"]) == 1
    err = _lines(capsys.readouterr().err)
    # (TensorFlow's solve raises on NaN input before the loss is seen.)
    assert err[-1].startswith("wavelit train: error: Non-finite ")
    assert "at epoch 1, batch 1" in err[-1]
    assert "model.keras was not written" in err[-1]
    assert not os.path.exists(os.path.join(out, "model.keras"))
    with open(os.path.join(out, "run.json")) as f:
        assert json.load(f)["status"] == "failed"
    # The failed run is not resumed silently.
    assert main(args) == 1
    assert "holds a run that failed" in capsys.readouterr().err


FM_NAMES = ["gray_scott_2d", NAME]


@pytest.fixture(scope="module")
def fm_data(tmp_path_factory):
    """Two 16x16 datasets, one with constant fields (acoustic_scattering_2d)."""
    from keras_wavelit.data.simulate import simulate

    base = str(tmp_path_factory.mktemp("cli_fm_data"))
    for name in FM_NAMES:
        simulate(name, base, resolution=16, n_trajectories=4, n_steps=6, seed=1, verbose=0)
    return base


def test_train_datasets_flags_are_checked_before_any_work(tmp_path, capsys):
    base = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run")]
    cases = [
        (["--dataset", NAME, "--datasets", ",".join(FM_NAMES)], "not both"),
        ([], "give --dataset NAME"),
        (["--datasets", ",".join(FM_NAMES), "--size", "1.2M"], "a WaveLiT-FM (--datasets) has 10M"),
        (["--datasets", ",".join(FM_NAMES), "--wavelet-levels", "2"], "--wavelet-levels is not"),
        (["--dataset", NAME, "--size", "10M"], "use it with --datasets"),
    ]
    for extra, message in cases:
        assert main(base + extra) == 1, extra
        err = capsys.readouterr().err
        assert err.startswith("wavelit train: error:") and message in err, (extra, err)
    assert main(base + ["--datasets", f"{NAME},{NAME}"]) == 2
    assert "given twice" in capsys.readouterr().err
    assert main(base + ["--datasets", NAME, "--sampling", "zipf"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run" / "run.json")


def test_train_fm_then_evaluate_per_dataset_then_report(fm_data, tmp_path, capsys):
    from keras_wavelit.data import WellSequence
    from keras_wavelit.data import sampling_probabilities
    from keras_wavelit.models import WaveLiTFM
    from keras_wavelit.training import read_history
    from keras_wavelit.training import read_run

    run = str(tmp_path / "fm")
    train = ["train", "--data", fm_data, "--datasets", ",".join(FM_NAMES), "--out", run]
    train += TINY + ["--n-steps-input", "2", "--epochs", "1", "--steps-per-epoch", "2"]
    train += ["--validation-steps", "1", "--batch-size", "2", "--quiet"]
    assert main(train) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip().endswith(os.path.join("fm", "model.keras"))
    record = read_run(run)
    assert record["status"] == "finished"
    assert record["config"]["datasets"] == FM_NAMES and record["config"]["sampling"] == "sqrt"
    history = read_history(os.path.join(run, "history.csv"))
    tokens = []
    for name in FM_NAMES:
        seq = WellSequence(fm_data, name, "train", n_steps_input=2, batch_size=2)
        tokens.append(seq.n_samples_total * 8 * 8)
    expected = sampling_probabilities(tokens, "sqrt")
    for name, p in zip(FM_NAMES, expected):
        np.testing.assert_allclose(history[f"p_{name}"], [p], rtol=1e-6)
    assert np.isfinite(history["loss"][0]) and np.isfinite(history["val_loss"][0])
    model = keras.saving.load_model(os.path.join(run, "model.keras"))
    assert isinstance(model, WaveLiTFM) and model.datasets == FM_NAMES and model.dim == 16
    # a finished run is refused without --overwrite
    assert main(train) == 1
    assert "finished run" in capsys.readouterr().err

    out = str(tmp_path / "eval")
    evaluate = ["evaluate", "--model", os.path.join(run, "model.keras"), "--data", fm_data]
    evaluate += ["--out", out, "--max-trajectories", "1", "--max-rollout-steps", "2", "--quiet"]
    assert main(evaluate) == 0, capsys.readouterr().err
    assert "| gray_scott_2d |" in capsys.readouterr().out
    with open(os.path.join(out, "evaluations.json")) as f:
        index = json.load(f)
    assert sorted(index["datasets"]) == sorted(FM_NAMES)
    for name in FM_NAMES:
        with open(os.path.join(out, name, "evaluation.json")) as f:
            ev = json.load(f)
        assert ev["dataset"] == name and ev["n_trajectories"] == 1
        assert np.isfinite(index["datasets"][name]["one_step_vrmse"])
    assert main(evaluate + ["--datasets", "kolmogorov_2d"]) == 1
    assert "has no dataset kolmogorov_2d" in capsys.readouterr().err

    report = str(tmp_path / "report")
    assert main(["report", "--eval", f"fm={out}", "--out", report]) == 0
    capsys.readouterr()
    with open(os.path.join(report, "report.md")) as f:
        text = f.read()
    assert "fm/gray_scott_2d" in text and f"fm/{NAME}" in text


def test_stability_flags_reach_the_runs(monkeypatch, tmp_path, capsys):
    """`train --input-noise/--detail-weight` and `finetune --relative-noise` (paper section 5)."""
    from keras_wavelit.training import runs

    seen = {}
    monkeypatch.setattr(runs, "train_run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(runs, "finetune_run", lambda *a, **kw: seen.update(kw))
    monkeypatch.setattr(runs, "train_fm_run", lambda *a, **kw: seen.update(kw))
    base = ["train", "--data", "d", "--dataset", NAME, "--out", "o"]
    assert main(base) == 0  # the recipe's own noise (WaveLiT.compile's default)
    assert seen["input_noise"] is None and seen["recipe"] is None and seen["loss"] is None
    assert main(base + ["--recipe", "paper"]) == 0
    assert seen["recipe"] == "paper" and seen["input_noise"] is None
    assert main(base + ["--recipe", "walrus"]) == 2  # argparse names the choices
    assert main(base + ["--input-noise", "0.1", "--detail-weight", "0.25"]) == 0
    assert seen["input_noise"] == 0.1 and seen["loss"] == {"detail_weight": 0.25}
    assert main(base + ["--input-noise", "-1"]) == 2  # argparse: must be >= 0
    fm = ["train", "--data", "d", "--datasets", f"{NAME},gray_scott_2d", "--out", "o"]
    assert main(fm + ["--input-noise", "0.1", "--detail-weight", "0.5"]) == 0
    assert seen["input_noise"] == 0.1 and seen["loss"] == {"detail_weight": 0.5}
    assert main(fm + ["--recipe", "paper"]) == 1  # a WaveLiT-FM has no named recipes
    assert "--recipe applies to a WaveLiT" in capsys.readouterr().err
    finetune = ["finetune", "--model", "m.keras", "--data", "d", "--dataset", NAME, "--out", "o"]
    assert main(finetune + ["--noise-std", "0.1"]) == 0 and seen["relative_noise"] is False
    assert main(finetune + ["--noise-std", "0.1", "--relative-noise"]) == 0
    assert seen["relative_noise"] is True and seen["noise_std"] == 0.1
