"""The paper's ablations at this machine's scale, each row one public-API call.

Rows (paper Appendices C, D and I):

- Table 13: convolutional vs wavelet tokenizer, then FPN levels 1-4, with
  the pyramid's default combination (the paper's Eq. 3, ``"output"``; table
  ``13``) and with the residual option (table ``13r``);
- Table 14: the mixer rows A1-A5, B1-B3 and C1 (``ridge``, ``kernel_gate``,
  ``lepe``, ``cpe``, ``mila`` switches of ``WaveLiT``);
- Table 2: ``wavelet="haar" | "bior2.2" | "bior4.4"``;
- Table 3: ``WaveletLoss(alpha, beta)`` weights (0, 1), (1, 1), (1, 0) with
  ``levels=1`` and ``levels=2``.

Every configuration trains the same reduced WaveLiT (``--dim``, ``--depth``;
the paper's rows are 1.2M/9.5M models trained for 200k steps) with the
paper's recipe for the same number of steps on the same batches of one
embedded dataset (default ``kolmogorov_2d``, the closest embedded system to
the paper's Navier-Stokes ablation data) with the data's own boundary mode
(``keras_wavelit.data.boundary_mode``: periodic for ``kolmogorov_2d``; the
wavelet loss uses the same mode), then is scored on the test split:
one-step VRMSE and relative L2, and the relative L2 of 4-step rollouts
(mean over the 4 steps), each averaged over test windows (every 4th start
time of every test trajectory), physical units. Rows that the paper's tables
share (the default model is C1, FPN-L1, bior2.2 and loss (1, 1)) are trained
once.

    KERAS_BACKEND=torch python benchmarks/ablations.py           # about 25 minutes on 2 cores
    KERAS_BACKEND=torch python benchmarks/ablations.py --quick   # smoke run, 2 minutes
    python benchmarks/ablations.py --tables 2,3                  # a subset
    python benchmarks/ablations.py --tables 13 --rows "Wavelet enc/dec,FPN-L1" \
        --set fpn_upsample=nearest --tag nearest                 # a hypothesis

``--set KEY=VALUE`` (repeatable, VALUE parsed as JSON when it can be) adds a
``WaveLiT`` argument to every row, ``--level-weights`` sets every pyramid's
initial level weights (e.g. ``1,0``), ``--resolution`` and ``--steps`` change
the data and the training length; ``--tag`` names the output files.

Writes ``benchmarks/results/ablations[_<tables>][_<tag>][_quick].{md,json}``
(the table numbers appear in the name when ``--tables`` selects a subset).
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

import numpy as np  # noqa: E402
from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402
from records import write_record  # noqa: E402

DEFAULT = {}  # C1, FPN-L1, bior2.2, loss (1, 1)

#: (table, row label, WaveLiT keyword arguments, (alpha, beta) or None, paper value, paper metric)
ROWS = [
    ("13", "Conv enc/dec (baseline)", dict(tokenizer="conv", fpn_levels=0), None, 0.01172, "VRMSE"),
    ("13", "Wavelet enc/dec", dict(fpn_levels=0), None, 0.01155, "VRMSE"),
    ("13", "+ Multiscale (FPN-L1)", DEFAULT, None, 0.00968, "VRMSE"),
    ("13", "+ Multiscale (FPN-L2)", dict(fpn_levels=2), None, 0.00928, "VRMSE"),
    ("13", "+ Multiscale (FPN-L3)", dict(fpn_levels=3), None, 0.00899, "VRMSE"),
    ("13", "+ Multiscale (FPN-L4)", dict(fpn_levels=4), None, 0.00897, "VRMSE"),
    (
        "13r",
        "Conv enc/dec (baseline)",
        dict(tokenizer="conv", fpn_levels=0),
        None,
        0.01172,
        "VRMSE",
    ),
    ("13r", "Wavelet enc/dec", dict(fpn_levels=0), None, 0.01155, "VRMSE"),
    ("13r", "+ Multiscale (FPN-L1)", dict(fpn_levels=1), None, 0.00968, "VRMSE"),
    ("13r", "+ Multiscale (FPN-L2)", dict(fpn_levels=2), None, 0.00928, "VRMSE"),
    ("13r", "+ Multiscale (FPN-L3)", dict(fpn_levels=3), None, 0.00899, "VRMSE"),
    ("13r", "+ Multiscale (FPN-L4)", dict(fpn_levels=4), None, 0.00897, "VRMSE"),
    (
        "14",
        "A1: RoPE-LA",
        dict(ridge=False, kernel_gate=False, lepe=False, cpe=False, mila=False),
        None,
        0.21906,
        "rel. L2",
    ),
    (
        "14",
        "A2: + Ridge",
        dict(kernel_gate=False, lepe=False, cpe=False, mila=False),
        None,
        0.20256,
        "rel. L2",
    ),
    ("14", "A3: + Kernel Gate", dict(lepe=False, cpe=False, mila=False), None, 0.19236, "rel. L2"),
    ("14", "A4: + LePE", dict(cpe=False, mila=False), None, 0.11463, "rel. L2"),
    ("14", "A5: + CPE", dict(mila=False), None, 0.03055, "rel. L2"),
    (
        "14",
        "B1: MILA + LePE (no gate)",
        dict(ridge=False, kernel_gate=False, cpe=False),
        None,
        0.060258,
        "rel. L2",
    ),
    ("14", "B2: + Ridge (no gate)", dict(kernel_gate=False, cpe=False), None, 0.055471, "rel. L2"),
    ("14", "B3: + CPE (no gate)", dict(kernel_gate=False), None, 0.025324, "rel. L2"),
    ("14", "C1: Full model", DEFAULT, None, 0.024363, "rel. L2"),
    ("2", "haar", dict(wavelet="haar"), None, 0.010669, "rel. L2"),
    ("2", "bior2.2", DEFAULT, None, 0.010618, "rel. L2"),
    ("2", "bior4.4", dict(wavelet="bior4.4"), None, 0.010896, "rel. L2"),
    ("3", "levels 1, (0, 1)", dict(levels=1), (0.0, 1.0), 0.01177, "rel. L2"),
    ("3", "levels 1, (1, 1)", DEFAULT, None, 0.01167, "rel. L2"),
    ("3", "levels 1, (1, 0)", dict(levels=1), (1.0, 0.0), 0.01280, "rel. L2"),
    ("3", "levels 2, (0, 1)", dict(levels=2), (0.0, 1.0), 0.01407, "rel. L2"),
    ("3", "levels 2, (1, 1)", dict(levels=2), None, 0.01406, "rel. L2"),
    ("3", "levels 2, (1, 0)", dict(levels=2), (1.0, 0.0), 0.01515, "rel. L2"),
]

#: Pyramid combination of each table's rows (None: the library's default).
TABLE_COMBINE = {"13": "output", "13r": "residual"}

#: Which of our columns each table is compared on (the paper's metric).
TABLE_METRIC = {
    "13": "one_step_vrmse",
    "13r": "one_step_vrmse",
    "14": "one_step_relative_l2",
    "2": "one_step_relative_l2",
    "3": "one_step_relative_l2",
}
TABLE_TITLE = {
    "13": "Table 13: tokenizer and multiscale pyramid, Eq. 3 combination (paper: VRMSE, "
    "Navier-Stokes, 200k steps)",
    "13r": 'Table 13 with the residual pyramid combination (`fpn_combine="residual"`)',
    "14": "Table 14: mixer components (paper: test relative L2)",
    "2": "Table 2: wavelet (paper: 1-step relative L2, WaveLiT-1.2M)",
    "3": "Table 3: loss weights (alpha = MSE, beta = wavelet L1; paper: 1-step relative L2, "
    "WaveLiT-1.2M)",
}

SETTINGS = {
    "full": dict(
        resolution=32,
        trajectories=24,
        time_steps=48,
        dim=48,
        depth=4,
        num_heads=4,
        steps=400,
        batch_size=4,
        learning_rate=1e-3,
        warmup_steps=40,
        rollout=4,
        stride=4,
    ),
    "quick": dict(
        resolution=32,
        trajectories=8,
        time_steps=16,
        dim=16,
        depth=1,
        num_heads=2,
        steps=3,
        batch_size=4,
        learning_rate=1e-3,
        warmup_steps=1,
        rollout=4,
        stride=8,
    ),
}


def config_key(kwargs, loss):
    return json.dumps({"kwargs": kwargs, "loss": loss}, sort_keys=True)


#: The current argument names of ``WaveLiT`` for the names the rows use.
NEW_NAMES = {
    "fpn_levels": "pyramid_levels",
    "levels": "wavelet_levels",
    "mode": "boundary",
    "fpn_combine": "pyramid_combine",
    "fpn_upsample": "pyramid_upsample",
}


def model_kwargs(kwargs):
    """``kwargs`` with each argument under the name ``WaveLiT`` takes."""
    import inspect

    from keras_wavelit.models import WaveLiT

    accepted = inspect.signature(WaveLiT.__init__).parameters
    out = {}
    for key, value in kwargs.items():
        new = NEW_NAMES.get(key)
        out[new if new in accepted and key not in accepted else key] = value
    return out


def parse_value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def test_windows(data_dir, dataset, cfg):
    """Test windows of T_in + rollout frames, every `stride` start times."""
    from keras_wavelit.evaluation.runs import load_trajectories

    trajs, consts, seq = load_trajectories(data_dir, dataset, "test", 4)
    length = 4 + cfg["rollout"]
    xs, cs = [], []
    for n in range(trajs.shape[0]):
        for start in range(0, trajs.shape[1] - length + 1, cfg["stride"]):
            xs.append(trajs[n, start : start + length])
            if consts is not None:
                cs.append(consts[n])
    return np.stack(xs), (np.stack(cs) if cs else None), seq


def set_level_weights(model, batch, values):
    """Builds ``model`` on ``batch`` and sets every pyramid's level weights."""
    from keras_wavelit.layers import SharedFPN

    model(batch[0][:1])
    pyramids = [layer for layer in model._flatten_layers() if isinstance(layer, SharedFPN)]
    for fpn in pyramids:
        n = fpn.level_weights.shape[0]
        fpn.level_weights.assign(np.asarray((list(values) + [0.0] * n)[:n], "float32"))


