"""WaveLiT-FM on the three embedded datasets (the paper's section 4.2 and Table 10 at this scale).

At a matched total number of optimizer steps:

(a) one foundation model (`WaveLiTFM`, sqrt sampling) against three bespoke
    models with the same trunk, each trained on one dataset for a third of
    the steps (a bespoke model is `WaveLiTFM(datasets=[name])`: the same
    lifting, trunk and head, one dataset);
(b) the foundation model with uniform, temperature (T = 0.2), sqrt and
    adaptive sampling (the paper's Table 10; adaptive is the rule of
    `keras_wavelit.data.adaptive_probabilities`, driven by per-dataset
    validation losses after every epoch).

Scores per dataset on the test split: one-step VRMSE (mean over all test
windows) and rollout VRMSE over The Well's [6:12] window (median over test
trajectories). VRMSE is invariant to the per-channel normalization, so the
scores are those of physical units. The datasets are simulated with
different trajectory counts so that their token counts, and therefore the
samplers, differ.

    python benchmarks/foundation.py --seeds 0,1,2   # the full setting, three training seeds
    python benchmarks/foundation.py --quick    # a smoke run (minutes)

Writes benchmarks/results/foundation.{md,json} (with the machine and its load).
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402
from records import write_record  # noqa: E402

DATASETS = ("acoustic_scattering_2d", "gray_scott_2d", "kolmogorov_2d")

SETTINGS = {
    "full": dict(
        resolution=32,
        trajectories={"acoustic_scattering_2d": 24, "gray_scott_2d": 12, "kolmogorov_2d": 6},
        n_steps=40,
        dim=32,
        depth=2,
        num_heads=2,
        n_steps_input=2,
        batch_size=4,
        total_steps=600,
        epochs=6,
        rollout_steps=12,
    ),
    "quick": dict(
        resolution=16,
        trajectories={"acoustic_scattering_2d": 12, "gray_scott_2d": 6, "kolmogorov_2d": 4},
        n_steps=16,
        dim=16,
        depth=1,
        num_heads=2,
        n_steps_input=2,
        batch_size=2,
        total_steps=60,
        epochs=3,
        rollout_steps=12,
    ),
}

METHODS = ("uniform", "temperature", "sqrt", "adaptive")


def _vrmse(pred, true, eps=1e-7):
    """The Well's VRMSE per sample and step, averaged over fields: `(..., H, W, C)` -> `(...)`."""
    err = np.mean((pred - true) ** 2, axis=(-3, -2))
    var = np.var(true, axis=(-3, -2), ddof=1)
    return np.mean(np.sqrt(err / (var + eps)), axis=-1)


def simulate_all(base, setting, seed):
    from keras_wavelit.data import simulate

    extra = {
        "gray_scott_2d": dict(dt_output=20.0, domain_length=0.5),
        "kolmogorov_2d": dict(burn_in_time=2.0),
        "acoustic_scattering_2d": {},
    }
    for name in DATASETS:
        simulate(
            name,
            base,
            resolution=setting["resolution"],
            n_trajectories=setting["trajectories"][name],
            n_steps=setting["n_steps"],
            seed=seed,
            verbose=0,
            **extra[name],
        )


def sequences(base, setting, split):
    from keras_wavelit.data import WellSequence

    return {
        n: WellSequence(
            base,
            n,
            split,
            n_steps_input=setting["n_steps_input"],
            batch_size=setting["batch_size"],
            shuffle=split == "train",
        )
        for n in DATASETS
    }


