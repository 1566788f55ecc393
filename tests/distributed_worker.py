"""Subprocess worker of tests/test_distributed.py (not a test module).

Runs in a fresh interpreter so that device settings (simulated JAX devices,
TensorFlow logical devices, a multi-process job) are made before the
backend starts. Writes its results as JSON (and `.npz`/`.keras` files) into
an output directory for the test to check.

    python tests/distributed_worker.py equivalence OUT        # JAX, 2 devices
    python tests/distributed_worker.py foundation_model OUT   # JAX, 2 devices
    python tests/distributed_worker.py mirrored OUT           # TensorFlow, 2 CPUs
    python tests/distributed_worker.py multihost --data D --out OUT [flags]
"""

import argparse
import json
import os
import sys

import numpy as np

# A tiny deterministic WaveLiT: no dropout or stochastic depth, no input
# noise (its draws depend on how the batch is split across devices); the
# recipe with a one-step warm-up so that every step moves the weights.
MODEL_KWARGS = dict(dim=16, depth=1, num_heads=2)
COMPILE_KWARGS = dict(learning_rate=1e-3, warmup_steps=1, input_noise=0.0)


def _model(compile_kwargs=None):
    import keras_wavelit as kw

    model = kw.models.WaveLiT(**MODEL_KWARGS)
    model.compile(**(COMPILE_KWARGS if compile_kwargs is None else compile_kwargs))
    return model


class StepLosses:
    """Builds a callback that records the running loss after every step."""

    def __new__(cls):
        import keras

        class _Record(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.losses = []

            def on_train_batch_end(self, batch, logs=None):
                self.losses.append(float(logs["loss"]))

        return _Record()


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2, 16, 16, 2)).astype("float32")
    y = (0.5 * x[:, -1:] + 0.1 * rng.standard_normal((n, 1, 16, 16, 2))).astype("float32")
    return x, y


def _train(x, y, weights, batch_size=4, compile_kwargs=None):
    model = _model(compile_kwargs)
    model.build(x.shape)
    if weights is not None:
        model.set_weights(weights)
    record = StepLosses()
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    return model, record.losses


def _max_diff(a, b):
    return float(max(np.max(np.abs(np.asarray(u) - np.asarray(v))) for u, v in zip(a, b)))


def equivalence(out):
    """Single device vs DataParallel vs ModelParallel on 2 simulated devices."""
    import jax
    import keras

    from keras_wavelit.distributed import cli

    result = {"devices": len(jax.devices())}
    x, y = _data()
    keras.utils.set_random_seed(0)
    single, single_losses = _train(x, y, None)
    # The initial weights again: same seed, same construction order.
    keras.utils.set_random_seed(0)
    init = _model()
    init.build(x.shape)
    w0 = init.get_weights()
    result["single_losses"] = single_losses

    # Through the command-line flags, as `wavelit train` does.
    dp = cli.configure(argparse.Namespace(data_parallel=True))
    result["dp_setup"] = [dp.num_devices, dp.check_batch_size(4), type(dp.distribution).__name__]
    dp_model, dp_losses = _train(x, y, w0)
    result["dp_losses"] = dp_losses
    result["dp_weight_devices"] = len(dp_model.trainable_variables[0].value.sharding.device_set)
    result["dp_max_weight_diff"] = _max_diff(single.get_weights(), dp_model.get_weights())
    dp_model.save(os.path.join(out, "dp.keras"))
    np.savez(os.path.join(out, "dp_weights.npz"), *dp_model.get_weights())
    np.save(os.path.join(out, "x.npy"), x[:2])
    keras.distribution.set_distribution(None)
    del dp

    mp = cli.configure(argparse.Namespace(model_parallel=2))
    result["mp_setup"] = [mp.num_devices, mp.num_replicas, type(mp.distribution).__name__]
    mp_model, mp_losses = _train(x, y, w0)
    result["mp_losses"] = mp_losses
    result["mp_max_weight_diff"] = _max_diff(single.get_weights(), mp_model.get_weights())
    specs = {
        v.path: str(v.value.sharding.spec)
        for v in mp_model.trainable_variables
        if v.path.endswith("mlp_in/kernel") or v.path.endswith("mlp_out/kernel")
    }
    result["mp_specs"] = specs
    with open(os.path.join(out, "equivalence.json"), "w") as f:
        json.dump(result, f)