def train_and_score(kwargs, loss, make_train_seq, test, cfg, seed, level_weights=None):
    import keras

    from keras_wavelit.evaluation import evaluate_rollout
    from keras_wavelit.losses import WaveletLoss
    from keras_wavelit.models import WaveLiT

    keras.utils.set_random_seed(seed)
    arch = dict(dim=cfg["dim"], depth=cfg["depth"], num_heads=cfg["num_heads"])
    arch.update(kwargs)
    model = WaveLiT(**model_kwargs(arch))
    # The paper's recipe with this scale's peak rate and warm-up; the default
    # loss is WaveletLoss(1, 1) with the model's wavelet, levels and boundary.
    compile_kwargs = dict(learning_rate=cfg["learning_rate"], warmup_steps=cfg["warmup_steps"])
    if loss is not None:
        compile_kwargs["loss"] = WaveletLoss(
            alpha=loss[0],
            beta=loss[1],
            wavelet=arch.get("wavelet", "bior2.2"),
            wavelet_levels=arch.get("levels", 1),
            boundary=arch["mode"],
        )
    model.compile(**compile_kwargs)
    train_seq = make_train_seq()  # a fresh sequence: the same batches for every row
    if level_weights is not None:
        set_level_weights(model, train_seq[0], level_weights)
        train_seq = make_train_seq()
    t0 = time.perf_counter()
    # One epoch of the training split is shorter than `steps` batches (198 at
    # the full setting): run whole epochs, as many as come closest to `steps`
    # (396 for 400). A single epoch with `steps_per_epoch=steps` stopped when
    # the data ran out (198 steps); partial epochs resume the data iterator
    # mid-epoch and run short too. The record has the steps actually run.
    epochs = max(1, round(cfg["steps"] / len(train_seq)))
    history = model.fit(train_seq, epochs=epochs, verbose=2)
    train_seconds = time.perf_counter() - t0
    steps_run = int(model.optimizer.iterations.numpy())
    params = int(sum(np.prod(v.shape) for v in model.trainable_weights))
    trajs, consts, seq = test
    res = evaluate_rollout(
        model,
        trajs,
        n_steps_input=4,
        n_steps=cfg["rollout"],
        constants=consts,
        denormalize=seq.denormalize,
        windows=[("1:1", 1, 1), (f"1:{cfg['rollout']}", 1, cfg["rollout"])],
        metrics=("vrmse", "relative_l2"),
        divergence_threshold=None,
    )
    return {
        "params": params,
        "steps": steps_run,
        "train_seconds": train_seconds,
        "final_loss": float(history.history["loss"][-1]),
        "one_step_vrmse": res.score("1:1", "vrmse", "mean"),
        "one_step_relative_l2": res.score("1:1", "relative_l2", "mean"),
        "rollout_relative_l2": res.score(f"1:{cfg['rollout']}", "relative_l2", "mean"),
        "rollout_vrmse": res.score(f"1:{cfg['rollout']}", "vrmse", "mean"),
    }


