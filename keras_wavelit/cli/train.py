"""`wavelit train`: train a WaveLiT (or, with `--datasets`, a WaveLiT-FM); resumable."""

import argparse
import json
import os

from keras_wavelit.cli.common import CommandError
from keras_wavelit.cli.common import add_data_args
from keras_wavelit.cli.common import add_loop_args
from keras_wavelit.cli.common import add_run_args
from keras_wavelit.cli.common import dataset_list
from keras_wavelit.cli.common import positive
from keras_wavelit.cli.precision import add_precision_args

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


def non_negative(text):
    """argparse type: a float >= 0."""
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


non_negative.__name__ = "float"

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
        help="train a WaveLiT or a WaveLiT-FM (resumes an interrupted run in --out)",
        description="Train a WaveLiT with the paper's recipe (Appendix E) on a dataset in "
        "The Well's format (--dataset), or one WaveLiT-FM on several datasets (--datasets, "
        "paper section 3.5; each step draws a dataset with --sampling, and history.csv logs "
        "p_<dataset> per epoch). Run the same command again to resume an interrupted run; a "
        "finished run or one with other arguments in --out is refused unless --overwrite. "
        "A non-finite loss stops the run with exit status 1 and no model.keras.",
    )
    add_data_args(
        p,
        dataset_required=False,
        dataset_help="dataset name under DATA/datasets: train a one-dataset WaveLiT "
        "(give this or --datasets)",
    )
    p.add_argument(
        "--datasets",
        type=dataset_list,
        default=None,
        metavar="A,B,...",
        help="comma-separated dataset names under DATA/datasets: train one WaveLiT-FM on all "
        "of them (paper section 3.5; give this or --dataset) (default: none)",
    )
    from keras_wavelit.data.sampling import SAMPLING_METHODS

    p.add_argument(
        "--sampling",
        choices=SAMPLING_METHODS,
        default="sqrt",
        help="with --datasets: how each step picks its dataset (paper Appendix F); sqrt: "
        "p_i proportional to the square root of dataset i's tokens N_i T_i",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=0.2,
        help="with --datasets --sampling temperature: the temperature T",
    )
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help='a best.json of `wavelit tune`: {"model": {WaveLiT arguments}, "optimizer": '
        '{"learning_rate", "weight_decay"}, "loss": {"alpha", "beta"}}; flags given '
        "explicitly override it (default: none)",
    )
    # Imported here: keras loads only once the backend is chosen.
    from keras_wavelit.models.wavelit_presets import WAVELIT_PRESETS

    p.add_argument(
        "--size",
        choices=[*WAVELIT_PRESETS, "10M"],
        default=None,
        help="a preset: 1.2M, 1.2M-fast (the same budget, 2.3-3x the steps per second) or "
        "9.5M for a WaveLiT (--dataset), 10M for a WaveLiT-FM "
        "(--datasets) (default: none: the model's default architecture)",
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
    p.add_argument(
        "--input-noise",
        type=non_negative,
        default=None,
        metavar="X",
        help="long-rollout stability (paper section 5): Gaussian noise on the input frames "
        "during training, X times each sample's RMS one-step change per field (default: the "
        "recipe's with --dataset, 0.1 for 'wavelit' and 0 for 'paper'; 0 with --datasets)",
    )
    p.add_argument(
        "--recipe",
        choices=("wavelit", "paper"),  # keras_wavelit.models.RECIPES, without importing Keras
        default=None,
        help="training recipe of a WaveLiT (--dataset): 'wavelit' (default) is the paper's "
        "(Appendix E) with a warm-up that adapts to the run and input noise 0.1 for "
        "long-rollout stability; 'paper' is the paper's plain recipe (5,000 warm-up steps, "
        "no input noise). --warmup-steps and --input-noise override it",
    )
    p.add_argument(
        "--detail-weight",
        type=non_negative,
        default=None,
        metavar="Y",
        help="weight of the wavelet loss's detail subbands relative to the approximation "
        "(paper section 5; below 1 asks less of the fine scales) (default: the --config "
        "file's, else 1)",
    )
    add_loop_args(p, epochs=10)
    add_run_args(p)
    add_precision_args(p)
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


# Flags a WaveLiT-FM does not take (its lifting and heads use one DWT level).
_NOT_FM = {
    "wavelet_levels": "--wavelet-levels",
    "config": "--config",
}


def fm_model_kwargs(args):
    """WaveLiTFM arguments from the flags."""
    for dest, flag in _NOT_FM.items():
        if getattr(args, dest, None) is not None:
            raise CommandError(f"{flag} is not supported with --datasets (a WaveLiT-FM).")
    from keras_wavelit.models.wavelit_presets import WAVELIT_PRESETS

    if args.size in WAVELIT_PRESETS:
        raise CommandError(
            f"--size {args.size} is a WaveLiT preset; a WaveLiT-FM (--datasets) has 10M."
        )
    kwargs = {}
    for dest, name in _MODEL_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None and dest != "wavelet_levels":
            kwargs[name] = value
    if args.residual:
        kwargs["predict_residual"] = True
    if args.boundary not in (None, "auto"):
        kwargs["boundary"] = args.boundary  # the trunk's; each dataset has its own
    return kwargs


def _check_dataset_flags(args):
    if args.dataset is not None and args.datasets is not None:
        raise CommandError(
            "give either --dataset (one WaveLiT) or --datasets (one WaveLiT-FM), not both."
        )
    if args.dataset is None and args.datasets is None:
        raise CommandError("give --dataset NAME (a WaveLiT) or --datasets A,B,... (a WaveLiT-FM).")
    if args.dataset is not None and args.size == "10M":
        raise CommandError("--size 10M is the WaveLiT-FM preset: use it with --datasets.")
    if args.datasets is not None and args.recipe is not None:
        raise CommandError(
            "--recipe applies to a WaveLiT (--dataset); a WaveLiT-FM takes --warmup-steps and "
            "--input-noise instead."
        )


def _optimizer_settings(args, optimizer):
    learning_rate = args.lr
    if learning_rate is None:
        learning_rate = optimizer.get("learning_rate", DEFAULT_LEARNING_RATE)
    weight_decay = args.weight_decay
    if weight_decay is None:
        weight_decay = optimizer.get("weight_decay")
    warmup_steps = args.warmup_steps
    if warmup_steps is None:
        warmup_steps = optimizer.get("warmup_steps")
    return learning_rate, warmup_steps, weight_decay


def run_fm(args, distribution):
    from keras_wavelit.training.runs import train_fm_run

    kwargs = fm_model_kwargs(args)
    learning_rate, warmup_steps, weight_decay = _optimizer_settings(args, {})
    loss = None if args.detail_weight is None else {"detail_weight": args.detail_weight}
    train_fm_run(
        args.data,
        args.datasets,
        args.out,
        sampling=args.sampling,
        temperature=args.temperature,
        model_kwargs=kwargs,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        batch_size=args.batch_size,
        n_steps_input=args.n_steps_input,
        learning_rate=learning_rate,
        warmup_steps=warmup_steps,
        weight_decay=weight_decay,
        loss=loss,
        input_noise=args.input_noise or 0.0,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        overwrite=args.overwrite,
        check_finite=args.check_finite,
        distribution=distribution,
    )


def run(args):
    from keras_wavelit.cli.precision import apply_precision
    from keras_wavelit.training.runs import train_run

    _check_dataset_flags(args)
    apply_precision(args, verbose=not args.quiet)
    if args.datasets is not None:
        fm_model_kwargs(args)  # flag errors before any distributed setup
        distribution = None
        dist = _distributed_cli()
        if dist is not None:
            distribution = dist.configure(args)
        run_fm(args, distribution)
        if distribution is None or distribution.is_chief:
            print(os.path.join(args.out, "model.keras"))
        return 0

    config_model, optimizer, loss = ({}, {}, {})
    if args.config:
        config_model, optimizer, loss = read_config(args.config)
    learning_rate, warmup_steps, weight_decay = _optimizer_settings(args, optimizer)
    if args.detail_weight is not None:
        loss = dict(loss, detail_weight=args.detail_weight)
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
        input_noise=args.input_noise,
        recipe=args.recipe,
    )
    if distribution is None or distribution.is_chief:
        print(os.path.join(args.out, "model.keras"))
    return 0
