"""The `wavelit` command line.

One module per subcommand, each with `add_parser(subparsers)` (which sets
`func` to its `run(args) -> int`); `build_parser` collects them. `main` picks
the Keras backend before anything imports Keras, turns every error into one
line `wavelit COMMAND: error: ...` with exit status 1 (`--debug` shows the
traceback) and Ctrl-C into exit status 130.

Usage:

    wavelit generate gray_scott_2d --out wavelit_data
    wavelit generate kolmogorov_2d --out wavelit_data --resolution 64 \\
        --trajectories 32 --steps 80 --seed 0
    python -m keras_wavelit generate --list
    wavelit train --data wavelit_data --dataset gray_scott_2d --out runs/gs --size 1.2M
    wavelit --backend torch train --data wavelit_data --dataset gray_scott_2d --out runs/gs_t
    wavelit finetune --model runs/gs/model.keras --data wavelit_data \\
        --dataset gray_scott_2d --out runs/gs_ft --method scheduled_sampling --unroll 4
    wavelit evaluate --model runs/gs_ft/model.keras --data wavelit_data \\
        --dataset gray_scott_2d --out runs/gs_eval
    wavelit report --eval finetuned=runs/gs_eval --history pretrain=runs/gs/history.csv \\
        --out report
    wavelit tune --data wavelit_data --dataset gray_scott_2d --out runs/tune
    wavelit train --config runs/tune/best.json --data wavelit_data \\
        --dataset gray_scott_2d --out runs/gs_best
    wavelit train --data wavelit_data --out runs/fm --size 10M \\
        --datasets gray_scott_2d,kolmogorov_2d,acoustic_scattering_2d --sampling sqrt
    wavelit evaluate --model runs/fm/model.keras --data wavelit_data --out runs/fm_eval
    wavelit report --eval fm=runs/fm_eval --out report_fm
    wavelit demo
"""

import argparse
import sys
import traceback
from typing import List
from typing import Optional

from keras_wavelit import __version__
from keras_wavelit.cli import demo
from keras_wavelit.cli import evaluate
from keras_wavelit.cli import finetune
from keras_wavelit.cli import generate
from keras_wavelit.cli import report
from keras_wavelit.cli import train
from keras_wavelit.cli.common import CommandError
from keras_wavelit.cli.common import HelpFormatter
from keras_wavelit.cli.common import add_backend_argument
from keras_wavelit.cli.common import add_debug_argument
from keras_wavelit.cli.common import select_backend

COMMANDS = (generate, train, finetune, evaluate, report, demo)

# Commands whose interrupted run continues when the same command runs again.
RESUMABLE_COMMANDS = {"train", "finetune", "tune"}

VERSION = f"wavelit (keras-wavelit) {__version__}"


def _add_tune(subparsers):
    try:
        from keras_wavelit.tuning import cli as tune_cli

        return tune_cli.add_parser(subparsers)
    except ImportError as err:
        missing = str(err)
        p = subparsers.add_parser(
            "tune", help="hyperparameter search (needs keras-tuner: the [tune] extra)"
        )

        def unavailable(args):
            raise CommandError(f"needs keras-tuner (pip install 'keras-wavelit[tune]'): {missing}")

        p.set_defaults(func=unavailable)
        return p


def build_parser() -> argparse.ArgumentParser:
    """The `wavelit` argument parser with all subcommands.

    Building it imports Keras (some choices come from the library), so set
    the backend first (`main` does).
    """
    parser = argparse.ArgumentParser(
        prog="wavelit",
        description="keras-wavelit: neural PDE surrogates for Keras 3.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=VERSION)
    add_backend_argument(parser, suppress_default=False)
    add_debug_argument(parser, suppress_default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    _add_tune(subparsers)
    for sub in subparsers.choices.values():
        sub.formatter_class = HelpFormatter
        add_backend_argument(sub, suppress_default=True)
        add_debug_argument(sub, suppress_default=True)
    return parser


def _preparse(argv):
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--backend", default=None)
    pre.add_argument("--debug", action="store_true")
    pre.add_argument("--version", action="store_true")
    known, _ = pre.parse_known_args(argv)
    return known


def _one_line(err):
    text = " ".join(str(err).split())
    ours = type(err).__module__.startswith("keras_wavelit.")
    if text and (ours or isinstance(err, (ValueError, OSError))):
        return text
    name = type(err).__name__
    return f"{name}: {text}" if text else name


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the `wavelit` command line; returns the exit status.

    Args:
        argv: arguments without the program name; defaults to `sys.argv[1:]`.

    Returns:
        0 on success; 1 when the command fails (one line on stderr:
        `wavelit COMMAND: error: ...`, the traceback too with `--debug`); 2
        on a usage error; 130 when interrupted (Ctrl-C).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = _preparse(argv)
    if pre.version:
        print(VERSION)
        return 0
    if pre.backend is not None and pre.backend not in ("jax", "tensorflow", "torch"):
        print(
            f"wavelit: error: --backend {pre.backend}: choose jax, tensorflow or torch",
            file=sys.stderr,
        )
        return 2
    try:
        select_backend(pre.backend)
    except CommandError as err:
        print(f"wavelit: error: {err}", file=sys.stderr)
        return 2
    try:
        parser = build_parser()
    except Exception as err:  # e.g. the chosen backend is not installed
        if pre.debug:
            traceback.print_exc()
        print(f"wavelit: error: {_one_line(err)}", file=sys.stderr)
        return 1
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 2
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    command = args.command
    # Imported here: keras loads only once the backend is chosen.
    from keras_wavelit.training.interrupt import ctrl_c_pending
    from keras_wavelit.training.interrupt import ctrl_c_stays_an_interrupt
    from keras_wavelit.training.interrupt import watch_ctrl_c

    try:
        with watch_ctrl_c(), ctrl_c_stays_an_interrupt():
            status = int(args.func(args) or 0)
            if ctrl_c_pending():  # pressed, but its KeyboardInterrupt was swallowed
                raise KeyboardInterrupt
        return status
    except KeyboardInterrupt:
        if command in RESUMABLE_COMMANDS:
            hint = "run the same command again to resume from the last finished epoch"
            if command == "tune":
                hint = "run the same command again to continue the search"
        else:
            hint = "nothing to resume; run the command again to start over"
        print(f"\nwavelit {command}: interrupted; {hint}.", file=sys.stderr)
        return 130
    except Exception as err:  # every failure of a command: one line, exit status 1
        if pre.debug:
            traceback.print_exc()
        hint = " (rerun with --debug for the traceback)"
        if pre.debug or isinstance(err, CommandError):
            hint = ""
        print(f"wavelit {command}: error: {_one_line(err)}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