def ordering_sentence(rows, metric):
    """Does our ranking of the rows agree with the paper's?"""
    ours = [r[metric] for r in rows]
    paper = [r["paper"] for r in rows]
    n = len(rows)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if paper[i] != paper[j]]
    agree = sum((ours[i] < ours[j]) == (paper[i] < paper[j]) for i, j in pairs)
    best_ours = rows[int(np.argmin(ours))]["label"]
    best_paper = rows[int(np.argmin(paper))]["label"]
    return (
        f"Pairwise ordering agrees with the paper on {agree} of {len(pairs)} pairs; best row here: "
        f"{best_ours} (paper: {best_paper})."
    )


def markdown(result):
    cfg = result["settings"]
    info = result["machine"]
    lines = [
        f"# Ablations on `{result['dataset']}`",
        "",
        f"Every row: `WaveLiT(dim={cfg['dim']}, depth={cfg['depth']}, "
        f"num_heads={cfg['num_heads']}, ...)` with the row's switches, the paper's recipe "
        f"(peak learning rate {cfg['learning_rate']}, warm-up {cfg['warmup_steps']} steps), "
        f"whole epochs closest to {cfg['steps']} steps (column `steps`) of batch "
        f"{cfg['batch_size']} at "
        f"{cfg['resolution']}x{cfg['resolution']}, the same batches for every row. Scores: "
        f"mean over {result['test_windows']} test windows, physical units; rollout = mean "
        f"over {cfg['rollout']} steps. "
        f"Boundary mode (from the data): `{result.get('boundary', 'reflect')}`."
        + (f" Every row also has `{cfg['extra']}`." if cfg.get("extra") else "")
        + (
            f" Pyramid level weights initialised to {cfg['level_weights']}."
            if cfg.get("level_weights")
            else ""
        ),
        "",
        machine_line(info),
        "",
    ]
    if result.get("load_average"):
        lines[-1:] = [
            "",
            "Load average (1, 5, 15 min) at the start and end: "
            f"{result['load_average'][0]} / {result['load_average'][1]}; the machine was shared, "
            "so train seconds are not idle-machine numbers.",
            "",
        ]
    for table in result["tables"]:
        rows = result["tables"][table]
        metric = TABLE_METRIC[table]
        lines += [
            f"## {TABLE_TITLE[table]}",
            "",
            "| row | params | steps | one-step VRMSE | one-step rel. L2 | 4-step rel. L2 "
            "| train s | paper |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['label']} | {r['params']:,} | {r.get('steps', '?')} | "
                f"{r['one_step_vrmse']:.4f} | "
                f"{r['one_step_relative_l2']:.4f} | {r['rollout_relative_l2']:.4f} | "
                f"{r['train_seconds']:.0f} | {r['paper']} ({r['paper_metric']}) |"
            )
        lines += [
            "",
            f"Compared on {metric.replace('_', ' ')}: " + ordering_sentence(rows, metric),
            "",
        ]
    rerun = "python benchmarks/ablations.py" + (" --quick" if result["quick"] else "")
    if list(result["tables"]) != list(TABLE_TITLE):
        rerun += " --tables " + ",".join(result["tables"])
    rerun += result.get("options", "")
    lines.append(
        f"Total time: {result['total_seconds'] / 60:.1f} minutes. Rerun: `KERAS_BACKEND="
        f"{info['keras_backend']} {rerun}`."
    )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="kolmogorov_2d")
    parser.add_argument(
        "--tables", default="13,13r,14,2,3", help="comma-separated: 13, 13r, 14, 2, 3"
    )
    parser.add_argument("--rows", help="comma-separated substrings: only rows whose label has one")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a WaveLiT argument for every row (VALUE parsed as JSON when it can be)",
    )
    parser.add_argument(
        "--level-weights", help="initial pyramid level weights, comma-separated (e.g. 1,0)"
    )
    parser.add_argument("--resolution", type=int, help="grid of the simulated data")
    parser.add_argument("--tag", help="added to the output file names")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, help="training steps per row (overrides the setting)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=os.path.join(HERE, "results", "raw", "ablations"))
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    tables = [t.strip() for t in args.tables.split(",") if t.strip()]
    for t in tables:
        if t not in TABLE_TITLE:
            parser.error(f"unknown table {t!r}; choose from {', '.join(TABLE_TITLE)}")

    from keras_wavelit.data import WellSequence
    from keras_wavelit.data import boundary_mode
    from keras_wavelit.data.simulate import dataset_dir
    from keras_wavelit.data.simulate import simulate

    cfg = dict(SETTINGS["quick" if args.quick else "full"])
    if args.steps:
        cfg["steps"] = args.steps
    if args.resolution:
        cfg["resolution"] = args.resolution
    extra = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        extra[key] = parse_value(value)
    level_weights = None
    if args.level_weights:
        level_weights = [float(v) for v in args.level_weights.split(",")]
    cfg["extra"] = extra
    cfg["level_weights"] = level_weights
    work = os.path.join(args.work, "quick" if args.quick else "full")
    if cfg["resolution"] != SETTINGS["quick" if args.quick else "full"]["resolution"]:
        work += f"_{cfg['resolution']}"
    data = os.path.join(work, "data")
    t0 = time.time()
    load_start = [round(v, 2) for v in os.getloadavg()]
    if not os.path.exists(os.path.join(dataset_dir(data, args.dataset), "stats.yaml")):
        simulate(
            args.dataset,
            data,
            resolution=cfg["resolution"],
            n_trajectories=cfg["trajectories"],
            n_steps=cfg["time_steps"],
            seed=args.seed,
            overwrite=True,
        )

    boundary = boundary_mode(dataset_dir(data, args.dataset))
    print(f"{args.dataset}: boundary mode {boundary!r} (from the data)", flush=True)

    def make_train_seq():
        return WellSequence(
            data,
            args.dataset,
            "train",
            n_steps_input=4,
            batch_size=cfg["batch_size"],
            seed=args.seed,
        )

    test = test_windows(data, args.dataset, cfg)
    cache = {}
    result = {
        "dataset": args.dataset,
        "boundary": boundary,
        "settings": cfg,
        "quick": args.quick,
        "test_windows": int(test[0].shape[0]),
        "tables": {},
        "options": "".join(
            f" {flag} {value}"
            for flag, value in (
                ("--rows", f'"{args.rows}"' if args.rows else None),
                ("--steps", args.steps),
                ("--resolution", args.resolution),
                ("--level-weights", args.level_weights),
                ("--tag", args.tag),
            )
            if value
        )
        + "".join(f" --set {item}" for item in args.set),
    }
    wanted = [r.strip() for r in args.rows.split(",")] if args.rows else None
    for table, label, kwargs, loss, paper, paper_metric in ROWS:
        if table not in tables:
            continue
        if wanted and not any(w in label for w in wanted):
            continue
        kwargs = dict(kwargs, mode=boundary, **extra)
        if table in TABLE_COMBINE:
            kwargs["fpn_combine"] = TABLE_COMBINE[table]
        key = config_key(kwargs, loss)
        if key not in cache:
            print(
                f"\n== Table {table}: {label}  WaveLiT(**{kwargs})"
                + (f", WaveletLoss{loss}" if loss else ""),
                flush=True,
            )
            cache[key] = train_and_score(
                kwargs, loss, make_train_seq, test, cfg, args.seed, level_weights
            )
            print("  ", cache[key], flush=True)
        row = dict(
            cache[key],
            label=label,
            kwargs=kwargs,
            loss=loss,
            paper=paper,
            paper_metric=paper_metric,
        )
        result["tables"].setdefault(table, []).append(row)
        # Written after every row, so an interrupted run keeps what it measured.
        result["machine"] = machine_info()
        result["total_seconds"] = time.time() - t0
        result["load_average"] = [load_start, [round(v, 2) for v in os.getloadavg()]]
        stem = "ablations" + ("" if tables == list(TABLE_TITLE) else "_" + "_".join(tables))
        if args.tag:
            stem += "_" + args.tag
        write_record(args.out, stem + ("_quick" if args.quick else ""), result, markdown(result))


if __name__ == "__main__":
    main()