def foundation_model(out):
    """WaveLiT-FM: single device vs DataParallel on 2 simulated devices."""
    import keras

    import keras_wavelit as kw
    from keras_wavelit.distributed import data_parallel

    rng = np.random.default_rng(0)
    x = {
        "fields": rng.standard_normal((8, 2, 16, 16, 3)).astype("float32"),
        "dataset": np.full((8,), 1, "int32"),
    }
    y = rng.standard_normal((8, 1, 16, 16, 3)).astype("float32")

    def train(weights):
        model = kw.models.WaveLiTFM(
            datasets=["gray_scott_2d", "kolmogorov_2d"],
            n_steps_input=2,
            **MODEL_KWARGS,
        )
        model.compile(**COMPILE_KWARGS)
        model.predict_dataset(x["fields"][:1], dataset="kolmogorov_2d")  # builds
        if weights is None:
            weights = model.get_weights()
        else:
            model.set_weights(weights)
        record = StepLosses()
        model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=[record])
        return model, record.losses, weights

    keras.utils.set_random_seed(0)
    single, single_losses, w0 = train(None)
    data_parallel()
    dp, dp_losses, _ = train(w0)
    result = {
        "single_losses": single_losses,
        "dp_losses": dp_losses,
        "max_weight_diff": _max_diff(single.get_weights(), dp.get_weights()),
    }
    with open(os.path.join(out, "foundation_model.json"), "w") as f:
        json.dump(result, f)


def mirrored(out):
    """TensorFlow: MirroredStrategy on 2 logical CPUs vs one device."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from keras_wavelit.distributed import cli

    x, y = _data(n=8)

    def adamw():
        # The recipe without global clipping: Keras 3.15.1 clips each
        # replica's gradient before the all-reduce under tf.distribute, so
        # clipped updates differ from one-device training by design.
        return {
            "optimizer": keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4),
            "input_noise": 0.0,
        }

    keras.utils.set_random_seed(0)
    single, single_losses = _train(x, y, None, compile_kwargs=adamw())
    keras.utils.set_random_seed(0)
    init = _model()
    init.build(x.shape)
    w0 = init.get_weights()
    setup = cli.configure(argparse.Namespace(data_parallel=True))
    with setup.scope():
        model, losses = _train(x, y, w0, compile_kwargs=adamw())
    result = {
        "replicas": setup.num_devices,
        "strategy": type(setup.distribution).__name__,
        "single_losses": single_losses,
        "mirrored_losses": losses,
        "max_weight_diff": _max_diff(single.get_weights(), model.get_weights()),
        "weight_diffs": {
            v.path: _max_diff([a], [b])
            for v, a, b in zip(model.weights, single.get_weights(), model.get_weights())
        },
    }
    with open(os.path.join(out, "mirrored.json"), "w") as f:
        json.dump(result, f)


def multihost(argv):
    """One process of a multi-process data-parallel job on the CLI flags."""
    import faulthandler

    # A hang detector, not a timer: well under the parent's HARD_TIMEOUT (420 s)
    # yet long enough for a machine busy with other work.
    faulthandler.dump_traceback_later(360, exit=True)
    from keras_wavelit.distributed import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args(argv)

    import keras

    keras.utils.set_random_seed(0)
    setup = cli.configure(args)  # joins the job before any computation
    import jax

    from keras_wavelit.data import WellSequence
    from keras_wavelit.distributed import save_model

    local = setup.check_batch_size(args.batch_size)

    class Recording(WellSequence):
        """Records the global sample ids of every batch it serves."""

        served = []

        def __getitem__(self, index):
            b = self.local_batch_size
            ids = self.sample_indices[self._order[index * b : (index + 1) * b]]
            self.served.append([int(i) for i in ids])
            return super().__getitem__(index)

    train = Recording(
        args.data,
        "acoustic_scattering_2d",
        "train",
        n_steps_input=2,
        batch_size=args.batch_size,
        shard=setup.shard,
        seed=0,
        drop_remainder=True,
    )
    x0, _ = train[0]
    train.served.clear()
    with setup.scope():
        model = _model()
        model.build({k: v.shape[:0] + (args.batch_size,) + v.shape[1:] for k, v in x0.items()})
    if setup.is_chief:
        np.savez(os.path.join(args.out, "init.npz"), *model.get_weights())
    record = StepLosses()
    # WellSequence shuffles (seeded); shuffle=False keeps Keras from also
    # shuffling the batch order, so the test can replay the global batches.
    model.fit(train, epochs=1, shuffle=False, verbose=0, callbacks=[record])
    save_model(model, os.path.join(args.out, "model.keras"), is_chief=setup.is_chief)
    weights = model.get_weights()
    result = {
        "process_index": setup.process_index,
        "process_count": setup.process_count,
        "num_devices": setup.num_devices,
        "local_devices": jax.local_device_count(),
        "local_batch_size": local,
        "sequence_local_batch_size": train.local_batch_size,
        "sample_indices": [int(i) for i in train.sample_indices],
        "trajectories_in_memory": [a[1].shape[0] for a in train._arrays if a is not None],
        "steps": len(record.losses),
        # The training steps' batches (Keras first probes one batch to build).
        "served": train.served[-len(record.losses) :],
        "losses": record.losses,
        "weight_checksum": float(sum(float(np.sum(np.abs(w))) for w in weights)),
    }
    path = os.path.join(args.out, f"process{setup.process_index}.json")
    with open(path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "equivalence":
        equivalence(sys.argv[2])
    elif mode == "foundation_model":
        foundation_model(sys.argv[2])
    elif mode == "mirrored":
        mirrored(sys.argv[2])
    elif mode == "multihost":
        multihost(sys.argv[2:])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
