"""Resumable runs, the NaN guard and the command line end to end."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_wavelit.training import NaNGuard
from keras_wavelit.training import RunBackup
from keras_wavelit.training import RunDirectoryError
from keras_wavelit.training import prepare_run_dir
from keras_wavelit.training import read_history
from keras_wavelit.training import read_run
from keras_wavelit.training import trim_history

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..")


class NaNAfter(keras.utils.PyDataset):
    """Finite batches for the first `n_good` reads, NaN targets after."""

    def __init__(self, n_good, **kw):
        super().__init__(**kw)
        self.n_good = n_good
        self.reads = 0
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((4, 3)).astype("float32")
        self.y = rng.standard_normal((4, 1)).astype("float32")

    def __len__(self):
        return 2

    def __getitem__(self, i):
        self.reads += 1
        y = self.y[2 * i : 2 * i + 2]
        if self.reads > self.n_good:
            y = np.full_like(y, np.nan)
        return self.x[2 * i : 2 * i + 2], y


def test_nan_guard_stops_and_restores_last_good(tmp_path, capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    snapshots = []

    class Snap(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append([w.copy() for w in self.model.get_weights()])

    guard = NaNGuard(os.path.join(str(tmp_path), "good.weights.h5"))
    model.fit(NaNAfter(n_good=6), epochs=8, callbacks=[Snap(), guard], verbose=0)
    bad_epoch = guard.bad_position[0]
    assert guard.nan_detected and 2 <= bad_epoch < 8
    assert guard.restored_epoch == bad_epoch - 1
    assert len(snapshots) == bad_epoch  # stopped during the bad epoch
    assert not np.all(np.isfinite(snapshots[-1][0]))
    for w, ref in zip(model.get_weights(), snapshots[bad_epoch - 2]):
        np.testing.assert_array_equal(w, ref)
    assert "restored" in capsys.readouterr().out
    with pytest.raises(ValueError, match="weights.h5"):
        NaNGuard("model.keras")


def test_nan_guard_first_epoch_restores_initial_weights(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    guard = NaNGuard(os.path.join(str(tmp_path), "good.weights.h5"), verbose=0)
    model.fit(NaNAfter(n_good=0), epochs=3, callbacks=[guard], verbose=0)
    assert guard.bad_position == (1, 1) and guard.restored_epoch == 0
    assert "from before training" in guard.message
    for w, ref in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, ref)


class _Interrupt(keras.callbacks.Callback):
    """Ctrl-C after `after` epochs (once their backup and history row exist)."""

    def __init__(self, after):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after:
            raise KeyboardInterrupt


def _backup_run(run_dir, epochs, interrupt_after=None):
    """A Dense model trained with the run callbacks; 2 steps per epoch."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.build((None, 3))
    history = os.path.join(run_dir, "history.csv")
    backup = RunBackup(
        os.path.join(run_dir, "backup"), steps_per_epoch=2, epochs=epochs, history_path=history
    )
    callbacks = [backup, keras.callbacks.CSVLogger(history, append=True)]
    if interrupt_after:
        callbacks.append(_Interrupt(interrupt_after))
    x = np.ones((4, 3), "float32")
    try:
        model.fit(x, x[:, :1], batch_size=2, epochs=epochs, callbacks=callbacks, verbose=0)
    except KeyboardInterrupt:
        pass
    return model, backup, read_history(history)


