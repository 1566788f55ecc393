"""`wavelit train`: train a WaveLiT with the paper's recipe; resumable."""

import json
import os

from keras_wavelit.cli.common import CommandError
from keras_wavelit.cli.common import add_data_args
from keras_wavelit.cli.common import add_loop_args
from keras_wavelit.cli.common import add_run_args
from keras_wavelit.cli.common import positive

# Interrupted runs resume when the same command is run again.
RESUMABLE = True

DEFAULT_LEARNING_RATE = 1e-3

# Model arguments that flags set (flag dest -> WaveLiT argument).
_MODEL_FLAGS = {
    "size": "size",
    "dim": "dim",
    "depth": "depth",
    "num_heads": "num_heads",
    "pyramid_levels": "pyramid_levels",
    "wavelet_levels": "wavelet_levels",
    "wavelet": "wavelet",
}
# Old WaveLiT argument names a --config file may still use.
_RENAMED = {"mode": "boundary", "levels": "wavelet_levels", "fpn_levels": "pyramid_levels"}


def _distributed_cli():
    try:
        from keras_wavelit.distributed import cli
    except ImportError:
        return None
    return cli


def add_parser(subparsers):
    from keras_wavelit.ops.boundary import BOUNDARY_MODES

    p = subparsers.add_parser(
        "train",
        help="train a WaveLiT (resumes an interrupted run in --out)",
        description="Train a WaveLiT with the paper's recipe (Appendix E) on a dataset in "
        "The Well's format. Run the same command again to resume an interrupted run; a "
        "finished run or one with other arguments in --out is refused unless --overwrite. "
        "A non-finite loss stops the run with exit status 1 and no model.keras.",
    )
    add_data_args(p)
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help='a best.json of `wavelit tune`: {"model": {WaveLiT arguments}, "optimizer": '
        '{"learning_rate", "weight_decay"}, "loss": {"alpha", "beta"}}; flags given '
        "explicitly override it (default: none)",
    )
    p.add_argument(
        "--size",
        choices=["1.2M", "9.5M"],
        default=None,
        help="a preset (default: none: WaveLiT's default architecture)",
    )
    p.add_argument("--dim", type=positive(int), help="token width (default: the model's)")
    p.add_argument("--depth", type=positive(int), help="blocks (default: the model's)")
    p.add_argument(
        "--num-heads", dest="num_heads", type=positive(int), help="heads (default: the model's)"
    )
    p.add_argument(
        "--pyramid-levels",
        "--fpn-levels",
        dest="pyramid_levels",
        type=int,
        help="coarser levels of every SharedFPN (--fpn-levels: old name) (default: the model's)",
    )
    p.add_argument(
        "--wavelet-levels",
        "--levels",
        dest="wavelet_levels",
        type=positive(int),
        help="DWT levels of the tokenizer (--levels: old name) (default: the model's)",
    )
    p.add_argument("--wavelet", help="PyWavelets wavelet name (default: the model's)")
    p.add_argument("--residual", action="store_true", help="predict x_last + f(x)")
    p.add_argument(
        "--boundary",
        "--mode",
        dest="boundary",
        choices=("auto",) + tuple(BOUNDARY_MODES),
        default=None,
        metavar="MODE",
        help=f"boundary mode of the DWT and convolutions: auto, {', '.join(BOUNDARY_MODES)} "
        "(--mode: old name); auto: periodic "
        "when every boundary condition of the data is periodic, else reflect "
        "(default: the --config file's, else auto)",
    )
    p.add_argument("--n-steps-input", type=positive(int), default=4, help="input time steps T_in")
    p.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"peak learning rate (default: the --config file's, else {DEFAULT_LEARNING_RATE})",
    )
    p.add_argument(
        "--weight-decay",
        type=float,
        default=None,
        help="AdamW weight decay (default: the --config file's, else the model's)",
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=None,
        help="linear warm-up steps of the learning rate (default: the --config file's, else "
        "the model's: a tenth of the steps this run will take, at most 5,000)",
    )
    add_loop_args(p, epochs=10)
    add_run_args(p)
    p.add_argument(
        "--check-finite",
        action="store_true",
        help="read the training and validation data once before training and stop at the "
        "first NaN or infinite value, naming file, trajectory, step and field",
    )
    dist = _distributed_cli()
    if dist is not None:
        dist.add_arguments(p)
    p.set_defaults(func=run)
    return p


def read_config(path):
    """A `wavelit tune` best-config file as `(model, optimizer, loss)` dicts."""
    try:
        with open(path) as f:
            config = json.load(f)
    except OSError as err:
        raise CommandError(f"--config {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise CommandError(f"--config {path}: not valid JSON ({err})") from None
    if not isinstance(config, dict):
        raise CommandError(f"--config {path}: expected a JSON object, got {type(config).__name__}")
    parts = []
    for key in ("model", "optimizer", "loss"):
        value = config.get(key) or {}
        if not isinstance(value, dict):
            raise CommandError(f"--config {path}: {key!r} must be an object, got {value!r}")
        parts.append(dict(value))
    unknown = sorted(set(parts[1]) - {"learning_rate", "weight_decay", "warmup_steps"})
    if unknown:
        raise CommandError(f"--config {path}: unknown optimizer settings {unknown}")
    model = {_RENAMED.get(k, k): v for k, v in parts[0].items()}
    return model, parts[1], parts[2]


def model_kwargs(args, config_model=None):
    """WaveLiT arguments: the --config file's, overridden by explicit flags."""
    kwargs = dict(config_model or {})
    for dest, name in _MODEL_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            kwargs[name] = value
    if args.residual:
        kwargs["predict_residual"] = True
    if args.boundary is not None:
        kwargs["boundary"] = args.boundary
    kwargs.setdefault("boundary", "auto")
    return kwargs


def run(args):
    from keras_wavelit.training.runs import train_run

    config_model, optimizer, loss = ({}, {}, {})
    if args.config:
        config_model, optimizer, loss = read_config(args.config)
    learning_rate = args.lr
    if learning_rate is None:
        learning_rate = optimizer.get("learning_rate", DEFAULT_LEARNING_RATE)
    weight_decay = args.weight_decay
    if weight_decay is None:
        weight_decay = optimizer.get("weight_decay")
    warmup_steps = args.warmup_steps
    if warmup_steps is None:
        warmup_steps = optimizer.get("warmup_steps")
    distribution = None
    dist = _distributed_cli()
    if dist is not None:
        distribution = dist.configure(args)
    train_run(
        args.data,
        args.dataset,
        args.out,
        model_kwargs=model_kwargs(args, config_model),
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        batch_size=args.batch_size,
        n_steps_input=args.n_steps_input,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        loss=loss or None,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        overwrite=args.overwrite,
        check_finite=args.check_finite,
        distribution=distribution,
    )
    if distribution is None or distribution.is_chief:
        print(os.path.join(args.out, "model.keras"))
    return 0
