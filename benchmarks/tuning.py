"""Does a budgeted hyperparameter search beat the 1.2M preset at equal training steps?

A KerasTuner search (`keras_wavelit.tuning`, Bayesian optimisation by
default) over the WaveLiT architecture and recipe on one embedded dataset at
64x64, never training a model over 1.2M parameters; every trial trains
`epochs x steps` batches and is scored by the one-step validation VRMSE.
The best configuration is then trained again from scratch for the same
number of steps, next to `WaveLiT(size="1.2M")` with the paper's recipe
(peak learning rate 1e-3, weight decay 1e-4, `WaveletLoss(1, 1)`, the same
warm-up), and both are scored on the validation and test splits (one-step
VRMSE, The Well's definition, averaged over samples by the Keras metric).

    python benchmarks/tuning.py                 # 12 trials at 64x64 (hours on 2 CPU cores)
    python benchmarks/tuning.py --quick         # smoke run: 2 trials of a few steps at 32x32
    python benchmarks/tuning.py --trials 6 --steps 40 --epochs 1   # a reduced run

Writes `benchmarks/results/tuning.json` and `tuning.md` (`--stem` changes
the name) with the machine, its load and every trial. The search itself
costs `trials` times the preset's training; the comparison is at equal
steps for the final model, not at equal total compute.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("KERAS_BACKEND", "jax")

from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402
from records import write_record  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="acoustic_scattering_2d", help="embedded dataset")
    p.add_argument("--resolution", type=int, default=64, help="grid side (default 64)")
    p.add_argument("--trajectories", type=int, default=16, help="simulated trajectories")
    p.add_argument("--snapshots", type=int, default=40, help="snapshots per trajectory")
    p.add_argument("--trials", type=int, default=12, help="search trials (default 12)")
    p.add_argument("--tuner", default="bayesian", choices=["random", "bayesian", "hyperband"])
    p.add_argument("--max-params", type=float, default=1.2e6, help="parameter budget")
    p.add_argument("--epochs", type=int, default=2, help="epochs per trial and final run")
    p.add_argument("--steps", type=int, default=100, help="batches per epoch")
    p.add_argument("--validation-steps", type=int, default=20, help="validation batches")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--n-steps-input", type=int, default=4)
    p.add_argument("--warmup-steps", type=int, default=None, help="default: a tenth of the steps")
    p.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="narrow the search space (as `wavelit tune --space`)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default=None, help="data and search directory (default: a tmp dir)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    p.add_argument("--stem", default="tuning", help="result file name (default: tuning)")
    p.add_argument("--note", default="", help="a sentence stored with the result")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 32x32, 6 trajectories, 2 trials of 1 x 3 steps",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.resolution, args.trajectories, args.snapshots = 32, 6, 12
        args.trials, args.epochs, args.steps, args.validation_steps = 2, 1, 3, 2
        args.space = args.space or ["dim=16,32", "depth=1:2"]
        args.max_params = min(args.max_params, 60000)
    return args


def _fit(model, train, valid, args):
    start = time.perf_counter()
    history = model.fit(
        train,
        validation_data=valid,
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        validation_steps=args.validation_steps,
        verbose=0,
    )
    return time.perf_counter() - start, history.history


def _test_vrmse(model, seq):
    return float(model.evaluate(seq, verbose=0, return_dict=True)["vrmse"])


def main(argv=None):
    args = parse_args(argv)
    import tempfile

    import keras

    from keras_wavelit.data import WellSequence
    from keras_wavelit.data import boundary_mode
    from keras_wavelit.data import simulate
    from keras_wavelit.machine import load_average
    from keras_wavelit.models import PRESETS
    from keras_wavelit.tuning import WaveLiTHyperModel
    from keras_wavelit.tuning import best_config
    from keras_wavelit.tuning import make_tuner
    from keras_wavelit.tuning import parse_space_item
    from keras_wavelit.tuning import trial_records

    work = args.work or tempfile.mkdtemp(prefix="wavelit_tuning_")
    info = machine_info()
    info["load_average"] = load_average()
    t_total = time.perf_counter()

    data = os.path.join(work, "data")
    ds_dir = os.path.join(data, "datasets", args.dataset)
    if not os.path.isdir(ds_dir):
        simulate(
            args.dataset,
            data,
            resolution=args.resolution,
            n_trajectories=args.trajectories,
            n_steps=args.snapshots,
            seed=args.seed,
            verbose=0,
        )
    boundary = boundary_mode(ds_dir)

    def sequence(split, shuffle):
        return WellSequence(
            data,
            args.dataset,
            split,
            n_steps_input=args.n_steps_input,
            batch_size=args.batch_size,
            shuffle=shuffle,
            seed=args.seed,
        )

    train, valid, test = sequence("train", True), sequence("valid", False), sequence("test", False)
    x, _ = train[0]
    fields = x["fields"] if isinstance(x, dict) else x
    constants = x["constants"].shape[-1] if isinstance(x, dict) else 0
    total_steps = args.epochs * args.steps
    warmup = args.warmup_steps or max(1, total_steps // 10)

    # -- the search -----------------------------------------------------------
    hypermodel = WaveLiTHyperModel(
        fields.shape[1:],
        constants_channels=constants,
        space=dict(parse_space_item(s) for s in args.space),
        max_params=int(args.max_params),
        boundary=boundary,
        warmup_steps=warmup,
        seed=args.seed,
    )
    tuner = make_tuner(
        hypermodel,
        args.tuner,
        max_trials=args.trials,
        max_epochs=args.epochs,
        directory=os.path.join(work, "search"),
        project_name="tuning",
        seed=args.seed,
        progress=lambda line: print(line, flush=True),
    )
    start = time.perf_counter()
    tuner.search(
        train,
        validation_data=valid,
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        validation_steps=args.validation_steps,
        verbose=0,
    )
    search_seconds = time.perf_counter() - start
    best = best_config(tuner)
    records = trial_records(tuner)
    keras.backend.clear_session()

    # -- equal-step comparison -------------------------------------------------
    rows = []
    # The preset through the same compile path, with the library's recipe defaults.
    preset = {
        "model": dict(PRESETS["1.2M"], boundary=boundary),
        "optimizer": {"learning_rate": 1e-3, "weight_decay": 1e-4, "warmup_steps": warmup},
        "loss": {"alpha": 1.0, "beta": 1.0},
    }
    for label, config in (("search best", best), ("preset 1.2M", preset)):
        keras.utils.set_random_seed(args.seed)
        model = hypermodel.build_model(config)
        settings = config["model"]
        seconds, history = _fit(model, train, valid, args)
        row = {
            "model": label,
            "params": int(model.count_params()),
            "config": settings,
            "optimizer": config["optimizer"],
            "loss": config["loss"],
            "train_seconds": round(seconds, 1),
            "val_vrmse": _test_vrmse(model, valid),
            "test_vrmse": _test_vrmse(model, test),
            "final_train_loss": float(history["loss"][-1]),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        del model
        keras.backend.clear_session()

    info["load_average_end"] = load_average()
    result = {
        "benchmark": "tuning",
        "question": "Does a search within 1.2M parameters beat the 1.2M preset at equal steps?",
        "machine": info,
        "note": args.note,
        "settings": {
            k: v for k, v in vars(args).items() if k not in ("out", "work", "stem", "note")
        },
        "warmup_steps": warmup,
        "training_steps_per_model": total_steps,
        "search_seconds": round(search_seconds, 1),
        "total_seconds": round(time.perf_counter() - t_total, 1),
        "best": best,
        "trials": records,
        "comparison": rows,
    }
    result = json.loads(json.dumps(result, default=float))
    write_record(args.out, args.stem, result, _markdown(result))
    return 0


def _markdown(result):
    s = result["settings"]
    info = result["machine"]
    load_end = info.get("load_average_end")
    lines = [
        "# Budgeted search vs the 1.2M preset",
        "",
        f"{result['question']} `{s['dataset']}` at {s['resolution']}x{s['resolution']} "
        f"({s['trajectories']} trajectories of {s['snapshots']} snapshots), "
        f"{s['tuner']} search of {len(result['trials'])} trials under {int(s['max_params']):,} "
        f"parameters, every trial and both final models trained for "
        f"{result['training_steps_per_model']} steps of batch {s['batch_size']} "
        f"(warm-up {result['warmup_steps']} steps), one-step VRMSE (Keras metric mean).",
        "",
        "| model | params | val VRMSE | test VRMSE | train s |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["comparison"]:
        lines.append(
            f"| {row['model']} | {row['params']:,} | {row['val_vrmse']:.4f} | "
            f"{row['test_vrmse']:.4f} | {row['train_seconds']:.0f} |"
        )
    lines += [
        "",
        f"Best configuration: `{json.dumps(result['best']['model'])}`, optimizer "
        f"`{json.dumps(result['best']['optimizer'])}`, loss `{json.dumps(result['best']['loss'])}` "
        f"(search score {result['best']['score']:.4f}).",
        "",
        "| trial | status | val VRMSE | params | dim | depth | heads | pyramid | wavelet | lr |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in result["trials"]:
        m = r.get("model", {})
        score = "—" if r.get("score") is None else f"{r['score']:.4f}"
        lr = r.get("optimizer", {}).get("learning_rate")
        lines.append(
            f"| {r['trial_id']} | {r['status']} | {score} | {r.get('params', 0):,} | "
            f"{m.get('dim', '')} | {m.get('depth', '')} | {m.get('num_heads', '')} | "
            f"{m.get('pyramid_levels', '')} | {m.get('wavelet', '')} | "
            f"{'' if lr is None else f'{lr:.2g}'} |"
        )
    lines += [
        "",
        f"Search {result['search_seconds']:.0f} s, whole run {result['total_seconds']:.0f} s. "
        + machine_line(info)
        + (
            f" Load average at the end {load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f}."
            if load_end
            else ""
        ),
    ]
    if result["note"]:
        lines += ["", result["note"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
