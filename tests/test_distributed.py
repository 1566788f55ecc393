"""Distributed training (`keras_wavelit.distributed`, docs/distributed.md).

Every backend tests the flags, the cluster spec and its own path in-process
(cheap). The multi-device runs happen in subprocesses, because device
settings must be made before the backend starts, and only under the backend
they exercise: JAX (two simulated CPU devices: single device vs
DataParallel vs ModelParallel; and a two-process job on 127.0.0.1, one CPU
device each) and TensorFlow (MirroredStrategy on two logical CPUs).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from keras_wavelit.distributed import DistributionNotSupportedError
from keras_wavelit.distributed import cli
from keras_wavelit.distributed import cluster_spec
from keras_wavelit.distributed import local_batch_size
from keras_wavelit.distributed import require
from keras_wavelit.distributed import trunk_layout_map

BACKEND = keras.backend.backend()
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "distributed_worker.py")
ROOT = os.path.dirname(HERE)
# Bound on every subprocess (they take 30-120 s on a loaded 2-core machine).
HARD_TIMEOUT = 420
# float32 results of 2 devices vs 1 differ by reduction order only; measured
# max |weight difference| after 3 steps: 3e-8 (DataParallel), 6e-8 (ModelParallel).
ATOL = 1e-5


def _env(**extra):
    env = dict(os.environ)
    for k in list(env):
        # The suite's shared XLA cache holds single-device programs; the
        # multi-device workers compile their own.
        if k == "XLA_FLAGS" or k.startswith(
            ("KERAS_DISTRIBUTION_", "JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE")
        ):
            del env[k]
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _start(args, env):
    return subprocess.Popen(
        [sys.executable, WORKER] + args,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, killed as a whole
    )


def _finish(procs, deadline, check=True):
    """Waits for all; on timeout kills every group. Returns their outputs."""
    outputs = []
    try:
        for p in procs:
            out, _ = p.communicate(timeout=max(deadline - time.monotonic(), 1))
            outputs.append(out)
    except subprocess.TimeoutExpired:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        pytest.fail(f"distributed worker(s) did not finish within {HARD_TIMEOUT} s")
    for p, out in zip(procs, outputs):
        assert not check or p.returncode == 0, f"worker failed (rc={p.returncode}):\n{out[-4000:]}"
    return outputs


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------- every backend
def test_cluster_spec_from_arguments_and_environment():
    spec = cluster_spec("127.0.0.1:1234", 2, 1, environ={})
    assert spec == ("127.0.0.1:1234", 2, 1)
    env = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": "127.0.0.1:99,127.0.0.1:100",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
        "KERAS_DISTRIBUTION_PROCESS_ID": "1",
    }
    assert cluster_spec(environ=env) == ("127.0.0.1:99", 2, 1)
    # Arguments win over the environment.
    assert cluster_spec(process_id=0, environ=env).process_id == 0
    assert cluster_spec(environ={}) == (None, 1, 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_processes=2, process_id=0), "coordinator"),
        (dict(coordinator_address="127.0.0.1:1", num_processes=2), "process id"),
        (dict(coordinator_address="127.0.0.1:1", num_processes=2, process_id=2), "outside 0..1"),
        (dict(num_processes=0), "at least 1"),
        (dict(coordinator_address="127.0.0.1", num_processes=2, process_id=0), "host:port"),
        (dict(coordinator_address="127.0.0.1:x", num_processes=2, process_id=0), "port"),
    ],
)
def test_cluster_spec_errors_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cluster_spec(environ={}, **kwargs)


def test_cluster_spec_errors_name_the_environment_variable():
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_NUM_PROCESSES"):
        cluster_spec(environ={"KERAS_DISTRIBUTION_NUM_PROCESSES": "two"})


def test_flags_have_help_and_defaults():
    parser = argparse.ArgumentParser()
    group = cli.add_arguments(parser)
    args = parser.parse_args([])
    assert args.data_parallel is False and args.model_parallel == 1
    assert args.coordinator_address is None and args.num_processes is None
    assert args.process_id is None
    for action in group._group_actions:
        assert action.help and "Default" in action.help, action.dest
    args = parser.parse_args(
        "--coordinator-address 127.0.0.1:5 --num-processes 2 --process-id 1".split()
    )
    assert (args.coordinator_address, args.num_processes, args.process_id) == (
        "127.0.0.1:5",
        2,
        1,
    )


def test_configure_without_flags_changes_nothing(monkeypatch):
    for k in ("JOB_ADDRESSES", "NUM_PROCESSES", "PROCESS_ID"):
        monkeypatch.delenv(f"KERAS_DISTRIBUTION_{k}", raising=False)
    setup = cli.configure(argparse.Namespace())
    assert setup.is_chief and setup.shard is None and setup.distribution is None
    assert keras.distribution.distribution() is None
    assert setup.check_batch_size(4) == 4
    assert setup.process_path("runs/x/backup") == "runs/x/backup"
    worker = cli.DistributedSetup(process_index=1, process_count=2, num_devices=2)
    assert not worker.is_chief and worker.shard == (1, 2)
    assert worker.process_path("runs/x/backup/") == "runs/x/backup.process1"
    assert worker.check_batch_size(4) == 2
    with pytest.raises(ValueError, match="divisible by the 2 model replicas"):
        worker.check_batch_size(3)
    # Model parallel over 4 devices, kernels split in 2: 2 replicas share the batch.
    sharded = cli.DistributedSetup(num_devices=4, num_replicas=2)
    assert sharded.check_batch_size(2) == 2
    with pytest.raises(ValueError, match="--model-parallel"):
        cli.configure(argparse.Namespace(model_parallel=0))


def test_every_process_saves_only_the_chief_writes(tmp_path):
    import keras_wavelit as kw

    model = kw.models.WaveLiT(dim=16, depth=1, num_heads=2)
    model.build((1, 1, 16, 16, 2))
    worker = cli.DistributedSetup(process_index=1, process_count=2)
    assert worker.save_model(model, str(tmp_path / "m.keras")) is None
    assert worker.save_weights(model, str(tmp_path / "m.weights.h5")) is None
    assert os.listdir(tmp_path) == []
    chief = cli.DistributedSetup(process_index=0, process_count=2)
    assert chief.save_model(model, str(tmp_path / "m.keras")) == str(tmp_path / "m.keras")
    assert chief.save_weights(model, str(tmp_path / "m.weights.h5")) is not None
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "m.weights.h5"]


def test_local_batch_size():
    assert local_batch_size(8, 4) == 2
    with pytest.raises(ValueError, match="divisible by the number of processes 3"):
        local_batch_size(8, 3)


def test_support_table():
    assert require("data_parallel", backend="jax") == "jax"
    assert require("data_parallel", backend="tensorflow") == "tensorflow"
    for feature in ("model_parallel", "multi_process"):
        with pytest.raises(DistributionNotSupportedError, match="KERAS_BACKEND=jax"):
            require(feature, backend="tensorflow")
    with pytest.raises(DistributionNotSupportedError, match="no keras.distribution support"):
        require("data_parallel", backend="torch")
    with pytest.raises(ValueError, match="Unknown feature"):
        require("pipeline_parallel")


def test_trunk_layout_map_shards_exactly_the_mixer_dense_layers():
    import keras_wavelit as kw

    model = kw.models.WaveLiT(dim=16, depth=2, num_heads=2)
    model.build((1, 1, 16, 16, 2))
    mesh = keras.distribution.DeviceMesh((1, 2), ["batch", "model"], ["cpu:0", "cpu:1"])
    layout_map = trunk_layout_map(mesh)
    sharded = {}
    for v in model.weights:
        layout = layout_map[v.path]
        if layout is not None:
            sharded[v.path.split("/", 1)[1]] = layout.axes
            assert len(layout.axes) == len(v.shape), v.path
    for block in (0, 1):
        for name in ("attention/query", "attention/key", "attention/gate", "mlp_in", "mila_in"):
            key = [k for k in sharded if k.endswith(f"block_{block}/{name}/kernel")]
            assert len(key) == 1 and sharded[key[0]] == (None, "model"), (name, sharded)
        for name in ("attention_out", "mlp_out"):
            key = [k for k in sharded if k.endswith(f"block_{block}/{name}/kernel")]
            assert len(key) == 1 and sharded[key[0]] == ("model", None), (name, sharded)
    # Only mixer dense layers: no tokenizer, norm or depthwise weights.
    assert all("block_" in k for k in sharded)
    assert not any(s in k for k in sharded for s in ("tokenizer", "norm", "depthwise", "cpe"))
    with pytest.raises(ValueError, match="not an axis"):
        trunk_layout_map(mesh, model_axis="tensor")


# ---------------------------------------------------------- backend-specific
@pytest.mark.skipif(BACKEND != "torch", reason="the PyTorch path")
def test_torch_refuses_distribution_with_a_clear_error():
    for ns, match in (
        (argparse.Namespace(data_parallel=True), "PyTorch"),
        (argparse.Namespace(model_parallel=2), "model-parallel"),
        (
            argparse.Namespace(coordinator_address="127.0.0.1:1", num_processes=2, process_id=0),
            "multi-process",
        ),
    ):
        start = time.monotonic()
        with pytest.raises(DistributionNotSupportedError, match=match):
            cli.configure(ns)
        assert time.monotonic() - start < 5  # an error, not a hang


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the TensorFlow path")
def test_tensorflow_refuses_multi_process_and_model_parallel():
    with pytest.raises(DistributionNotSupportedError, match="multi-process"):
        cli.configure(
            argparse.Namespace(coordinator_address="127.0.0.1:1", num_processes=2, process_id=1)
        )
    with pytest.raises(DistributionNotSupportedError, match="model-parallel"):
        cli.configure(argparse.Namespace(model_parallel=2))


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the TensorFlow path")
def test_tensorflow_mirrored_strategy_matches_one_device(tmp_path):
    (out,) = _finish(
        [_start(["mirrored", str(tmp_path)], _env(KERAS_BACKEND="tensorflow"))],
        time.monotonic() + HARD_TIMEOUT,
    )
    with open(tmp_path / "mirrored.json") as f:
        r = json.load(f)
    assert r["strategy"] == "MirroredStrategy" and r["replicas"] == 2
    assert len(r["mirrored_losses"]) == 2
    np.testing.assert_allclose(r["mirrored_losses"], r["single_losses"], rtol=1e-5)
    assert r["max_weight_diff"] < ATOL


@pytest.fixture(scope="module")
def jax_runs(tmp_path_factory):
    """Starts the JAX subprocesses together (they overlap on the cores)."""
    from keras_wavelit.data import simulate

    root = tmp_path_factory.mktemp("distributed")
    eq_dir, mh_dir, data = root / "equivalence", root / "multihost", root / "data"
    fm_dir = root / "foundation_model"
    for d in (eq_dir, mh_dir, fm_dir):
        d.mkdir()
    # 4 trajectories: 2 for training, 4 windows each -> 8 samples, 4 per process.
    simulate(
        "acoustic_scattering_2d", str(data), resolution=16, n_trajectories=4, n_steps=6, verbose=0
    )
    deadline = time.monotonic() + HARD_TIMEOUT
    two_devices = _env(KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    procs = [_start(["equivalence", str(eq_dir)], two_devices)]
    port = _free_port()
    for i in range(2):
        procs.append(
            _start(
                ["multihost", "--data", str(data), "--out", str(mh_dir), "--batch-size", "4"],
                _env(
                    KERAS_BACKEND="jax",
                    KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
                    KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                    KERAS_DISTRIBUTION_PROCESS_ID=str(i),
                ),
            )
        )
    # WaveLiT-FM runs alongside; its test reports its failure, not the fixture.
    fm = _start(["foundation_model", str(fm_dir)], two_devices)
    _finish(procs, deadline)
    (fm_output,) = _finish([fm], deadline, check=False)
    return {
        "equivalence": eq_dir,
        "multihost": mh_dir,
        "data": str(data),
        "foundation_model": (fm_dir, fm.returncode, fm_output),
    }


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution runs on JAX")
def test_data_and_model_parallel_match_one_device(jax_runs):
    eq = jax_runs["equivalence"]
    with open(eq / "equivalence.json") as f:
        r = json.load(f)
    assert r["devices"] == 2
    # --data-parallel: both devices, 4 samples per step per process (one process).
    assert r["dp_setup"] == [2, 4, "DataParallel"]
    # --model-parallel 2: a (1, 2) mesh, one replica holding the whole batch.
    assert r["mp_setup"] == [2, 1, "ModelParallel"]
    assert len(r["single_losses"]) == 3
    np.testing.assert_allclose(r["dp_losses"], r["single_losses"], rtol=1e-5)
    np.testing.assert_allclose(r["mp_losses"], r["single_losses"], rtol=1e-5)
    assert r["dp_weight_devices"] == 2  # replicated on both devices
    assert r["dp_max_weight_diff"] < ATOL
    assert r["mp_max_weight_diff"] < ATOL
    specs = r["mp_specs"]
    assert [s for k, s in specs.items() if k.endswith("mlp_in/kernel")] == [
        "PartitionSpec(None, 'model')"
    ]
    assert [s for k, s in specs.items() if k.endswith("mlp_out/kernel")] == [
        "PartitionSpec('model', None)"
    ]
    # The model saved under DataParallel loads and predicts on one device.
    model = keras.saving.load_model(str(eq / "dp.keras"))
    saved = np.load(eq / "dp_weights.npz")
    weights = model.get_weights()
    assert len(weights) == len(saved.files)
    for i, w in enumerate(weights):
        np.testing.assert_array_equal(w, saved[f"arr_{i}"])
    x = np.load(eq / "x.npy")
    prediction = np.asarray(model.predict(x, verbose=0))
    assert prediction.shape == (2, 1, 16, 16, 2) and np.isfinite(prediction).all()


@pytest.mark.skipif(BACKEND != "jax", reason="multi-process keras.distribution runs on JAX")
def test_two_processes_train_in_step_on_their_shards(jax_runs):
    mh = jax_runs["multihost"]
    results = []
    for i in range(2):
        with open(mh / f"process{i}.json") as f:
            results.append(json.load(f))
    p0, p1 = results
    assert [p0["process_index"], p1["process_index"]] == [0, 1]
    for r in results:
        assert r["process_count"] == 2 and r["num_devices"] == 2 and r["local_devices"] == 1
        assert r["local_batch_size"] == r["sequence_local_batch_size"] == 2
        assert r["trajectories_in_memory"] == [1]  # read only its own trajectory
        assert r["steps"] == 2
    assert p0["sample_indices"] == [0, 1, 2, 3] and p1["sample_indices"] == [4, 5, 6, 7]
    # In step: the same global losses and the same weights on both processes.
    assert p0["losses"] == p1["losses"]
    assert p0["weight_checksum"] == p1["weight_checksum"]
    # One checkpoint, written by process 0; no scratch files left behind.
    assert sorted(os.listdir(mh)) == ["init.npz", "model.keras", "process0.json", "process1.json"]
    # The global batch of each step is process 0's part then process 1's:
    # one device trained on those batches gives the same losses.
    import keras_wavelit as kw
    from keras_wavelit.data import WellSequence

    whole = WellSequence(jax_runs["data"], "acoustic_scattering_2d", "train", n_steps_input=2)
    xs, cs, ys = [], [], []
    for step in range(2):
        for r in results:
            assert len(r["served"][step]) == 2
            for index in r["served"][step]:
                x, y, c = whole.sample(index)
                xs.append(x)
                cs.append(c)
                ys.append(y)
    assert sorted(i for b in p0["served"] for i in b) == [0, 1, 2, 3]
    assert sorted(i for b in p1["served"] for i in b) == [4, 5, 6, 7]
    x = {"fields": np.stack(xs), "constants": np.stack(cs)}
    y = np.stack(ys)
    model = kw.models.WaveLiT(dim=16, depth=1, num_heads=2)
    model.compile(learning_rate=1e-3, warmup_steps=1, input_noise=0.0)
    model.build({k: (4,) + v.shape[1:] for k, v in x.items()})
    init = np.load(mh / "init.npz")
    model.set_weights([init[f"arr_{i}"] for i in range(len(init.files))])
    losses = []
    model.fit(
        x,
        y,
        batch_size=4,
        shuffle=False,
        verbose=0,
        callbacks=[
            keras.callbacks.LambdaCallback(
                on_train_batch_end=lambda b, logs: losses.append(float(logs["loss"]))
            )
        ],
    )
    np.testing.assert_allclose(losses, p0["losses"], rtol=1e-5)
    loaded = keras.saving.load_model(str(mh / "model.keras"))
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, atol=ATOL)


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution runs on JAX")
def test_foundation_model_data_parallel_matches_one_device(jax_runs):
    fm_dir, rc, output = jax_runs["foundation_model"]
    assert rc == 0, output[-4000:]
    with open(fm_dir / "foundation_model.json") as f:
        r = json.load(f)
    assert len(r["single_losses"]) == 2
    np.testing.assert_allclose(r["dp_losses"], r["single_losses"], rtol=1e-5)
    assert r["max_weight_diff"] < ATOL
