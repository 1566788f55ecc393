"""`wavelit tune`: hyperparameter search on a dataset in The Well's format.

`add_parser(subparsers)` defines the subcommand and `run(args)` runs it; the
`wavelit` command line registers both. The search writes `OUT/best.json`:

    {"model": {...WaveLiT arguments...},
     "optimizer": {"learning_rate": ..., "weight_decay": ..., "warmup_steps": ...},
     "loss": {"alpha": ..., "beta": ...},
     "objective": "val_vrmse", "score": ...}

which `wavelit train --config OUT/best.json` trains (`WaveLiT(**model)`).
"""

import json
import os

#: What `wavelit tune` writes in `--out`.
BEST_FILE = "best.json"
TRIALS_FILE = "trials.json"
PROJECT_DIR = "kerastuner"


def add_parser(subparsers):
    """Adds the `tune` subcommand to an `argparse` subparsers object.

    Args:
        subparsers: the object returned by `ArgumentParser.add_subparsers`.

    Returns:
        The `tune` parser (its `func` default is `run`).
    """
    from keras_wavelit.tuning.objectives import OBJECTIVES
    from keras_wavelit.tuning.tuners import TUNER_NAMES

    p = subparsers.add_parser(
        "tune",
        help="search WaveLiT hyperparameters under a parameter budget (KerasTuner)",
        description=(
            "Search the WaveLiT architecture and training recipe with KerasTuner on a "
            "dataset in The Well's format, never training a model over --max-params. "
            "Writes OUT/best.json (for `wavelit train --config`), OUT/trials.json and "
            "the KerasTuner project in OUT/kerastuner; run the same command again to "
            "continue an interrupted search. See docs/tuning.md."
        ),
    )
    p.add_argument("--data", required=True, help="data directory (well_base_path)")
    p.add_argument("--dataset", required=True, help="dataset name under DATA/datasets")
    p.add_argument("--out", required=True, help="output directory of the search")
    p.add_argument(
        "--tuner",
        choices=TUNER_NAMES,
        default="bayesian",
        help="search algorithm (default: bayesian)",
    )
    p.add_argument(
        "--trials",
        type=int,
        default=12,
        help="number of trials; with hyperband a cap on its schedule (default: 12)",
    )
    p.add_argument(
        "--max-params",
        type=float,
        default=1.2e6,
        help="parameter budget; larger configurations are never trained (default: 1.2e6)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=3,
        help="epochs per trial; hyperband's largest number of epochs (default: 3)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=50,
        help="training batches per epoch (default: 50)",
    )
    p.add_argument(
        "--validation-steps",
        type=int,
        default=None,
        help="validation batches per epoch (default: the whole validation split)",
    )
    p.add_argument("--batch-size", type=int, default=4, help="batch size (default: 4)")
    p.add_argument(
        "--n-steps-input", type=int, default=4, help="input time steps T_in (default: 4)"
    )
    p.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default="val_vrmse",
        help="val_vrmse: one-step validation VRMSE; val_rollout_vrmse: median rollout "
        "VRMSE of validation trajectories over --rollout-window (default: val_vrmse)",
    )
    p.add_argument(
        "--rollout-window",
        default="6:12",
        metavar="START:END",
        help="rollout steps averaged by val_rollout_vrmse, 1-based, inclusive (default: 6:12)",
    )
    p.add_argument(
        "--rollout-trajectories",
        type=int,
        default=4,
        help="validation trajectories rolled out by val_rollout_vrmse (default: 4)",
    )
    p.add_argument(
        "--space",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="fix or narrow the search space, repeatable: KEY=a,b,c (choice), "
        "KEY=low:high (range), KEY=value (fixed), KEY=none (drop); e.g. "
        "--space dim=64,96 --space depth=4:10 --space wavelet=bior2.2 (default: none)",
    )
    p.add_argument(
        "--boundary",
        choices=["auto", "reflect", "periodic"],
        default="auto",
        help="boundary mode; auto: periodic when every boundary condition of the data "
        "is periodic, else reflect (default: auto)",
    )
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=None,
        help="learning-rate warm-up steps (default: a tenth of the steps of a trial)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh instead of continuing the search in --out",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)
    return p


