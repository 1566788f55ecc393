"""Search WaveLiT hyperparameters under a parameter budget, then train the best.

    python examples/tune.py                  # the embedded acoustics dataset at 32x32
    KERAS_BACKEND=torch python examples/tune.py --trials 4

Simulates a small `acoustic_scattering_2d` dataset, runs a Bayesian search of
a few short trials within 200k parameters (narrowed space, a few minutes on
two CPU cores), prints one line per trial, writes `best.json` and trains the
best configuration once more. The same search from the command line:

    wavelit tune --data DATA --dataset acoustic_scattering_2d --out runs/tune \\
        --tuner bayesian --trials 4 --max-params 2e5 --epochs 1 --steps 20
"""

import argparse
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

import keras_wavelit as kw  # noqa: E402


def main():
    p = argparse.ArgumentParser(description="A small budgeted WaveLiT search.")
    p.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "wavelit_tune_example"))
    p.add_argument("--trials", type=int, default=4)
    p.add_argument("--max-params", type=float, default=2e5)
    p.add_argument("--steps", type=int, default=20, help="training batches per trial")
    args = p.parse_args()

    data = os.path.join(args.out, "data")
    if not os.path.isdir(os.path.join(data, "datasets", "acoustic_scattering_2d")):
        kw.data.simulate(
            "acoustic_scattering_2d", data, resolution=32, n_trajectories=8, n_steps=24, verbose=0
        )

    def split(name):
        return kw.data.WellSequence(
            data, "acoustic_scattering_2d", name, n_steps_input=4, batch_size=4
        )

    train, valid = split("train"), split("valid")
    x, _ = train[0]  # {"fields": (B, 4, 32, 32, 3), "constants": (B, 32, 32, 2)}

    hypermodel = kw.tuning.WaveLiTHyperModel(
        x["fields"].shape[1:],
        constants_channels=x["constants"].shape[-1],
        # Narrow the default space; anything not named keeps its default range.
        space={"dim": [16, 32, 48, 64], "depth": (1, 6), "pyramid_levels": (0, 1)},
        max_params=args.max_params,
        boundary=kw.data.boundary_mode(os.path.join(data, "datasets", "acoustic_scattering_2d")),
        warmup_steps=max(1, args.steps // 10),
    )
    tuner = kw.tuning.make_tuner(
        hypermodel,
        "bayesian",
        max_trials=args.trials,
        directory=args.out,
        project_name="search",  # run again to continue an interrupted search
        progress=print,
    )
    tuner.search(train, validation_data=valid, epochs=1, steps_per_epoch=args.steps, verbose=0)

    best = kw.tuning.write_best_config(tuner, os.path.join(args.out, "best.json"))
    print("best:", best)

    # Train the best configuration again (`wavelit train --config best.json`
    # does the same from the command line).
    keras.backend.clear_session()
    model = hypermodel.build_model(best)
    model.fit(train, validation_data=valid, epochs=1, steps_per_epoch=args.steps, verbose=0)
    print("parameters:", model.count_params(), "<=", int(args.max_params))
    print("validation:", model.evaluate(valid, verbose=0, return_dict=True))


if __name__ == "__main__":
    main()
