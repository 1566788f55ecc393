"""`wavelit report`: a Markdown report with plots from evaluations and histories."""

import json
import os

from keras_wavelit.cli.common import labelled

RESUMABLE = False


def add_parser(subparsers):
    p = subparsers.add_parser(
        "report",
        help="markdown report with plots",
        description="Write OUT/report.md with tables and plots from `wavelit evaluate` "
        "directories and training histories.",
    )
    p.add_argument(
        "--eval",
        action="append",
        required=True,
        metavar="LABEL=DIR",
        help="an evaluation directory (repeatable); a WaveLiT-FM's adds one row per dataset, "
        "labelled LABEL/DATASET",
    )
    p.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="LABEL=CSV",
        help="a history.csv of a run (repeatable) (default: none)",
    )
    p.add_argument("--out", required=True, help="report directory")
    p.add_argument("--title", default="WaveLiT report", help="title of the report")
    p.set_defaults(func=run)
    return p


def expand_evaluations(evals):
    """`{label: dir}` with each WaveLiT-FM evaluation replaced by its datasets' folders."""
    from keras_wavelit.cli.evaluate import FM_INDEX

    out = {}
    for label, path in evals.items():
        index = os.path.join(path, FM_INDEX)
        if os.path.exists(os.path.join(path, "evaluation.json")) or not os.path.exists(index):
            out[label] = path
            continue
        with open(index) as f:
            datasets = json.load(f)["datasets"]
        for name, entry in datasets.items():
            out[f"{label}/{name}"] = os.path.join(path, entry["dir"])
    return out


def run(args):
    from keras_wavelit.evaluation.report import write_report

    evals = expand_evaluations(labelled(args.eval))
    print(write_report(args.out, evals, labelled(args.history), title=args.title))
    return 0