def _window(text):
    try:
        start, end = (int(v) for v in str(text).split(":"))
    except ValueError:
        raise ValueError(f"--rollout-window must be START:END, got {text!r}.") from None
    return start, end


def run(args):
    """Runs `wavelit tune` from parsed arguments; returns the exit status.

    Args:
        args: an `argparse.Namespace` with the options of `add_parser`.

    Returns:
        0 on success.
    """
    from keras_wavelit.data import WellSequence
    from keras_wavelit.data import boundary_mode
    from keras_wavelit.data import resolve_dataset_dir
    from keras_wavelit.tuning.hypermodel import WaveLiTHyperModel
    from keras_wavelit.tuning.search_space import parse_space_item
    from keras_wavelit.tuning.tuners import make_tuner
    from keras_wavelit.tuning.tuners import trial_records
    from keras_wavelit.tuning.tuners import write_best_config

    space = dict(parse_space_item(item) for item in args.space)
    boundary = args.boundary
    if boundary == "auto":
        boundary = boundary_mode(resolve_dataset_dir(args.data, args.dataset))

    def sequence(split, **kwargs):
        return WellSequence(
            args.data,
            args.dataset,
            split,
            n_steps_input=args.n_steps_input,
            seed=args.seed,
            **kwargs,
        )

    train = sequence("train", batch_size=args.batch_size, shuffle=True)
    valid = sequence("valid", batch_size=args.batch_size, shuffle=False)
    x, _ = train[0]
    fields = x["fields"] if isinstance(x, dict) else x
    constants = x["constants"].shape[-1] if isinstance(x, dict) else 0

    rollout_data = None
    window = _window(args.rollout_window)
    if args.objective == "val_rollout_vrmse":
        trajectories = sequence(
            "valid",
            batch_size=args.rollout_trajectories,
            full_trajectory=True,
            max_rollout_steps=window[1],
        )
        rollout_data = trajectories[0]

    warmup = args.warmup_steps
    if warmup is None:
        warmup = max(1, (args.epochs * args.steps) // 10)
    hypermodel = WaveLiTHyperModel(
        fields.shape[1:],
        constants_channels=constants,
        space=space,
        max_params=int(args.max_params),
        boundary=boundary,
        objective=args.objective,
        rollout_data=rollout_data,
        rollout_window=window,
        warmup_steps=warmup,
        seed=args.seed,
    )
    os.makedirs(args.out, exist_ok=True)
    tuner = make_tuner(
        hypermodel,
        args.tuner,
        max_trials=args.trials,
        max_epochs=args.epochs,
        directory=args.out,
        project_name=PROJECT_DIR,
        overwrite=args.overwrite,
        seed=args.seed,
        progress=None if args.quiet else lambda line: print(line, flush=True),
    )
    tuner.search(
        train,
        validation_data=valid,
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        validation_steps=args.validation_steps,
        verbose=0,
    )
    if os.environ.get("KERASTUNER_ORACLE_IP") and os.environ.get("KERASTUNER_TUNER_ID") != "chief":
        # A worker of a distributed search: the chief writes the results.
        if not args.quiet:
            print(f"worker {tuner.tuner_id}: the search is over")
        return 0
    with open(os.path.join(args.out, TRIALS_FILE), "w") as f:
        json.dump(trial_records(tuner), f, indent=2, default=float)
        f.write("\n")
    best = write_best_config(tuner, os.path.join(args.out, BEST_FILE))
    if not args.quiet:
        print(f"best {best['objective']}={best['score']:.4g}: {json.dumps(best['model'])}")
    print(os.path.join(args.out, BEST_FILE))
    return 0
