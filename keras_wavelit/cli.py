"""The `wavelit` command line.

Subcommands register themselves in `build_parser` through one
`_add_<name>(subparsers)` function each, which sets `func` to the handler
`_cmd_<name>(args) -> int`.

Usage:

    wavelit generate gray_scott_2d --out wavelit_data
    wavelit generate kolmogorov_2d --out wavelit_data --resolution 64 \\
        --trajectories 32 --steps 80 --seed 0
    python -m keras_wavelit generate --list
"""

import argparse
import sys
from typing import List, Optional


def _parse_param(text: str):
    """`KEY=VALUE` with VALUE parsed as int, float, bool, comma tuple or string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)

    def convert(v: str):
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


def _add_generate(subparsers) -> None:
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
    p.add_argument("name", nargs="?", choices=sorted(SYSTEMS), metavar="NAME",
                   help=f"dataset to generate: {', '.join(sorted(SYSTEMS))}")
    p.add_argument("--out", help="base directory (well_base_path)")
    p.add_argument("--resolution", type=int, default=64, help="grid points per side (default 64)")
    p.add_argument("--trajectories", type=int, default=None,
                   help="trajectories over train/valid/test (default 32: 24/4/4)")
    p.add_argument("--steps", type=int, default=None, help="snapshots per trajectory (default 80)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--param", type=_parse_param, action="append", default=[], metavar="KEY=VALUE",
                   help="system parameter, repeatable (e.g. --param regime=spots)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list the datasets and their parameters, then exit")
    p.set_defaults(func=_cmd_generate)


def _cmd_generate(args) -> int:
    import importlib

    from keras_wavelit.data.simulate import SYSTEMS, simulate

    if args.list:
        for name in sorted(SYSTEMS):
            module = importlib.import_module(SYSTEMS[name])
            print(f"{name}: {module.DEFAULT_N_TRAJECTORIES} trajectories x {module.DEFAULT_N_STEPS} steps by default")
            for key, value in module.DEFAULT_PARAMS.items():
                print(f"    {key} = {value!r}")
        return 0
    if not args.name or not args.out:
        print("wavelit generate: error: NAME and --out are required (or use --list)", file=sys.stderr)
        return 2
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


def build_parser() -> argparse.ArgumentParser:
    """The `wavelit` argument parser with all subcommands."""
    parser = argparse.ArgumentParser(
        prog="wavelit",
        description="keras-wavelit: neural PDE surrogates for Keras 3.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_generate(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the `wavelit` command line; returns the exit status.

    Args:
        argv: arguments without the program name; defaults to `sys.argv[1:]`.

    Returns:
        0 on success, 1 when the command fails with a data error (the message
        is printed to stderr), 2 on a usage error.
    """
    from keras_wavelit.data.errors import WellDataError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (WellDataError, ImportError) as err:
        print(f"wavelit {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
