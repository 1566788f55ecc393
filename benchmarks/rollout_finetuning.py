"""Rollout finetuning methods side by side (the paper's Tables 11 and 12).

Trains one baseline WaveLiT on an embedded dataset, finetunes a copy of it
with each method for the same number of optimizer steps, and evaluates every
model on the test split: rollout VRMSE over the paper's short [2:8], medium
[9:26] and long [27:56] windows, and one-step MSE, relative L2 and VRMSE
(medians over test trajectories, physical units).

    python benchmarks/rollout_finetuning.py                 # about 40 minutes on 2 CPU cores
    python benchmarks/rollout_finetuning.py --quick         # a few minutes, for a smoke run

Writes benchmarks/results/rollout_finetuning.{md,json} (with the machine).
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402

#: (label, method, unroll, causal eps) as in the paper's Tables 11 and 12.
METHODS = [
    ("Sched. Sampling (k=4)", "scheduled_sampling", 4, None),
    ("BPTT (k=2)", "bptt", 2, None),
    ("BPTT (k=4)", "bptt", 4, None),
    ("CausalBPTT (k=4, eps=0.1)", "causal_bptt", 4, 0.1),
    ("CausalBPTT (k=4, eps=1)", "causal_bptt", 4, 1.0),
    ("Pushforward (k=2)", "pushforward", 2, None),
    ("Pushforward (k=4)", "pushforward", 4, None),
]

SETTINGS = {
    "full": dict(
        resolution=32,
        trajectories=32,
        steps=80,
        dim=32,
        depth=2,
        epochs=8,
        steps_per_epoch=100,
        ft_epochs=1,
        ft_steps_per_epoch=80,
        max_trajectories=4,
    ),
    "quick": dict(
        resolution=32,
        trajectories=8,
        steps=64,
        dim=16,
        depth=1,
        epochs=2,
        steps_per_epoch=10,
        ft_epochs=1,
        ft_steps_per_epoch=3,
        max_trajectories=1,
    ),
}


def scores(result):
    row = {}
    for name in ("2:8", "9:26", "27:56"):
        try:
            row[name] = result.score(name, "vrmse", "median")
        except KeyError:
            row[name] = None
    row["mse"] = result.score("1:1", "mse", "median")
    row["relative_l2"] = result.score("1:1", "relative_l2", "median")
    row["vrmse_1"] = result.score("1:1", "vrmse", "median")
    row["diverged"] = len(result.divergences)
    return row


def fmt(v, digits=4):
    return "—" if v is None else f"{v:.{digits}f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="acoustic_scattering_2d")
    parser.add_argument(
        "--work", default=os.path.join("benchmarks", "results", "raw", "rollout_finetuning")
    )
    parser.add_argument("--out", default=os.path.join("benchmarks", "results"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from keras_wavelit.data.simulate import dataset_dir
    from keras_wavelit.data.simulate import simulate
    from keras_wavelit.evaluation.runs import evaluate_run
    from keras_wavelit.training.runs import finetune_run
    from keras_wavelit.training.runs import train_run

    cfg = SETTINGS["quick" if args.quick else "full"]
    data = os.path.join(args.work, "data")
    t0 = time.time()
    if not os.path.exists(os.path.join(dataset_dir(data, args.dataset), "stats.yaml")):
        simulate(
            args.dataset,
            data,
            resolution=cfg["resolution"],
            n_trajectories=cfg["trajectories"],
            n_steps=cfg["steps"],
            seed=args.seed,
            overwrite=True,
        )
    model_kwargs = dict(
        dim=cfg["dim"], depth=cfg["depth"], num_heads=4, fpn_levels=1, predict_residual=True
    )
    base_dir = os.path.join(args.work, "baseline")
    timings = {}
    t = time.time()
    if not os.path.exists(os.path.join(base_dir, "model.keras")):
        train_run(
            data,
            args.dataset,
            base_dir,
            model_kwargs=model_kwargs,
            epochs=cfg["epochs"],
            steps_per_epoch=cfg["steps_per_epoch"],
            validation_steps=5,
            learning_rate=1e-3,
            warmup_steps=100,
            seed=args.seed,
            verbose=2,
        )
    timings["baseline training"] = time.time() - t
    metrics = ("vrmse", "mse", "relative_l2")
    rows = {}
    t = time.time()
    res = evaluate_run(
        os.path.join(base_dir, "model.keras"),
        data,
        args.dataset,
        os.path.join(args.work, "eval_baseline"),
        max_trajectories=cfg["max_trajectories"],
        metrics=metrics,
        verbose=0,
    )
    rows["Baseline"] = scores(res)
    for label, method, unroll, eps in METHODS:
        t = time.time()
        run = os.path.join(
            args.work, f"{method}_k{unroll}" + (f"_eps{eps}" if eps is not None else "")
        )
        if not os.path.exists(os.path.join(run, "model.keras")):
            finetune_run(
                os.path.join(base_dir, "model.keras"),
                data,
                args.dataset,
                run,
                method=method,
                unroll=unroll,
                epochs=cfg["ft_epochs"],
                steps_per_epoch=cfg["ft_steps_per_epoch"],
                validation_steps=2,
                learning_rate=2e-4,
                causal_eps=eps if eps is not None else 1.0,
                seed=args.seed,
                verbose=2,
            )
        res = evaluate_run(
            os.path.join(run, "model.keras"),
            data,
            args.dataset,
            run + "_eval",
            max_trajectories=cfg["max_trajectories"],
            metrics=metrics,
            verbose=0,
        )
        rows[label] = scores(res)
        timings[label] = time.time() - t
        print(label, rows[label], flush=True)

    info = machine_info()
    result = {
        "machine": info,
        "settings": cfg,
        "dataset": args.dataset,
        "rows": rows,
        "seconds": timings,
        "total_seconds": time.time() - t0,
    }
    os.makedirs(args.out, exist_ok=True)
    stem = "rollout_finetuning_quick" if args.quick else "rollout_finetuning"
    with open(os.path.join(args.out, stem + ".json"), "w") as f:
        json.dump(result, f, indent=2)
    lines = [
        f"# Rollout finetuning on `{args.dataset}`",
        "",
        machine_line(info) + f" Settings: {json.dumps(cfg)}.",
        "",
        "Rollout VRMSE (median over test trajectories, physical units; the paper's Table 11) "
        "and one-step metrics (Table 12):",
        "",
        "| method | short [2:8] | medium [9:26] | long [27:56] | one-step MSE "
        "| one-step rel. L2 | one-step VRMSE | diverged |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows.items():
        lines.append(
            f"| {label} | {fmt(r['2:8'])} | {fmt(r['9:26'])} | {fmt(r['27:56'])} | "
            f"{fmt(r['mse'], 5)} | {fmt(r['relative_l2'])} | {fmt(r['vrmse_1'])} "
            f"| {r['diverged']} |"
        )
    lines += [
        "",
        f"Total time: {result['total_seconds'] / 60:.1f} minutes.",
        "Rerun: `python benchmarks/rollout_finetuning.py"
        + (" --quick" if args.quick else "")
        + "`.",
    ]
    with open(os.path.join(args.out, stem + ".md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
