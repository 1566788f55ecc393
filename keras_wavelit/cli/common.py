"""What every `wavelit` subcommand shares: help format, backend choice, errors."""

import argparse
import json
import os

BACKENDS = ("jax", "tensorflow", "torch")


class HelpFormatter(argparse.HelpFormatter):
    """Shows every option's default: `(default: X)`, `(default: off)` or `(required)`.

    Help texts that already say "default" are left as they are.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default is argparse.SUPPRESS:
            return text
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            return text
        if type(action).__name__ == "_ChoicesPseudoAction":  # a subcommand's line
            return text
        if action.required:
            return f"{text} (required)"
        if action.nargs == 0 and action.default is False:
            return f"{text} (default: off)"
        if action.default is None or action.default == []:
            return f"{text} (default: none)"
        return f"{text} (default: %(default)s)"


class CommandError(Exception):
    """A user error found by the command line itself (printed as one line, exit 1)."""


def keras_default_backend():
    """The backend Keras would load, found without importing Keras.

    Keras's own rule: `$KERAS_BACKEND`, else `"backend"` in
    `$KERAS_HOME/keras.json` (default `~/.keras/keras.json`), else
    `"tensorflow"`.

    Returns:
        `(name, where)`: the backend and where the choice comes from.
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "$KERAS_BACKEND"
    if "KERAS_HOME" in os.environ:
        home = os.environ["KERAS_HOME"]
    else:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    path = os.path.join(home, "keras.json")
    try:
        with open(path) as f:
            backend = json.load(f).get("backend")
        if backend:
            return backend, path
    except (OSError, ValueError, AttributeError):
        pass
    return "tensorflow", "Keras's default"


def backend_help():
    name, where = keras_default_backend()
    return (
        "Keras backend to run on; must be given before Keras loads (default: what Keras "
        f"would pick: $KERAS_BACKEND, else ~/.keras/keras.json, else tensorflow; "
        f"here: {name}, from {where})"
    )


def add_backend_argument(parser, suppress_default):
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=argparse.SUPPRESS if suppress_default else None,
        help=backend_help(),
    )


def add_debug_argument(parser, suppress_default):
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if suppress_default else False,
        help="on an error, show the full traceback instead of one line (default: off)",
    )


def select_backend(name):
    """Sets `KERAS_BACKEND` to `name` before Keras loads.

    Raises:
        CommandError: Keras is already loaded with another backend.
    """
    import sys

    if name is None:
        return
    keras_config = sys.modules.get("keras.src.backend.config")
    if keras_config is not None:
        loaded = keras_config.backend()
        if loaded != name:
            raise CommandError(
                f"--backend {name}: Keras is already loaded with the {loaded} backend in "
                "this process; start a new process (or set KERAS_BACKEND before Python starts)."
            )
        return
    os.environ["KERAS_BACKEND"] = name


def parse_param(text):
    """`KEY=VALUE` with VALUE parsed as int, float, bool, comma tuple or string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)

    def convert(v):
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


def labelled(items):
    """`["LABEL=PATH", "PATH"]` as `{label: path}` (label: the folder name when absent)."""
    out = {}
    for item in items:
        label, _, path = item.rpartition("=")
        out[label or os.path.basename(os.path.normpath(path))] = path
    return out


def add_data_args(p, dataset_required=True, dataset_help="dataset name under DATA/datasets"):
    p.add_argument("--data", required=True, help="data directory (well_base_path)")
    p.add_argument("--dataset", required=dataset_required, default=None, help=dataset_help)


def dataset_list(text):
    """`"a,b,c"` as `["a", "b", "c"]` (argparse type of `--datasets`)."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated dataset names, got {text!r}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"dataset(s) {', '.join(repeated)} given twice")
    return names


def add_loop_args(p, epochs):
    p.add_argument("--epochs", type=int, default=epochs, help="training epochs")
    p.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="batches per epoch (default: the whole training split)",
    )
    p.add_argument(
        "--validation-steps",
        type=int,
        default=None,
        help="validation batches per epoch (default: the whole validation split)",
    )
    p.add_argument("--batch-size", type=int, default=4, help="batch size")
    p.add_argument("--seed", type=int, default=0, help="random seed of weights and shuffling")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_run_args(p):
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished, failed or differently configured run in --out "
        "(without it such a run is refused; an interrupted run of the same "
        "configuration resumes)",
    )


def positive(kind=int):
    def check(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    check.__name__ = kind.__name__
    return check
