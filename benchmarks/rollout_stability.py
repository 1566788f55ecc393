"""Long-rollout stabilizers for WaveLiT, side by side (paper section 5, Appendix H).

WaveLiT's one-step error is small, but its rollout error can grow faster
per step than a Fourier neural operator's: fine-grained wavelet tokens
resolve the high-frequency subbands that raise the learned map's local
Lipschitz constant (paper section 5). This script trains one WaveLiT per
option on each embedded dataset, at the same compute, and measures what each
option does to the one-step error and to the rollout:

- ``plain``: the paper's recipe with the adaptive warm-up and no input noise
  (``WaveLiT.compile(input_noise=0)``), one-step training;
- ``input_noise``: ``compile(input_noise=X)``, training inputs perturbed by X
  times each sample's RMS one-step change;
- ``detail_weight``: ``WaveletLoss(detail_weight=Y)``, the detail subbands'
  L1 term weighted Y against the approximation;
- ``multistep``: a two-step objective from the start,
  ``RolloutFinetuner(method="causal_bptt", unroll=2, warmup_steps="auto",
  learning_rate=1e-3)`` on a fresh model;
- ``finetune_ss``: pretraining, then scheduled sampling over 4 steps (the
  paper's Appendix G choice);
- ``finetune_pf``: pretraining, then pushforward over 2 steps with relative
  input noise X;
- ``residual``: ``predict_residual=True`` (``plain`` predicts the next state);
- ``residual_noise``: ``predict_residual=True`` and ``input_noise``.

**Compute.** One unit is one model application inside a training step, with
its backward pass: a one-step batch costs 1, a k-step unroll costs k (for
pushforward the k - 1 forward-only steps are charged as full units, which
favours no option but pushforward's own cost). Every option gets the same
number of units per batch slot, ``steps`` (the setting's optimizer steps at
the same batch size): one-step options run ``steps`` steps; ``multistep``
runs ``steps / 2``; the finetuning options pretrain for ``0.75 * steps``
one-step steps and finetune for ``0.25 * steps / k`` steps (the two share the
pretrained model). The Well's ``FNO`` and ``UNetClassic`` (sized to the
WaveLiT's parameter count, trained with The Well's MSE on the same batches in
the same order, ``benchmarks/vs_well_baselines.py``) give the reference
curves; they need The Well's benchmark extra (``make bench-venv``) and are
skipped, with a note in the record, when ``the_well.benchmark`` is not
importable.

**Scores** (``keras_wavelit.evaluation``, The Well's VRMSE in physical
units): one-step VRMSE (mean over test windows, as
``benchmarks/vs_well_baselines.py``), rollout VRMSE over ``[6:12]`` and
``[13:30]`` (median over test trajectories), the error growth (mean
``VRMSE(t+1) / VRMSE(t)`` over steps 2-12, ``error_growth``) and the first
step whose median VRMSE exceeds 1.

Settings:

- ``--setting full``: the target protocol, WaveLiT-1.2M, 64x64, 2,000 steps,
  batch 8 (hours on 2 CPU cores);
- ``--setting small``: 32x32, a WaveLiT of dim 48 and depth 4 (one pyramid
  level), 800 steps, batch 8 (about 30-40 minutes for every option on the
  three datasets on one core);
- ``--quick``: a smoke run of every option on 16x16 ``acoustic_scattering_2d``
  data (< 3 minutes; ``--datasets`` for others).

    python benchmarks/rollout_stability.py --quick
    taskset -c 0 .venv-bench/bin/python benchmarks/rollout_stability.py --setting small
    python benchmarks/rollout_stability.py --setting small --datasets kolmogorov_2d \\
        --options plain,input_noise

Writes ``benchmarks/results/rollout_stability_<setting>.{md,json,png}``.
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

import numpy as np  # noqa: E402
from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402
from records import write_record  # noqa: E402
from vs_well_baselines import BatchOrder  # noqa: E402
from vs_well_baselines import WellBaselineStep  # noqa: E402
from vs_well_baselines import evaluate  # noqa: E402
from vs_well_baselines import prepare_dataset  # noqa: E402
from vs_well_baselines import sized_baseline  # noqa: E402
from vs_well_baselines import train_baseline  # noqa: E402
from vs_well_baselines import train_wavelit  # noqa: E402

DATASETS = ("acoustic_scattering_2d", "gray_scott_2d", "kolmogorov_2d")
OPTIONS = (
    "plain",
    "input_noise",
    "detail_weight",
    "multistep",
    "finetune_ss",
    "finetune_pf",
    "residual",
    "residual_noise",
)
BASELINES = ("FNO", "UNetClassic")
#: Share of the compute that the finetuning options spend on pretraining.
PRETRAIN_SHARE = 0.75
#: (method, unroll) of the finetuning options and of the multi-step objective.
FINETUNE = {"finetune_ss": ("scheduled_sampling", 4), "finetune_pf": ("pushforward", 2)}
MULTISTEP = ("causal_bptt", 2)

SETTINGS = {
    "full": dict(
        resolution=64,
        trajectories=24,
        time_steps=40,
        steps=2000,
        batch_size=8,
        model=dict(size="1.2M"),
        learning_rate=1e-3,
        finetune_learning_rate=1e-4,
        rollout_steps=30,
        max_test_windows=64,
    ),
    "small": dict(
        resolution=32,
        trajectories=16,
        time_steps=40,
        steps=800,
        batch_size=8,
        model=dict(dim=48, depth=4, num_heads=4, pyramid_levels=1),
        learning_rate=1e-3,
        finetune_learning_rate=1e-4,
        rollout_steps=30,
        max_test_windows=64,
    ),
    "quick": dict(
        resolution=16,
        trajectories=8,
        time_steps=36,
        steps=8,
        batch_size=4,
        model=dict(dim=16, depth=1, num_heads=2, pyramid_levels=0),
        learning_rate=1e-3,
        finetune_learning_rate=1e-4,
        rollout_steps=30,
        max_test_windows=8,
    ),
}


def describe(option, args):
    return {
        "plain": "paper recipe, one-step",
        "input_noise": f"compile(input_noise={args.input_noise:g})",
        "detail_weight": f"WaveletLoss(detail_weight={args.detail_weight:g})",
        "multistep": "causal_bptt k=2 (eps=1) from the start, auto warm-up",
        "finetune_ss": f"{PRETRAIN_SHARE:.0%} pretrain + scheduled sampling k=4",
        "finetune_pf": f"{PRETRAIN_SHARE:.0%} pretrain + pushforward k=2, "
        f"relative noise {args.input_noise:g}",
        "residual": "predict_residual=True",
        "residual_noise": f"predict_residual=True, compile(input_noise={args.input_noise:g})",
        "FNO": "The Well's FNO, MSE",
        "UNetClassic": "The Well's UNetClassic, MSE",
    }[option]


# --------------------------------------------------------------------------- data


def load_unrolled_windows(data_dir, dataset, split, n_steps_output):
    """Every window of `4 + n_steps_output` steps of a split (normalized units)."""
    from keras_wavelit.data import WellSequence

    seq = WellSequence(
        data_dir,
        dataset,
        split,
        n_steps_input=4,
        n_steps_output=n_steps_output,
        batch_size=32,
        shuffle=False,
    )
    xs, cs, ys = [], [], []
    for i in range(len(seq)):
        x, y = seq[i]
        if isinstance(x, dict):
            xs.append(x["fields"])
            cs.append(x["constants"])
        else:
            xs.append(x)
        ys.append(y)
    return np.concatenate(xs), (np.concatenate(cs) if cs else None), np.concatenate(ys)


def well_baselines_available():
    try:
        import the_well.benchmark.models  # noqa: F401
    except Exception as err:  # noqa: BLE001 - any failure means: skip them
        return f"{type(err).__name__}: {err}"
    return None


# --------------------------------------------------------------------------- training


def make_wavelit(cfg, mode, predict_residual=False):
    from keras_wavelit.models import WaveLiT

    return WaveLiT(boundary=mode, predict_residual=predict_residual, **cfg["model"])


def compile_wavelit(model, cfg, input_noise=0.0, detail_weight=1.0):
    from keras_wavelit.losses import WaveletLoss

    loss = WaveletLoss(
        1.0,
        1.0,
        wavelet=model.wavelet,
        wavelet_levels=model.wavelet_levels,
        boundary=model.boundary,
        detail_weight=detail_weight,
    )
    model.compile(learning_rate=cfg["learning_rate"], loss=loss, input_noise=input_noise)


def train_one_step(model, data, steps, batch_size, seed):
    order = BatchOrder(len(data[0]), batch_size, steps, seed)
    return train_wavelit(model, data, order)


def train_unrolled(model, data, steps, batch_size, seed, method, unroll, **kw):
    from keras_wavelit.training import RolloutFinetuner

    finetuner = RolloutFinetuner(model, method=method, unroll=unroll, seed=seed, **kw)
    order = BatchOrder(len(data[0]), batch_size, steps, seed)
    return train_wavelit(finetuner, data, order)


def params_of(model):
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def run_dataset(dataset, args, cfg, baselines):
    import keras

    data_dir, (x, c, y, _), test_windows, test_trajectories, mode = prepare_dataset(
        dataset, args.work, cfg, args.seed, verbose=0
    )
    steps, batch = cfg["steps"], cfg["batch_size"]
    print(
        f"\n== {dataset}: {len(x)} training windows, boundary {mode!r}, {steps} steps of "
        f"batch {batch}",
        flush=True,
    )
    sample = x[:1] if c is None else {"fields": x[:1], "constants": c[:1]}
    rows = {}

    def finish(name, model, timing, compute, schedule):
        row = dict(
            description=describe(name, args),
            params=params_of(model),
            compute=compute,
            schedule=schedule,
            **timing,
            **evaluate(model, test_windows, test_trajectories, cfg),
        )
        rows[name] = row
        print(
            f"  {name}: one-step {row['one_step_vrmse']:.4f}, [6:12] {fmt(row.get('6:12'))}, "
            f"[13:30] {fmt(row.get('13:30'))}, growth {fmt(row['growth_ratio'], 3)}, "
            f"{row['train_seconds']:.0f} s",
            flush=True,
        )

    def fresh(predict_residual=False):
        keras.utils.set_random_seed(args.seed)  # every option starts from the same weights
        model = make_wavelit(cfg, mode, predict_residual=predict_residual)
        model(sample)
        return model

    one_step_options = {
        "plain": {},
        "input_noise": {"input_noise": args.input_noise},
        "detail_weight": {"detail_weight": args.detail_weight},
        "residual": {},
        "residual_noise": {"input_noise": args.input_noise},
    }
    for name in [o for o in args.options if o in one_step_options]:
        model = fresh(predict_residual=name.startswith("residual"))
        compile_wavelit(model, cfg, **one_step_options[name])
        timing = train_one_step(model, (x, c, y), steps, batch, args.seed)
        finish(name, model, timing, steps, f"{steps} one-step")

    if "multistep" in args.options:
        method, k = MULTISTEP
        xk, ck, yk = load_unrolled_windows(data_dir, dataset, "train", k)
        model = fresh()
        n = max(1, steps // k)
        timing = train_unrolled(
            model,
            (xk, ck, yk),
            n,
            batch,
            args.seed,
            method,
            k,
            causal_eps=1.0,
            learning_rate=cfg["learning_rate"],
            warmup_steps="auto",
        )
        finish("multistep", model, timing, n * k, f"{n} x {method} k={k}")

    finetunes = [o for o in args.options if o in FINETUNE]
    if finetunes:
        pre = max(1, round(PRETRAIN_SHARE * steps))
        model = fresh()
        compile_wavelit(model, cfg)
        pre_timing = train_one_step(model, (x, c, y), pre, batch, args.seed)
        pretrained = [np.array(w) for w in model.get_weights()]
        for name in finetunes:
            method, k = FINETUNE[name]
            xk, ck, yk = load_unrolled_windows(data_dir, dataset, "train", k)
            model.set_weights(pretrained)
            n = max(1, round((steps - pre) / k))
            noise = (
                {"noise_std": args.input_noise, "relative_noise": True}
                if name == "finetune_pf"
                else {}
            )
            timing = train_unrolled(
                model,
                (xk, ck, yk),
                n,
                batch,
                args.seed + 1,
                method,
                k,
                learning_rate=cfg["finetune_learning_rate"],
                **noise,
            )
            timing = {
                key: (pre_timing[key] + timing[key]) if key in ("steps", "train_seconds") else v
                for key, v in timing.items()
            }
            finish(name, model, timing, pre + n * k, f"{pre} one-step + {n} x {method} k={k}")

    if baselines:
        n_channels = x.shape[-1]
        dim_in = 4 * n_channels + (0 if c is None else c.shape[-1])
        target = params_of(fresh())
        order = BatchOrder(len(x), batch, steps, args.seed)
        bcfg = dict(learning_rate=cfg["learning_rate"], warmup_steps=max(1, min(5000, steps // 10)))
        for name in baselines:
            net, width, params = sized_baseline(name, dim_in, n_channels, cfg["resolution"], target)
            timing = train_baseline(net, (x, c, y), order, bcfg, log_every=0)
            rows[name] = dict(
                description=describe(name, args),
                params=params,
                width=width,
                compute=steps,
                schedule=f"{steps} one-step",
                **timing,
                **evaluate(WellBaselineStep(net), test_windows, test_trajectories, cfg),
            )
            r = rows[name]
            print(
                f"  {name}: one-step {r['one_step_vrmse']:.4f}, [6:12] {fmt(r.get('6:12'))}, "
                f"[13:30] {fmt(r.get('13:30'))}, growth {fmt(r['growth_ratio'], 3)}",
                flush=True,
            )
    return {name: rows[name] for name in OPTIONS + BASELINES if name in rows}


# --------------------------------------------------------------------------- report


def fmt(v, digits=4):
    if v is None:
        return "—"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}f}"


def markdown(result):
    cfg = result["settings"]
    lines = [
        f"# Long-rollout stabilizers for WaveLiT (setting `{result['setting']}`)",
        "",
        f"{cfg['resolution']}x{cfg['resolution']}, 4 input steps -> 1, batch "
        f"{cfg['batch_size']}, {cfg['steps']} compute units per option (one unit: one model "
        "application with its backward pass in a training step; a k-step unroll costs k). "
        f"WaveLiT {cfg['model']}, peak learning rate {cfg['learning_rate']} with the adaptive "
        f"warm-up; finetuning at {cfg['finetune_learning_rate']}. Input noise "
        f"{result['input_noise']:g}, detail weight {result['detail_weight']:g}. One-step "
        "VRMSE: mean over test windows; [6:12], [13:30]: median over test trajectories of the "
        "window mean; growth: mean VRMSE(t+1)/VRMSE(t) over steps 2-12 of the median curve; "
        "crossing: first step whose median VRMSE exceeds 1. Physical units, The Well's VRMSE.",
        "",
        machine_line(result["machine"]),
        "",
    ]
    if result["baselines_skipped"]:
        lines += [
            "The Well's baselines were skipped: `the_well.benchmark` is not importable "
            f"({result['baselines_skipped']}); run in the benchmark environment "
            "(`make bench-venv`) to add them.",
            "",
        ]
    for dataset, rows in result["datasets"].items():
        lines += [
            f"## `{dataset}`",
            "",
            "| option | what | params | compute | one-step VRMSE | [6:12] | [13:30] | growth "
            "| crossing | train s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        best = {
            k: min((r[k] for r in rows.values() if r.get(k) is not None), default=None)
            for k in ("one_step_vrmse", "6:12", "13:30")
        }
        for name, r in rows.items():

            def cell(k, r=r):
                s = fmt(r.get(k))
                return f"**{s}**" if r.get(k) is not None and r.get(k) == best[k] else s

            div = f" ({len(r['diverged'])} diverged)" if r["diverged"] else ""
            lines.append(
                f"| {name}{div} | {r['description']} | {r['params']:,} | {r['schedule']} "
                f"| {cell('one_step_vrmse')} | {cell('6:12')} | {cell('13:30')} "
                f"| {fmt(r['growth_ratio'], 3)} | {r['crossing_step'] or '—'} "
                f"| {r['train_seconds']:.0f} |"
            )
        lines.append("")
    lines += [
        f"Total time: {result['total_seconds'] / 60:.1f} minutes. Rerun: "
        f"`KERAS_BACKEND={result['machine']['keras_backend']} python "
        f"benchmarks/rollout_stability.py {result['command']}`. Bold: best in the column. "
        f"Plot: `{result['plot']}`.",
    ]
    return "\n".join(lines) + "\n"


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(result["datasets"])
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4.2), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for name, row in result["datasets"][dataset].items():
            curve = np.asarray(row["rollout_per_step_median"], dtype=float)
            baseline = name in BASELINES
            ax.plot(
                np.arange(1, len(curve) + 1),
                curve,
                label=name,
                lw=1.2 if baseline else 1.8,
                ls="--" if baseline else "-",
                color="black" if name == "plain" else None,
            )
        ax.set_yscale("log")
        ax.set_title(dataset, fontsize=10)
        ax.set_xlabel("rollout step")
        ax.set_ylabel("VRMSE (median over test trajectories)")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def parse_list(text, allowed, what, parser):
    items = [t for t in text.split(",") if t]
    for item in items:
        if item not in allowed:
            parser.error(f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
    return items


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setting", choices=("full", "small"), default="small")
    parser.add_argument("--quick", action="store_true", help="smoke run (< 3 minutes)")
    parser.add_argument(
        "--datasets",
        default=None,
        help="comma-separated datasets (default: all three; --quick: acoustic_scattering_2d, "
        "the one with constant fields)",
    )
    parser.add_argument("--options", default=",".join(OPTIONS))
    parser.add_argument(
        "--baselines", default=",".join(BASELINES), help="The Well's models ('' for none)"
    )
    parser.add_argument("--steps", type=int, help="compute units per option (overrides)")
    parser.add_argument("--input-noise", type=float, default=0.25)
    parser.add_argument("--detail-weight", type=float, default=0.25)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=os.path.join(HERE, "results", "raw", "rollout_stability"))
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument(
        "--stem", default=None, help="result file name (default: rollout_stability_<setting>)"
    )
    args = parser.parse_args(argv)
    command = " ".join(argv if argv is not None else sys.argv[1:])
    setting = "quick" if args.quick else args.setting
    if args.datasets is None:
        args.datasets = "acoustic_scattering_2d" if args.quick else ",".join(DATASETS)
    args.datasets = parse_list(args.datasets, DATASETS, "dataset", parser)
    args.options = parse_list(args.options, OPTIONS, "option", parser)
    baselines = parse_list(args.baselines, BASELINES, "baseline", parser)
    skipped = well_baselines_available() if baselines else None
    if skipped:
        print(f"The Well's baselines are skipped: {skipped}", flush=True)
        baselines = []
    elif args.threads:
        import torch

        torch.set_num_threads(args.threads)
    cfg = dict(SETTINGS[setting])
    if args.steps:
        cfg["steps"] = args.steps
    args.work = os.path.join(args.work, setting)

    t0 = time.time()
    result = {
        "setting": setting,
        "settings": cfg,
        "input_noise": args.input_noise,
        "detail_weight": args.detail_weight,
        "options": args.options,
        "baselines": baselines,
        "baselines_skipped": skipped,
        "seed": args.seed,
        "command": command,
        "machine": machine_info(),
        "datasets": {},
    }
    for dataset in args.datasets:
        result["datasets"][dataset] = run_dataset(dataset, args, cfg, baselines)
    result["total_seconds"] = time.time() - t0
    stem = args.stem or f"rollout_stability_{setting}"
    result["plot"] = os.path.join("benchmarks", "results", stem + ".png")
    os.makedirs(args.out, exist_ok=True)
    plot(result, os.path.join(args.out, stem + ".png"))
    write_record(args.out, stem, result, markdown(result))


if __name__ == "__main__":
    main()
