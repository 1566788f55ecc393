"""`wavelit demo`: simulate, train, finetune, evaluate and report in one go."""

RESUMABLE = False


def add_parser(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="the main job: simulate, train, finetune, evaluate, report",
        description="Simulate an embedded dataset, train a WaveLiT, rollout-finetune it, "
        "evaluate both with The Well's metrics and write OUT/report.md with plots "
        "(sized for about 15 minutes on a 2-core CPU; --quick for a few-minute smoke run).",
    )
    p.add_argument("--out", default="report", help="report directory")
    p.add_argument("--dataset", default="acoustic_scattering_2d", help="embedded dataset")
    p.add_argument("--quick", action="store_true", help="a few-minute smoke run")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args):
    from keras_wavelit.demo import run_demo

    run_demo(
        args.out,
        dataset=args.dataset,
        quick=args.quick,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    return 0
