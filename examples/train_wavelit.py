"""Train, evaluate, save and roll out a WaveLiT surrogate, end to end.

The full workflow of the library on a dataset small enough for a CPU:

1. **Data.** ``keras_wavelit.data.simulate`` writes a small
   ``acoustic_scattering_2d`` dataset (linear acoustics in a medium with
   scattering inclusions) in The Well's HDF5 layout: 3 time-varying channels
   (``pressure``, ``velocity_x``, ``velocity_y``) and 2 constant fields
   (``density``, ``speed_of_sound``) on a 32 x 32 grid.
2. **Training.** A small ``WaveLiT`` compiled with the paper's recipe
   (AdamW, warm-up + exponential decay, global clipping, EMA of the weights,
   ``WaveletLoss(1, 1)``, VRMSE) is trained first on NumPy arrays, then
   further on a ``keras.utils.PyDataset`` (``WellSequence``), which is how a
   real Well dataset is fed. Inputs are the dict
   ``{"fields": (B, 4, H, W, 3), "constants": (B, H, W, 2)}``.
3. **Evaluation.** ``model.evaluate`` (loss and VRMSE of one-step
   predictions, normalized units) and
   ``keras_wavelit.evaluation.evaluate_rollout`` (autoregressive rollout of the
   test trajectories, VRMSE per rollout window, in physical units).
4. **Saving.** ``model.save("....keras")``, ``keras.saving.load_model`` and a
   check that the reloaded model predicts exactly what the original did.
5. **Rollout.** ``model.rollout`` from the first window of a test trajectory.

Runs in a few minutes on a CPU with every Keras backend::

    KERAS_BACKEND=jax python examples/train_wavelit.py
    KERAS_BACKEND=tensorflow python examples/train_wavelit.py
    KERAS_BACKEND=torch python examples/train_wavelit.py --out wavelit_run

Useful flags: ``--epochs`` and ``--steps-per-epoch`` (training length of each
of the two phases), ``--out`` (output directory; default: a temporary one),
``--resolution``, ``--dim``/``--depth``/``--heads`` (model size),
``--threads`` (cap the backend's intra-op threads). Needs the
``well`` extra (``the_well``, for ``WellSequence``); the acoustics simulator
itself is NumPy only.
"""

import argparse
import json
import os
import sys
import tempfile
import time

DATASET = "acoustic_scattering_2d"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=None, help="output directory (default: a temporary directory)")
    p.add_argument(
        "--epochs", type=int, default=2, help="epochs of each training phase (default 2)"
    )
    p.add_argument(
        "--steps-per-epoch", type=int, default=30, help="optimizer steps per epoch (default 30)"
    )
    p.add_argument("--batch-size", type=int, default=4, help="batch size (paper: 4)")
    p.add_argument("--resolution", type=int, default=32, help="grid points per side (default 32)")
    p.add_argument(
        "--trajectories", type=int, default=16, help="simulated trajectories, all splits"
    )
    p.add_argument("--time-steps", type=int, default=32, help="snapshots per trajectory")
    p.add_argument("--input-steps", type=int, default=4, help="input window T_in (default 4)")
    p.add_argument("--dim", type=int, default=32, help="token dimension (default 32)")
    p.add_argument("--depth", type=int, default=2, help="mixer blocks (default 2)")
    p.add_argument("--heads", type=int, default=2, help="attention heads (default 2)")
    p.add_argument("--warmup-steps", type=int, default=20, help="learning-rate warm-up steps")
    p.add_argument("--learning-rate", type=float, default=2e-3, help="peak learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="cap the backend's intra-op threads (0: library default). On a small "
        "machine shared with other jobs, 1 can be several times faster",
    )
    return p.parse_args(argv)


def limit_threads(threads):
    """Caps intra-op threads; must run before the backend is imported."""
    if not threads:
        return
    os.environ["OMP_NUM_THREADS"] = str(threads)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == "jax" and threads == 1:  # XLA's CPU thread pool: on or off
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    elif backend == "torch":
        import torch

        torch.set_num_threads(threads)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def stack_batches(sequence):
    """All batches of a WellSequence as one ``(x, y)`` pair of NumPy arrays."""
    import numpy as np

    xs, ys = zip(*(sequence[i] for i in range(len(sequence))))
    if isinstance(xs[0], dict):
        x = {k: np.concatenate([b[k] for b in xs]) for k in xs[0]}
    else:
        x = np.concatenate(xs)
    return x, np.concatenate(ys)


