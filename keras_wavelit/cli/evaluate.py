"""`wavelit evaluate`: rollout evaluation with The Well's metrics."""

import argparse
import json
import os

from keras_wavelit.cli.common import CommandError
from keras_wavelit.cli.common import add_data_args
from keras_wavelit.cli.common import dataset_list
from keras_wavelit.cli.common import positive

RESUMABLE = False

#: Index a WaveLiT-FM evaluation writes to OUT: its datasets and their folders.
FM_INDEX = "evaluations.json"


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="rollout evaluation with The Well's metrics",
        description="Roll a model out on every trajectory of a split and score it with The "
        "Well's VRMSE, nRMSE and MSE in physical units; writes OUT/evaluation.json and "
        "OUT/evaluation.md. A WaveLiT-FM is evaluated on each of its datasets (the ones in "
        "DATA, or --datasets) through its one-dataset view, into OUT/<dataset>/, with "
        f"OUT/{FM_INDEX} and OUT/evaluation.md summarizing them; `wavelit report --eval "
        "LABEL=OUT` reads either.",
    )
    p.add_argument("--model", required=True, help="a .keras model")
    add_data_args(
        p,
        dataset_required=False,
        dataset_help="dataset name under DATA/datasets (required for a one-dataset model; "
        "for a WaveLiT-FM: evaluate only this one) (default: none)",
    )
    p.add_argument(
        "--datasets",
        type=dataset_list,
        default=None,
        metavar="A,B,...",
        help="WaveLiT-FM only: the datasets to evaluate (default: every dataset of the model "
        "found under DATA/datasets)",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--split", default="test", help="split to evaluate")
    p.add_argument(
        "--max-rollout-steps",
        type=positive(int),
        default=None,
        help="cap on the predicted steps (default: the whole trajectory)",
    )
    p.add_argument(
        "--max-trajectories",
        type=positive(int),
        default=None,
        help="cap on the trajectories evaluated (default: all of the split)",
    )
    p.add_argument(
        "--divergence-threshold",
        type=float,
        default=10.0,
        help="VRMSE above which a rollout counts as diverged",
    )
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar over trajectories and steps"
    )
    p.set_defaults(func=run)
    return p


def _fm_datasets(model, args):
    if args.dataset is not None and args.datasets is not None:
        raise CommandError("give --dataset or --datasets, not both.")
    if args.dataset is not None:
        names = [args.dataset]
    elif args.datasets is not None:
        names = list(args.datasets)
    else:
        names = [n for n in model.datasets if os.path.isdir(os.path.join(args.data, "datasets", n))]
        if not names:
            raise CommandError(
                f"--data {args.data}: none of the model's datasets ({', '.join(model.datasets)}) "
                "is under DATA/datasets."
            )
    unknown = [n for n in names if n not in model.datasets]
    if unknown:
        raise CommandError(
            f"--model {args.model} is a WaveLiT-FM of {', '.join(model.datasets)}; it has no "
            f"dataset {', '.join(unknown)}."
        )
    return names


def _fm_summary(results, split):
    from keras_wavelit.evaluation._predict import format_number

    lines = [f"# WaveLiT-FM evaluation ({split} split)", ""]
    lines += ["| dataset | one-step VRMSE (mean) | trajectories | diverged |", "|---|---|---|---|"]
    for name, result in results.items():
        d = result.to_dict()
        one = (d.get("one_step") or {}).get("vrmse", {}).get("mean")
        n = d.get("n_trajectories")
        lines.append(f"| {name} | {format_number(one)} | {n} | {len(d.get('divergences') or [])} |")
    return "\n".join(lines) + "\n"


def run_fm(model, args, **kwargs):
    """Evaluates a WaveLiT-FM on each dataset: OUT/<dataset>/ plus an index."""
    from keras_wavelit.evaluation.runs import evaluate_run

    names = _fm_datasets(model, args)
    results = {}
    for name in names:
        if not args.quiet:
            print(f"{name}:", flush=True)
        out = os.path.join(args.out, name)
        results[name] = evaluate_run(model.for_dataset(name), args.data, name, out, **kwargs)
    index = {
        "model": os.path.abspath(args.model),
        "split": args.split,
        "datasets": {name: {"dir": name} for name in names},
    }
    for name, result in results.items():
        one = (result.to_dict().get("one_step") or {}).get("vrmse", {}).get("mean")
        index["datasets"][name]["one_step_vrmse"] = one
    with open(os.path.join(args.out, FM_INDEX), "w") as f:
        json.dump(index, f, indent=2)
    summary = _fm_summary(results, args.split)
    with open(os.path.join(args.out, "evaluation.md"), "w") as f:
        f.write(summary)
    return summary


def foundation_model_datasets(path):
    """The dataset names of the `WaveLiTFM` in the `.keras` file at `path`, else None.

    Read from the file's `config.json`, without loading the model.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    if not isinstance(config, dict) or config.get("class_name") != "WaveLiTFM":
        return None
    names = []
    for spec in config.get("config", {}).get("datasets", []):
        if isinstance(spec, dict):
            spec = spec.get("config", spec).get("name")
        names.append(spec)
    return names


def run(args):
    from keras_wavelit.evaluation.runs import evaluate_run

    kwargs = dict(
        split=args.split,
        max_rollout_steps=args.max_rollout_steps,
        max_trajectories=args.max_trajectories,
        divergence_threshold=args.divergence_threshold,
        verbose=0 if args.quiet else 1,
    )
    datasets = foundation_model_datasets(args.model)
    if datasets is not None:
        import keras

        _fm_datasets(argparse.Namespace(datasets=datasets), args)  # errors before loading
        model = keras.saving.load_model(args.model)
        os.makedirs(args.out, exist_ok=True)
        print(run_fm(model, args, **kwargs))
        return 0
    if args.datasets is not None:
        raise CommandError(f"--datasets needs a WaveLiT-FM; --model {args.model} is not one.")
    if args.dataset is None:
        raise CommandError("--dataset is required to evaluate a one-dataset model.")
    result = evaluate_run(args.model, args.data, args.dataset, args.out, **kwargs)
    print(result.summary_table())
    return 0
