"""Resumable runs, the NaN guard and the command line end to end."""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_wavelit.training import NaNGuard
from keras_wavelit.training import read_history

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


@pytest.mark.slow
def test_train_resumes_after_kill_then_finetune_evaluate_report(tmp_path):
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
        "--fpn-levels",
        "0",
        "--n-steps-input",
        "2",
        "--epochs",
        "4",
        "--steps-per-epoch",
        "2",
        "--validation-steps",
        "1",
        "--warmup-steps",
        "2",
        "--quiet",
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    history = os.path.join(run, "history.csv")

    proc = _cli(args, env, start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if len(read_history(history).get("loss", [])) >= 2:
            break
        # Poll often: the kill should land during epoch 3's steps, not while
        # its backup is written (that case resumes from the previous backup).
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail("training ended before it could be interrupted:\n" + proc.stdout.read()[-3000:])
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(read_history(history)["loss"])
    assert 2 <= done < 4
    assert os.path.isdir(os.path.join(run, "backup"))
    assert not os.path.exists(os.path.join(run, "model.keras"))

    proc = _cli(args, env)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    hist = read_history(history)
    assert len(hist["loss"]) == 4 and np.all(np.isfinite(hist["loss"]))
    assert not os.path.exists(os.path.join(run, "backup"))
    model = keras.saving.load_model(os.path.join(run, "model.keras"))
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 4 * 2
    with open(os.path.join(run, "run.json")) as f:
        kwargs = json.load(f)["model_kwargs"]
    assert kwargs["dim"] == 16
    assert kwargs["mode"] == "reflect"  # acoustics: walls, from the data's boundary conditions

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
