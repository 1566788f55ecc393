"""`wavelit generate`: simulate an embedded dataset in The Well's format."""

import importlib

from keras_wavelit.cli.common import CommandError
from keras_wavelit.cli.common import parse_param
from keras_wavelit.cli.common import positive

# Interrupting `generate` leaves a partial dataset; a rerun needs --overwrite.
RESUMABLE = False


def add_parser(subparsers):
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
        help=f"dataset to generate: {', '.join(sorted(SYSTEMS))} (default: none; "
        "required unless --list)",
    )
    p.add_argument("--out", help="base directory (well_base_path); required unless --list")
    p.add_argument(
        "--resolution",
        type=positive(int),
        default=64,
        help="grid points per side; a multiple of what the default WaveLiT takes "
        "(4 with its defaults)",
    )
    p.add_argument(
        "--trajectories",
        type=positive(int),
        default=None,
        help="trajectories over train/valid/test (default: the dataset's, 32: 24/4/4)",
    )
    p.add_argument(
        "--steps",
        type=positive(int),
        default=None,
        help="snapshots per trajectory (default: the dataset's, 80)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--param",
        type=parse_param,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="system parameter, repeatable, e.g. --param regime=spots (default: none; see --list)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--list", action="store_true", help="list the datasets and their parameters, then exit"
    )
    p.set_defaults(func=run)
    return p


def default_spatial_multiple():
    """Height and width the default `WaveLiT` takes must be multiples of this."""
    from keras_wavelit.models import WaveLiT

    return int(WaveLiT().spatial_multiple)


def run(args):
    from keras_wavelit.data.simulate import SYSTEMS
    from keras_wavelit.data.simulate import simulate

    if args.list:
        for name in sorted(SYSTEMS):
            module = importlib.import_module(SYSTEMS[name])
            print(
                f"{name}: {module.DEFAULT_N_TRAJECTORIES} trajectories x "
                f"{module.DEFAULT_N_STEPS} steps by default"
            )
            for key, value in module.DEFAULT_PARAMS.items():
                print(f"    {key} = {value!r}")
        return 0
    if not args.name or not args.out:
        raise CommandError("NAME and --out are required (or use --list)")
    multiple = default_spatial_multiple()
    if args.resolution % multiple:
        lower = args.resolution // multiple * multiple
        options = [n for n in (lower, lower + multiple) if n > 0]
        raise CommandError(
            f"--resolution {args.resolution}: the default WaveLiT needs a multiple of "
            f"{multiple} (2**(wavelet_levels + pyramid_levels)); try "
            f"{' or '.join(map(str, options))}"
        )
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