def main(argv=None):
    args = parse_args(argv)
    limit_threads(args.threads)
    import keras
    import numpy as np

    # Run from a source checkout without installing the package.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from keras_wavelit.data import WellSequence
    from keras_wavelit.data import simulate
    from keras_wavelit.evaluation import evaluate_rollout
    from keras_wavelit.models import WaveLiT

    keras.utils.set_random_seed(args.seed)
    out = args.out or tempfile.mkdtemp(prefix="wavelit_example_")
    os.makedirs(out, exist_ok=True)
    backend = keras.backend.backend()
    t_start = time.perf_counter()
    print(f"Keras {keras.__version__}, backend {backend}; writing to {out}")

    # ------------------------------------------------------------------ data
    info = simulate(
        DATASET,
        os.path.join(out, "data"),
        resolution=args.resolution,
        n_trajectories=args.trajectories,
        n_steps=args.time_steps,
        seed=args.seed,
        overwrite=True,
        verbose=0,
    )
    print(
        f"Simulated {DATASET}: {info.n_trajectories} trajectories x {info.n_steps} steps at "
        f"{info.resolution}x{info.resolution} in {info.seconds:.1f} s"
    )
    common = dict(n_steps_input=args.input_steps, batch_size=args.batch_size)
    train_seq = WellSequence(info.well_base_path, DATASET, "train", seed=args.seed, **common)
    valid_seq = WellSequence(info.well_base_path, DATASET, "valid", **common)
    test_traj = WellSequence(
        info.well_base_path,
        DATASET,
        "test",
        n_steps_input=args.input_steps,
        full_trajectory=True,
        batch_size=64,
    )
    print(train_seq)
    print(f"fields: {train_seq.channel_names}, constants: {train_seq.constant_channel_names}")

    # NumPy arrays of every training window (z-scored with
    # the dataset's stats.yaml by WellSequence).
    x_train, y_train = stack_batches(train_seq)
    print("arrays: x =", {k: v.shape for k, v in x_train.items()}, "y =", y_train.shape)

    # ----------------------------------------------------------------- model
    # Explicit small sizes; the presets are WaveLiT.from_preset("1.2M") and
    # "9.5M". The constructor compiles with the paper's recipe (Appendix E);
    # here the warm-up and the peak are set explicitly (by default the warm-up
    # is a tenth of the first fit's steps; the paper's 5,000 steps exceed this
    # whole run).
    model = WaveLiT(
        dim=args.dim,
        depth=args.depth,
        num_heads=args.heads,
        pyramid_levels=1,
        wavelet_levels=1,
        predict_residual=True,
    )
    model.compile(warmup_steps=args.warmup_steps, learning_rate=args.learning_rate)
    model.build(
        {
            "fields": (None,) + x_train["fields"].shape[1:],
            "constants": (None,) + x_train["constants"].shape[1:],
        }
    )
    print(
        f"WaveLiT(dim={args.dim}, depth={args.depth}, heads={args.heads}): "
        f"{model.count_params():,} parameters"
    )

    # Phase 1: NumPy arrays. `steps_per_epoch` is capped so that an epoch
    # never asks for more batches than the arrays hold.
    n_train = y_train.shape[0]
    steps = min(args.steps_per_epoch, n_train // args.batch_size)
    t0 = time.perf_counter()
    hist1 = model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        steps_per_epoch=steps,
        verbose=2,
    )
    t_fit1 = time.perf_counter() - t0

    # Phase 2: the same model, trained further on the PyDataset, with the
    # validation split (also a PyDataset) evaluated after every epoch.
    t0 = time.perf_counter()
    hist2 = model.fit(
        train_seq,
        epochs=args.epochs,
        steps_per_epoch=min(args.steps_per_epoch, len(train_seq)),
        validation_data=valid_seq,
        verbose=2,
    )
    t_fit2 = time.perf_counter() - t0
    losses = hist1.history["loss"] + hist2.history["loss"]
    print(f"training loss per epoch: {[round(v, 4) for v in losses]}")
    if not np.all(np.isfinite(losses)):
        raise RuntimeError("training diverged (non-finite loss)")

    # ------------------------------------------------------------ evaluation
    # One-step metrics, normalized units (VRMSE is unit-invariant anyway).
    one_step = model.evaluate(valid_seq, return_dict=True, verbose=0)
    print(f"validation, one step: {one_step}")

    # Autoregressive rollout of the test trajectories, physical units.
    x_test, y_test = stack_batches(test_traj)
    trajectories = np.concatenate([x_test["fields"], y_test], axis=1)
    n_roll = y_test.shape[1]
    result = evaluate_rollout(
        model,
        trajectories,
        n_steps_input=args.input_steps,
        constants=x_test["constants"],
        denormalize=test_traj.denormalize,
        field_names=test_traj.channel_names,
        return_predictions=True,
    )
    print(f"rollout of {result.n_trajectories} test trajectories, {n_roll} steps (VRMSE):")
    print(result.summary_table())

    # ---------------------------------------------------------- save / load
    path = os.path.join(out, "wavelit_acoustics.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    # The first windows of the test trajectories: the batch shape that
    # evaluate_rollout already compiled, so nothing new is compiled here.
    probe = {"fields": x_test["fields"], "constants": x_test["constants"]}
    p_orig = np.asarray(keras.ops.convert_to_numpy(model.predict(probe, verbose=0)))
    p_back = np.asarray(keras.ops.convert_to_numpy(reloaded.predict(probe, verbose=0)))
    max_diff = float(np.max(np.abs(p_orig - p_back)))
    print(
        f"saved {path} ({os.path.getsize(path) / 2**20:.2f} MiB); "
        f"reloaded predictions differ by at most {max_diff:.3g}"
    )
    np.testing.assert_allclose(p_back, p_orig, rtol=1e-6, atol=1e-6)
    assert reloaded.get_config() == model.get_config()

    # ---------------------------------------------------------------- rollout
    traj = reloaded.rollout(probe, steps=n_roll)  # (N, n_roll, H, W, 3), normalized
    traj_phys = test_traj.denormalize(traj)
    # The reloaded model rolls out what the original did in evaluate_rollout.
    roll_diff = float(np.max(np.abs(traj_phys - result.predictions)))
    scale = float(np.max(np.abs(result.predictions)))
    print(
        f"reloaded rollout vs original rollout: max abs difference {roll_diff:.3g} "
        f"(field scale {scale:.3g})"
    )
    truth_phys = test_traj.denormalize(y_test)
    err = np.linalg.norm((traj_phys - truth_phys)[0].reshape(n_roll, -1), axis=1)
    rel = err / np.linalg.norm(truth_phys[0].reshape(n_roll, -1), axis=1)
    print(
        f"reloaded.rollout(x0, steps={n_roll}) -> {traj.shape}; trajectory 0, relative L2 "
        f"error at steps "
        f"1, {n_roll // 2}, {n_roll}: {rel[0]:.3f}, {rel[n_roll // 2 - 1]:.3f}, {rel[-1]:.3f}"
    )

    try:  # figure of the rollout, when matplotlib is installed
        from keras_wavelit.evaluation.plots import plot_rollout_frames

        fig = plot_rollout_frames(
            truth_phys[0],
            traj_phys[0],
            [1, n_roll // 2, n_roll],
            test_traj.channel_names,
            os.path.join(out, "rollout.png"),
        )
        print(f"figure: {fig}")
    except ImportError:
        pass

    summary = {
        "backend": backend,
        "threads": args.threads or "library default",
        "parameters": int(model.count_params()),
        "train_loss": [float(v) for v in losses],
        "fit_seconds": {"arrays": round(t_fit1, 1), "pydataset": round(t_fit2, 1)},
        "valid_one_step": {k: float(v) for k, v in one_step.items()},
        "rollout": result.to_dict(),
        "reload_max_abs_diff": max_diff,
        "total_seconds": round(time.perf_counter() - t_start, 1),
    }
    with open(os.path.join(out, f"summary_{backend}.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(
        f"done in {summary['total_seconds']} s "
        f"(fit on arrays {t_fit1:.1f} s, fit on PyDataset {t_fit2:.1f} s)"
    )
    return summary


if __name__ == "__main__":
    main()