def make_model(names, setting):
    from keras_wavelit.models import WaveLiTFM

    model = WaveLiTFM(
        datasets=list(names),
        dim=setting["dim"],
        depth=setting["depth"],
        num_heads=setting["num_heads"],
        n_steps_input=setting["n_steps_input"],
        auto_compile=False,
    )
    model.compile(warmup_steps=max(setting["total_steps"] // 10, 1))
    return model


def train(names, method, setting, base, seed, steps):
    import keras

    from keras_wavelit.data import DatasetSamplingCallback
    from keras_wavelit.data import MultiDatasetSequence

    keras.utils.set_random_seed(seed)
    seqs = {n: s for n, s in sequences(base, setting, "train").items() if n in names}
    valid = {n: s for n, s in sequences(base, setting, "valid").items() if n in names}
    epochs = setting["epochs"]
    data = MultiDatasetSequence(
        seqs,
        method=method,
        steps_per_epoch=max(steps // epochs, 1),
        seed=seed,
        datasets=list(names),
    )
    model = make_model(names, setting)
    callback = DatasetSamplingCallback(data, valid if method == "adaptive" else None)
    start = time.perf_counter()
    history = model.fit(data, epochs=epochs, verbose=0, callbacks=[callback])
    seconds = time.perf_counter() - start
    return model, {
        "seconds": round(seconds, 1),
        "final_loss": float(history.history["loss"][-1]),
        "probabilities": data.history,
    }


def evaluate(model, name, setting, base):
    from keras_wavelit.data import WellSequence

    t_in = setting["n_steps_input"]
    one = WellSequence(base, name, "test", n_steps_input=t_in, batch_size=8, shuffle=False)
    scores = []
    for i in range(len(one)):
        x, y = one[i]
        pred = model.predict_dataset(x, name)
        scores.append(_vrmse(pred[:, 0], y[:, 0]))
    one_step = float(np.mean(np.concatenate(scores)))
    traj = WellSequence(
        base,
        name,
        "test",
        n_steps_input=t_in,
        batch_size=4,
        full_trajectory=True,
        max_rollout_steps=setting["rollout_steps"],
        shuffle=False,
    )
    window = []
    for i in range(len(traj)):
        x, y = traj[i]
        steps = min(setting["rollout_steps"], y.shape[1])
        pred = model.rollout(x, steps, name)
        v = _vrmse(pred, y[:, :steps])  # (B, steps)
        window.append(np.mean(v[:, 6:12], axis=1) if steps >= 12 else np.full(len(v), np.nan))
    return {"one_step": one_step, "vrmse_6_12": float(np.median(np.concatenate(window)))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (minutes)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated data")
    parser.add_argument(
        "--seeds",
        default="0",
        help="comma-separated training seeds; the table shows the mean over them (default 0)",
    )
    parser.add_argument("--data", help="reuse simulated data in this directory")
    parser.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "results"), help="results folder"
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    setting = SETTINGS[mode]
    info = machine_info()
    base = args.data or tempfile.mkdtemp(prefix="wavelit_fm_")
    if not os.path.isdir(os.path.join(base, "datasets", DATASETS[-1])):
        simulate_all(base, setting, args.seed)

    steps = setting["total_steps"]
    seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    by_seed = {}
    for seed in seeds:
        runs = {}
        # (a) one FM against three bespoke models at the same total step budget
        bespoke = {}
        for name in DATASETS:
            model, log = train([name], "uniform", setting, base, seed, steps // len(DATASETS))
            bespoke[name] = {**evaluate(model, name, setting, base), **log}
            print(f"seed {seed} bespoke {name}: {bespoke[name]['one_step']:.4f}", flush=True)
        runs["bespoke"] = bespoke
        # (b) the samplers
        for method in METHODS:
            model, log = train(DATASETS, method, setting, base, seed, steps)
            scores = {n: evaluate(model, n, setting, base) for n in DATASETS}
            runs[f"fm_{method}"] = {"scores": scores, **log}
            print(f"seed {seed} fm {method}: {log['seconds']} s", flush=True)
        by_seed[str(seed)] = runs

    result = {
        "mode": mode,
        "setting": setting,
        "seed": args.seed,
        "seeds": seeds,
        "machine": info,
        "load_after": machine_info(keras_backend=False)["load_average"],
        "runs": by_seed,
    }
    write_record(args.out, "foundation", result, markdown(result))


def _rows(runs):
    """`{label: (scores by dataset, train seconds)}` of one seed's runs."""
    bespoke = runs["bespoke"]
    rows = {"3 bespoke (1/3 steps each)": (bespoke, sum(bespoke[n]["seconds"] for n in DATASETS))}
    for method in METHODS:
        run = runs[f"fm_{method}"]
        rows[f"FM, {method} sampling"] = (run["scores"], run["seconds"])
    return rows


def markdown(result):
    setting = result["setting"]
    seeds = result.get("seeds", [result["seed"]])
    per_seed = [_rows(result["runs"][str(s)]) for s in seeds]
    lines = [
        "# WaveLiT-FM on the three embedded datasets",
        "",
        f"Setting `{result['mode']}`: resolution {setting['resolution']}, trajectories "
        f"{setting['trajectories']}, trunk dim {setting['dim']} depth {setting['depth']}, "
        f"{setting['total_steps']} optimizer steps in total for every row (a bespoke model "
        f"gets a third of them), batch {setting['batch_size']}, data seed {result['seed']}, "
        f"training seeds {seeds} (every cell is the mean over them). "
        "VRMSE: one-step (mean over test windows) / rollout [6:12] (median over test "
        "trajectories). Lower is better.",
        "",
        "| model | " + " | ".join(DATASETS) + " | mean one-step | per seed | train s |",
        "|---|" + "---|" * (len(DATASETS) + 3),
    ]
    for label in per_seed[0]:
        cells = []
        for n in DATASETS:
            one = np.mean([rows[label][0][n]["one_step"] for rows in per_seed])
            win = np.mean([rows[label][0][n]["vrmse_6_12"] for rows in per_seed])
            cells.append(f"{one:.3f} / {win:.3f}")
        means = [np.mean([rows[label][0][n]["one_step"] for n in DATASETS]) for rows in per_seed]
        seconds = np.mean([rows[label][1] for rows in per_seed])
        spread = ", ".join(f"{m:.3f}" for m in means)
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {np.mean(means):.3f} | {spread} "
            f"| {seconds:.1f} |"
        )
    runs = result["runs"][str(seeds[0])]
    lines += ["", f"Sampling probabilities of seed {seeds[0]} (first epoch -> last epoch):", ""]
    for method in METHODS:
        hist = runs[f"fm_{method}"]["probabilities"]
        first = ", ".join(f"{n} {hist[0][n]:.3f}" for n in DATASETS)
        last = ", ".join(f"{n} {hist[-1][n]:.3f}" for n in DATASETS)
        lines.append(f"- {method}: {first} -> {last}")
    load = result["machine"].get("load_average")
    lines += [
        "",
        machine_line(result["machine"]),
        f"Load average after the run: {result['load_after']}. The machine was shared with "
        "other jobs: wall times are not idle numbers"
        + (" (the load was high)." if load and load[0] > 2 else "."),
        "",
    ]
    if result["mode"] == "quick":
        lines.append(
            "A `--quick` smoke run: a few dozen steps of a tiny model, so differences between "
            "rows are within noise; run without `--quick` for the comparison."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
