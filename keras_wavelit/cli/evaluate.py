"""`wavelit evaluate`: rollout evaluation with The Well's metrics."""

from keras_wavelit.cli.common import add_data_args
from keras_wavelit.cli.common import positive

RESUMABLE = False


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="rollout evaluation with The Well's metrics",
        description="Roll a model out on every trajectory of a split and score it with The "
        "Well's VRMSE, nRMSE and MSE in physical units; writes OUT/evaluation.json and "
        "OUT/evaluation.md.",
    )
    p.add_argument("--model", required=True, help="a .keras model")
    add_data_args(p)
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


def run(args):
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
        verbose=0 if args.quiet else 1,
    )
    print(result.summary_table())
    return 0
