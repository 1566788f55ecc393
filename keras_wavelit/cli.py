"""The `wavelit` command line.

Subcommands register themselves in `build_parser` through one
`_add_<name>(subparsers)` function each, which sets `func` to the handler
`_cmd_<name>(args) -> int`.

Usage:

    wavelit generate gray_scott_2d --out wavelit_data
    wavelit generate kolmogorov_2d --out wavelit_data --resolution 64 \\
        --trajectories 32 --steps 80 --seed 0
    python -m keras_wavelit generate --list
    wavelit train --data wavelit_data --dataset gray_scott_2d --out runs/gs --size 1.2M
    wavelit finetune --model runs/gs/model.keras --data wavelit_data \\
        --dataset gray_scott_2d --out runs/gs_ft --method scheduled_sampling --unroll 4
    wavelit evaluate --model runs/gs_ft/model.keras --data wavelit_data \\
        --dataset gray_scott_2d --out runs/gs_eval
    wavelit report --eval finetuned=runs/gs_eval --history pretrain=runs/gs/history.csv \\
        --out report
    wavelit demo
"""

import argparse
import os
import sys
from typing import List
from typing import Optional


def _parse_param(text: str):
    """`KEY=VALUE` with VALUE parsed as int, float, bool, comma tuple or string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)

    def convert(v: str):
        v = v.strip()
        if v.lower() in ("true", "false"):
            return v.lower() == "true"
        for kind in (int, float):
            try:
                return kind(v)
            except ValueError:
                pass
        return v

    if "," in value:
        return key.strip(), tuple(convert(v) for v in value.split(","))
    return key.strip(), convert(value)


def _add_generate(subparsers) -> None:
    from keras_wavelit.data.simulate import SYSTEMS

    p = subparsers.add_parser(
        "generate",
        help="simulate an embedded dataset in The Well's format",
        description=(
            "Simulate a physical system and write it in The Well's HDF5 layout: "
            "OUT/datasets/NAME/data/{train,valid,test}/NAME_<split>.hdf5 and "
            "OUT/datasets/NAME/stats.yaml. OUT is then a well_base_path for "
            "keras_wavelit.data.WellSequence."
        ),
    )
    p.add_argument(
        "name",
        nargs="?",
        choices=sorted(SYSTEMS),
        metavar="NAME",
        help=f"dataset to generate: {', '.join(sorted(SYSTEMS))}",
    )
    p.add_argument("--out", help="base directory (well_base_path)")
    p.add_argument("--resolution", type=int, default=64, help="grid points per side (default 64)")
    p.add_argument(
        "--trajectories",
        type=int,
        default=None,
        help="trajectories over train/valid/test (default 32: 24/4/4)",
    )
    p.add_argument("--steps", type=int, default=None, help="snapshots per trajectory (default 80)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--param",
        type=_parse_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="system parameter, repeatable (e.g. --param regime=spots)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--list", action="store_true", help="list the datasets and their parameters, then exit"
    )
    p.set_defaults(func=_cmd_generate)


def _cmd_generate(args) -> int:
    import importlib

    from keras_wavelit.data.simulate import SYSTEMS
    from keras_wavelit.data.simulate import simulate

    if args.list:
        for name in sorted(SYSTEMS):
            module = importlib.import_module(SYSTEMS[name])
            print(
                f"{name}: {module.DEFAULT_N_TRAJECTORIES} trajectories x {module.DEFAULT_N_STEPS} steps by default"
            )
            for key, value in module.DEFAULT_PARAMS.items():
                print(f"    {key} = {value!r}")
        return 0
    if not args.name or not args.out:
        print(
            "wavelit generate: error: NAME and --out are required (or use --list)", file=sys.stderr
        )
        return 2
    info = simulate(
        args.name,
        args.out,
        resolution=args.resolution,
        n_trajectories=args.trajectories,
        n_steps=args.steps,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        overwrite=args.overwrite,
        **dict(args.param),
    )
    if args.quiet:
        print(info.dataset_dir)
    return 0


def _model_kwargs(args):
    kwargs = {}
    if args.size:
        kwargs["size"] = args.size
    for key in ("dim", "depth", "num_heads", "fpn_levels", "levels"):
        value = getattr(args, key)
        if value is not None:
            kwargs[key] = value
    if args.wavelet:
        kwargs["wavelet"] = args.wavelet
    if args.residual:
        kwargs["predict_residual"] = True
    kwargs["mode"] = args.mode
    return kwargs


def _add_data_args(p):
    p.add_argument("--data", required=True, help="data directory (well_base_path)")
    p.add_argument("--dataset", required=True, help="dataset name under DATA/datasets")


def _add_loop_args(p, epochs):
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="batches per epoch (default: the whole split)",
    )
    p.add_argument("--validation-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_train(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a WaveLiT (resumes an interrupted run in --out)",
        description="Train a WaveLiT with the paper's recipe on a dataset in The Well's "
        "format. Run the same command again to resume an interrupted run.",
    )
    _add_data_args(p)
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--size", choices=["1.2M", "9.5M"], default=None)
    p.add_argument("--dim", type=int)
    p.add_argument("--depth", type=int)
    p.add_argument("--num-heads", dest="num_heads", type=int)
    p.add_argument("--fpn-levels", dest="fpn_levels", type=int)
    p.add_argument("--levels", type=int)
    p.add_argument("--wavelet")
    p.add_argument("--residual", action="store_true", help="predict x_last + f(x)")
    p.add_argument(
        "--mode",
        choices=["auto", "reflect", "periodic"],
        default="auto",
        help="boundary mode of the DWT and convolutions; auto: periodic when "
        "every boundary condition of the data is periodic, else reflect",
    )
    p.add_argument("--n-steps-input", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    p.add_argument("--warmup-steps", type=int, default=5000)
    _add_loop_args(p, epochs=10)
    p.set_defaults(func=_cmd_train)


def _cmd_train(args) -> int:
    from keras_wavelit.training.runs import train_run

    train_run(
        args.data,
        args.dataset,
        args.out,
        model_kwargs=_model_kwargs(args),
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        batch_size=args.batch_size,
        n_steps_input=args.n_steps_input,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    print(os.path.join(args.out, "model.keras"))
    return 0


def _add_finetune(subparsers) -> None:
    from keras_wavelit.training.rollout_finetuner import METHODS

    p = subparsers.add_parser("finetune", help="rollout-finetune a trained model")
    p.add_argument("--model", required=True, help="a .keras model from `wavelit train`")
    _add_data_args(p)
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument("--method", choices=METHODS, default="scheduled_sampling")
    p.add_argument("--unroll", type=int, default=4)
    p.add_argument("--causal-eps", type=float, default=1.0)
    p.add_argument("--noise-std", type=float, default=0.0)
    p.add_argument("--jitter", action="store_true", help="random periodic shifts")
    p.add_argument("--lr", type=float, default=1e-4)
    _add_loop_args(p, epochs=2)
    p.set_defaults(func=_cmd_finetune)


def _cmd_finetune(args) -> int:
    from keras_wavelit.training.runs import finetune_run

    finetune_run(
        args.model,
        args.data,
        args.dataset,
        args.out,
        method=args.method,
        unroll=args.unroll,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        causal_eps=args.causal_eps,
        noise_std=args.noise_std,
        jitter=args.jitter,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    print(os.path.join(args.out, "model.keras"))
    return 0


def _add_evaluate(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="rollout evaluation with The Well's metrics")
    p.add_argument("--model", required=True, help="a .keras model")
    _add_data_args(p)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--split", default="test")
    p.add_argument("--max-rollout-steps", type=int, default=None)
    p.add_argument("--max-trajectories", type=int, default=None)
    p.add_argument("--divergence-threshold", type=float, default=10.0)
    p.set_defaults(func=_cmd_evaluate)


def _cmd_evaluate(args) -> int:
    from keras_wavelit.evaluation.runs import evaluate_run

    result = evaluate_run(
        args.model,
        args.data,
        args.dataset,
        args.out,
        split=args.split,
        max_rollout_steps=args.max_rollout_steps,
        max_trajectories=args.max_trajectories,
        divergence_threshold=args.divergence_threshold,
    )
    print(result.summary_table())
    return 0


def _add_report(subparsers) -> None:
    p = subparsers.add_parser("report", help="markdown report with plots")
    p.add_argument(
        "--eval",
        action="append",
        required=True,
        metavar="LABEL=DIR",
        help="an evaluation directory (repeatable)",
    )
    p.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="LABEL=CSV",
        help="a history.csv of a run (repeatable)",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="WaveLiT report")
    p.set_defaults(func=_cmd_report)


def _labelled(items):
    out = {}
    for item in items:
        label, _, path = item.rpartition("=")
        out[label or os.path.basename(os.path.normpath(path))] = path
    return out


def _cmd_report(args) -> int:
    from keras_wavelit.evaluation.report import write_report

    print(write_report(args.out, _labelled(args.eval), _labelled(args.history), title=args.title))
    return 0


def _add_demo(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the main job: simulate, train, finetune, evaluate, report",
        description="Simulate an embedded dataset, train a WaveLiT, rollout-finetune it, "
        "evaluate both with The Well's metrics and write OUT/report.md with plots "
        "(sized for about 15 minutes on a 2-core CPU; --quick for a few-minute smoke run).",
    )
    p.add_argument("--out", default="report", help="report directory (default: report)")
    p.add_argument("--dataset", default="acoustic_scattering_2d")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args) -> int:
    from keras_wavelit.demo import run_demo

    run_demo(
        args.out,
        dataset=args.dataset,
        quick=args.quick,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `wavelit` argument parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="wavelit",
        description="keras-wavelit: neural PDE surrogates for Keras 3.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_generate(subparsers)
    _add_train(subparsers)
    _add_finetune(subparsers)
    _add_evaluate(subparsers)
    _add_report(subparsers)
    _add_demo(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the `wavelit` command line; returns the exit status.

    Args:
        argv: arguments without the program name; defaults to `sys.argv[1:]`.

    Returns:
        0 on success, 1 when the command fails with a data error (the message
        is printed to stderr), 2 on a usage error.
    """
    # The command line defaults to JAX; KERAS_BACKEND overrides it. This must
    # happen before anything imports Keras.
    os.environ.setdefault("KERAS_BACKEND", "jax")
    from keras_wavelit.data.errors import WellDataError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (WellDataError, ImportError) as err:
        print(f"wavelit {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
