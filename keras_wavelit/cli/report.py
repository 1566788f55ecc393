"""`wavelit report`: a Markdown report with plots from evaluations and histories."""

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
        help="an evaluation directory (repeatable)",
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


def run(args):
    from keras_wavelit.evaluation.report import write_report

    print(write_report(args.out, labelled(args.eval), labelled(args.history), title=args.title))
    return 0