def _iterations(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def _csv_epochs(path):
    with open(path) as f:
        return [int(line.split(",")[0]) for line in f.read().splitlines()[1:]]


@pytest.mark.parametrize(
    "damage", ["corrupt_latest", "missing_latest", "stale_metadata", "cut_metadata"]
)
def test_run_backup_resumes_where_the_optimizer_is(tmp_path, capsys, damage):
    """Keras's own fallback restores an epoch that can disagree with the
    restored optimizer; RunBackup takes the epoch from the optimizer."""
    run = str(tmp_path)
    _backup_run(run, epochs=4, interrupt_after=3)
    backup = os.path.join(run, "backup")
    latest = os.path.join(backup, "latest.weights.h5")
    meta = os.path.join(backup, "training_metadata.json")
    if damage == "corrupt_latest":  # killed while writing epoch 3's backup
        with open(latest, "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n truncated")
        with open(meta, "w") as f:
            f.write('{"epoch": 2, "batch": 0}')
        expected = 2
    elif damage == "missing_latest":
        os.remove(latest)
        expected = 2
    elif damage == "cut_metadata":  # killed while writing epoch 3's metadata
        with open(meta, "w") as f:
            f.write('{"epo')
        expected = 2
    else:  # weights of epoch 3 written, the process killed before the metadata
        with open(meta, "w") as f:
            f.write('{"epoch": 2, "batch": 0}')
        expected = 3
    assert _csv_epochs(os.path.join(run, "history.csv")) == [0, 1, 2]
    capsys.readouterr()
    model, backup_cb, _ = _backup_run(run, epochs=4)
    assert backup_cb.resumed_epoch == expected
    assert f"resuming from epoch {expected + 1} of 4" in capsys.readouterr().err
    assert _iterations(model) == 4 * 2
    assert _csv_epochs(os.path.join(run, "history.csv")) == [0, 1, 2, 3]
    assert not os.path.exists(backup)


def test_trim_history(tmp_path):
    path = os.path.join(str(tmp_path), "history.csv")
    with open(path, "w") as f:
        f.write("epoch,loss\n0,1.0\n1,0.5\n2,0.25\n1,0.4\n")
    assert trim_history(path, 1) == 3
    assert _csv_epochs(path) == [0]
    assert trim_history(os.path.join(str(tmp_path), "missing.csv"), 0) == 0


def test_prepare_run_dir_refuses_finished_failed_and_other_configs(tmp_path):
    run = os.path.join(str(tmp_path), "run")
    config = {"command": "train", "epochs": 8, "model_kwargs": {"dim": 16}}
    assert prepare_run_dir(run, config) is False  # new
    with open(os.path.join(run, "run.json"), "w") as f:
        json.dump({"config": config, "status": "running"}, f)
    assert prepare_run_dir(run, dict(config)) is True  # resume
    with pytest.raises(RunDirectoryError, match=r"different configuration \(epochs: 8 -> 10\)"):
        prepare_run_dir(run, dict(config, epochs=10))
    for status, words in (("finished", "finished run"), ("failed", "failed")):
        with open(os.path.join(run, "run.json"), "w") as f:
            json.dump({"config": config, "status": status, "error": "NaN"}, f)
        with pytest.raises(RunDirectoryError, match=words):
            prepare_run_dir(run, config)
    # Release 0.1.0 wrote the configuration itself; model.keras marks it finished.
    with open(os.path.join(run, "run.json"), "w") as f:
        json.dump(config, f)
    open(os.path.join(run, "model.keras"), "w").close()
    with pytest.raises(RunDirectoryError, match="finished run"):
        prepare_run_dir(run, config)
    assert prepare_run_dir(run, config, overwrite=True) is False
    assert os.listdir(run) == []
    stray = os.path.join(str(tmp_path), "stray")
    os.makedirs(stray)
    open(os.path.join(stray, "history.csv"), "w").close()
    with pytest.raises(RunDirectoryError, match="no run.json"):
        prepare_run_dir(stray, config)


def _cli(args, env, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "keras_wavelit", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


# Enough epochs that the Ctrl-C, sent once the first epoch is in history.csv,
# always lands before training ends. An epoch of 5 steps of a tiny model takes
# a fraction of a second, and on a loaded machine this process notices the
# epoch late: with 12 epochs, interrupted after the second, the run was seen
# to finish first on every backend. Whole epochs (no --steps-per-epoch): a
# shorter epoch makes Keras walk on through the data and stop the fit when it
# runs out.
EPOCHS = 24


@pytest.mark.slow
def test_train_resumes_after_ctrl_c_then_finetune_evaluate_report(tmp_path):
    from keras_wavelit.cli import main
    from keras_wavelit.data.simulate import simulate

    data = os.path.join(str(tmp_path), "data")
    simulate(
        "acoustic_scattering_2d",
        data,
        resolution=32,
        n_trajectories=4,
        n_steps=12,
        seed=1,
        verbose=0,
    )
    run = os.path.join(str(tmp_path), "run")
    args = [
        "train",
        "--data",
        data,
        "--dataset",
        "acoustic_scattering_2d",
        "--out",
        run,
        "--dim",
        "16",
        "--depth",
        "1",
        "--num-heads",
        "2",
        "--pyramid-levels",
        "0",
        "--n-steps-input",
        "2",
        "--epochs",
        str(EPOCHS),
        "--validation-steps",
        "1",
        "--warmup-steps",
        "2",
        "--quiet",
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    history = os.path.join(run, "history.csv")

    # A user's Ctrl-C reaches a foreground process, whose SIGINT disposition is
    # the default; a test run started in the background inherits "ignore" (and
    # Python then installs no KeyboardInterrupt handler): reset it in the child.
    proc = _cli(
        args,
        env,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if len(read_history(history).get("loss", [])) >= 1:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail("training ended before it could be interrupted:\n" + proc.stdout.read()[-3000:])
    os.kill(proc.pid, signal.SIGINT)  # Ctrl-C
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("Ctrl-C did not stop `wavelit train` within 120 s")
    assert proc.returncode == 130, out[-3000:]
    assert (
        "wavelit train: interrupted; run the same command again to resume from the "
        "last finished epoch." in out
    )
    done = len(read_history(history)["loss"])
    assert 1 <= done < EPOCHS
    assert os.path.isdir(os.path.join(run, "backup"))
    assert not os.path.exists(os.path.join(run, "model.keras"))

    proc = _cli(args, env)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    resumed = re.search(rf"resuming from epoch (\d+) of {EPOCHS}", out)
    assert resumed and int(resumed.group(1)) in (done, done + 1), out[-3000:]
    with open(history) as f:  # one row per epoch, none twice
        rows = [line.split(",")[0] for line in f.read().splitlines()[1:]]
    assert rows == [str(e) for e in range(EPOCHS)]
    hist = read_history(history)
    assert np.all(np.isfinite(hist["loss"]))
    assert not os.path.exists(os.path.join(run, "backup"))
    model = keras.saving.load_model(os.path.join(run, "model.keras"))
    # Whole epochs: 20 training windows in batches of 4.
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == EPOCHS * 5
    with open(os.path.join(run, "run.json")) as f:
        run_json = json.load(f)
    assert run_json["status"] == "finished"
    kwargs = run_json["config"]["model_kwargs"]
    assert kwargs["dim"] == 16
    assert kwargs["boundary"] == "reflect"  # acoustics: walls, from the data's boundary conditions
    # The finished run is not trained into again.
    assert main(args) == 1

    ft = os.path.join(str(tmp_path), "ft")
    assert (
        main(
            [
                "finetune",
                "--model",
                os.path.join(run, "model.keras"),
                "--data",
                data,
                "--dataset",
                "acoustic_scattering_2d",
                "--out",
                ft,
                "--method",
                "causal_bptt",
                "--unroll",
                "2",
                "--epochs",
                "1",
                "--steps-per-epoch",
                "1",
                "--validation-steps",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert os.path.exists(os.path.join(ft, "model.keras"))
    ev = os.path.join(str(tmp_path), "eval")
    assert (
        main(
            [
                "evaluate",
                "--model",
                os.path.join(ft, "model.keras"),
                "--data",
                data,
                "--dataset",
                "acoustic_scattering_2d",
                "--out",
                ev,
            ]
        )
        == 0
    )
    with open(os.path.join(ev, "evaluation.json")) as f:
        result = json.load(f)
    assert result["n_steps"] == 10 and result["field_names"] == [
        "pressure",
        "velocity_x",
        "velocity_y",
    ]
    rep = os.path.join(str(tmp_path), "report")
    assert (
        main(
            [
                "report",
                "--eval",
                f"finetuned={ev}",
                "--history",
                f"pretrain={history}",
                "--out",
                rep,
            ]
        )
        == 0
    )
    text = open(os.path.join(rep, "report.md")).read()
    assert "finetuned" in text and "[6:12]" in text
    for png in (
        "rollout_frames.png",
        "vrmse_vs_step.png",
        "error_spectra.png",
        "training_pretrain.png",
    ):
        assert os.path.getsize(os.path.join(rep, png)) > 1000


def test_train_run_under_a_distribution_shards_and_only_the_chief_writes(tmp_path, monkeypatch):
    from keras_wavelit.data.simulate import simulate
    from keras_wavelit.distributed.cli import DistributedSetup
    from keras_wavelit.training import runs

    data = os.path.join(str(tmp_path), "data")
    simulate(
        "acoustic_scattering_2d",
        data,
        resolution=16,
        n_trajectories=6,
        n_steps=6,
        seed=1,
        verbose=0,
    )
    seen = []
    monkeypatch.setattr(runs, "_fit", lambda model, run_dir, train, *a, **kw: seen.append(train))
    run = os.path.join(str(tmp_path), "run")
    kwargs = dict(
        model_kwargs=dict(dim=16, depth=1, num_heads=2, pyramid_levels=0),
        epochs=1,
        batch_size=2,
        n_steps_input=2,
        verbose=0,
    )
    runs.train_run(
        data, "acoustic_scattering_2d", run, distribution=DistributedSetup(1, 2), **kwargs
    )
    assert seen[-1].shard == (1, 2) and seen[-1].local_batch_size == 1
    assert not os.path.exists(run) or os.listdir(run) == []
    runs.train_run(
        data, "acoustic_scattering_2d", run, distribution=DistributedSetup(0, 2), **kwargs
    )
    assert seen[-1].shard == (0, 2)
    assert sorted(os.listdir(run)) == ["model.keras", "run.json"]
    with pytest.raises(ValueError, match="divisible"):
        runs.train_run(
            data,
            "acoustic_scattering_2d",
            os.path.join(str(tmp_path), "odd"),
            distribution=DistributedSetup(0, 2, num_devices=2),
            **dict(kwargs, batch_size=3),
        )


def test_train_fm_run_under_a_distribution_shards_every_dataset(tmp_path, monkeypatch):
    from keras_wavelit.data import MultiDatasetSequence
    from keras_wavelit.data.simulate import simulate
    from keras_wavelit.distributed.cli import DistributedSetup
    from keras_wavelit.training import runs

    names = ["gray_scott_2d", "acoustic_scattering_2d"]
    data = os.path.join(str(tmp_path), "data")
    for name in names:
        simulate(name, data, resolution=16, n_trajectories=6, n_steps=6, seed=1, verbose=0)
    seen = []

    def fake_fit(model, run_dir, train, valid, *a, **kw):
        seen.append((train, kw["callbacks"]))

    monkeypatch.setattr(runs, "_fit", fake_fit)
    run = os.path.join(str(tmp_path), "run")
    kwargs = dict(
        model_kwargs=dict(dim=16, depth=1, num_heads=2, pyramid_levels=0),
        sampling="temperature",
        epochs=1,
        steps_per_epoch=6,
        batch_size=2,
        n_steps_input=2,
        verbose=0,
    )
    runs.train_fm_run(data, names, run, distribution=DistributedSetup(1, 2), **kwargs)
    assert not os.path.exists(run) or os.listdir(run) == []
    runs.train_fm_run(data, names, run, distribution=DistributedSetup(0, 2), **kwargs)
    assert sorted(os.listdir(run)) == ["model.keras", "run.json"]
    (b, callbacks_b), (a, callbacks_a) = seen
    assert isinstance(a, MultiDatasetSequence) and a.method == "temperature"
    assert callbacks_a[0].sequence is a
    for name in names:
        assert a.sequences[name].shard == (0, 2) and b.sequences[name].shard == (1, 2)
    assert [a.batch_indices(i)[0] for i in range(6)] == [b.batch_indices(i)[0] for i in range(6)]
    config = read_run(run)["config"]
    assert config["datasets"] == names and config["sampling"] == "temperature"
    assert read_run(run)["status"] == "finished"
    with pytest.raises(RunDirectoryError, match="finished run"):
        runs.train_fm_run(data, names, run, **kwargs)
    with pytest.raises(ValueError, match="Unknown sampling"):
        runs.train_fm_run(data, names, run, **dict(kwargs, sampling="zipf"))
    with pytest.raises(ValueError, match="more than once"):
        runs.train_fm_run(data, names + names[:1], run, **kwargs)


def test_adaptive_sampling_is_refused_with_several_processes(tmp_path):
    from types import SimpleNamespace

    from keras_wavelit.training.runs import train_fm_run

    two_processes = SimpleNamespace(is_chief=True, shard=(0, 2))
    with pytest.raises(ValueError, match="'adaptive' runs in one process only: with 2 processes"):
        train_fm_run(
            str(tmp_path),
            ["gray_scott_2d", "kolmogorov_2d"],
            str(tmp_path / "run"),
            sampling="adaptive",
            distribution=two_processes,
        )
    assert not (tmp_path / "run").exists()  # refused before any work
