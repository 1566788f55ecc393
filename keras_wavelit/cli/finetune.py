"""`wavelit finetune`: rollout-finetune a trained model (paper Appendix G); resumable."""

import os

from keras_wavelit.cli.common import add_data_args
from keras_wavelit.cli.common import add_loop_args
from keras_wavelit.cli.common import add_run_args
from keras_wavelit.cli.common import positive

RESUMABLE = True


def add_parser(subparsers):
    from keras_wavelit.training.rollout_finetuner import METHODS

    p = subparsers.add_parser(
        "finetune",
        help="rollout-finetune a trained model (resumes an interrupted run in --out)",
        description="Rollout-finetune a one-step model (paper Appendix G). Run the same "
        "command again to resume an interrupted run.",
    )
    p.add_argument("--model", required=True, help="a .keras model from `wavelit train`")
    add_data_args(p)
    p.add_argument("--out", required=True, help="run directory")
    p.add_argument(
        "--method", choices=METHODS, default="scheduled_sampling", help="finetuning method"
    )
    p.add_argument("--unroll", type=positive(int), default=4, help="unrolled steps k")
    p.add_argument("--causal-eps", type=float, default=1.0, help="epsilon of causal_bptt's weights")
    p.add_argument("--noise-std", type=float, default=0.0, help="Gaussian input noise (0: none)")
    p.add_argument(
        "--relative-noise",
        action="store_true",
        help="measure --noise-std in units of each sample's RMS one-step change per field "
        "(paper section 5; as `wavelit train --input-noise`) instead of normalized units",
    )
    p.add_argument("--jitter", action="store_true", help="random periodic shifts")
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate")
    add_loop_args(p, epochs=2)
    add_run_args(p)
    p.set_defaults(func=run)
    return p


def run(args):
    from keras_wavelit.training.runs import finetune_run

    finetune_run(
        args.model,
        args.data,
        args.dataset,
        args.out,
        method=args.method,
        unroll=args.unroll,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        validation_steps=args.validation_steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        causal_eps=args.causal_eps,
        noise_std=args.noise_std,
        relative_noise=args.relative_noise,
        jitter=args.jitter,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
        overwrite=args.overwrite,
    )
    print(os.path.join(args.out, "model.keras"))
    return 0
