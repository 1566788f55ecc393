"""The main job: data, training, rollout finetuning, evaluation and a report.

`wavelit demo` runs `run_demo`: it simulates an embedded dataset in The
Well's format, trains a small WaveLiT with the paper's recipe (Appendix E),
finetunes it with scheduled sampling (Appendix G), evaluates both models with
The Well's VRMSE (one-step over every test window, rollout windows, error
growth) in physical units, and writes `report.md` with plots. Sized to
finish in under 10 minutes on an idle 2-core CPU.
"""

import json
import os
import time

from keras_wavelit.machine import cpu_name
from keras_wavelit.machine import load_average

#: Demo settings; `quick` shrinks everything for a smoke run.
DEMO_SETTINGS = {
    "full": {
        "resolution": 32,
        "trajectories": 32,
        "steps": 80,
        "model": {
            "dim": 48,
            "depth": 4,
            "num_heads": 4,
            "pyramid_levels": 1,
            "predict_residual": True,
        },
        "epochs": 6,
        "steps_per_epoch": 100,
        "validation_steps": 10,
        "learning_rate": 1e-3,
        "warmup_steps": 60,
        "finetune_epochs": 2,
        "finetune_steps_per_epoch": 40,
        "unroll": 3,
        "max_trajectories": 4,
    },
    "quick": {
        "resolution": 32,
        "trajectories": 8,
        "steps": 24,
        "model": {
            "dim": 16,
            "depth": 1,
            "num_heads": 2,
            "pyramid_levels": 1,
            "predict_residual": True,
        },
        "epochs": 2,
        "steps_per_epoch": 4,
        "validation_steps": 2,
        "learning_rate": 1e-3,
        "warmup_steps": 4,
        "finetune_epochs": 1,
        "finetune_steps_per_epoch": 2,
        "unroll": 2,
        "max_trajectories": 2,
    },
}


def _load_text():
    load = load_average()
    if load is None:
        return ""
    return f", load average {load[0]:.2f} when the report was written (other jobs slow the timings)"


def _phase(times, name, title, verbose):
    """A context manager timing one phase into `times[name]`."""
    import contextlib

    @contextlib.contextmanager
    def timed():
        if verbose:
            print(f"\n== {title}", flush=True)
        start = time.time()
        yield
        times[name] = time.time() - start

    return timed()


def _simulate(cfg, dataset, data_dir, seed, verbose):
    from keras_wavelit.data.simulate import dataset_dir
    from keras_wavelit.data.simulate import simulate

    if os.path.exists(os.path.join(dataset_dir(data_dir, dataset), "stats.yaml")):
        return
    simulate(
        dataset,
        data_dir,
        resolution=cfg["resolution"],
        n_trajectories=cfg["trajectories"],
        n_steps=cfg["steps"],
        seed=seed,
        verbose=verbose,
        overwrite=True,
    )


def _train(cfg, dataset, data_dir, run_dir, seed, verbose):
    from keras_wavelit.training.runs import train_run

    model, _ = train_run(
        data_dir,
        dataset,
        run_dir,
        model_kwargs=cfg["model"],
        epochs=cfg["epochs"],
        steps_per_epoch=cfg["steps_per_epoch"],
        validation_steps=cfg["validation_steps"],
        learning_rate=cfg["learning_rate"],
        warmup_steps=cfg["warmup_steps"],
        seed=seed,
        verbose=verbose,
        overwrite=True,  # the demo simulates its data anew, so its runs start anew too
    )
    return model


def _finetune(cfg, dataset, data_dir, pre_dir, run_dir, seed, verbose):
    from keras_wavelit.training.runs import finetune_run

    finetune_run(
        os.path.join(pre_dir, "model.keras"),
        data_dir,
        dataset,
        run_dir,
        method="scheduled_sampling",
        unroll=cfg["unroll"],
        epochs=cfg["finetune_epochs"],
        steps_per_epoch=cfg["finetune_steps_per_epoch"],
        validation_steps=cfg["validation_steps"],
        learning_rate=cfg["learning_rate"] / 5,
        seed=seed,
        verbose=verbose,
        overwrite=True,
    )


def _evaluate(cfg, dataset, data_dir, runs, work, verbose):
    """Evaluates each `label -> run directory`; returns `label -> evaluation directory`."""
    from keras_wavelit.evaluation.runs import evaluate_run

    evals = {}
    for label, run in runs.items():
        d = os.path.join(work, "eval_" + os.path.basename(run))
        evaluate_run(
            os.path.join(run, "model.keras"),
            data_dir,
            dataset,
            d,
            max_trajectories=cfg["max_trajectories"],
            verbose=verbose,
        )
        evals[label] = d
    return evals


def _notes(cfg, dataset, seed, n_params, times):
    """The report's opening lines: data, model, machine and phase times."""
    import keras

    model_args = ", ".join(f"{k}={v!r}" for k, v in cfg["model"].items())
    return [
        f"Dataset `{dataset}` simulated by keras-wavelit ({cfg['resolution']}x{cfg['resolution']}, "
        f"{cfg['trajectories']} trajectories x {cfg['steps']} steps, seed {seed}).",
        "",
        f"Model: `WaveLiT({model_args})`, {n_params:,} parameters; "
        f"{cfg['epochs']} x {cfg['steps_per_epoch']} training steps (batch 4), then "
        f"{cfg['finetune_epochs']} x {cfg['finetune_steps_per_epoch']} scheduled-sampling "
        f"steps with unroll {cfg['unroll']}.",
        "",
        f"Ran on Keras {keras.__version__} with the `{keras.backend.backend()}` backend, "
        f"{cpu_name()} ({os.cpu_count()} cores){_load_text()}.",
        "",
        "| phase | seconds |",
        "|---|---|",
    ] + [f"| {k} | {v:.0f} |" for k, v in times.items()]


def run_demo(out_dir="report", dataset="acoustic_scattering_2d", quick=False, seed=0, verbose=1):
    """Runs the whole pipeline and writes `out_dir/report.md`.

    The settings are `DEMO_SETTINGS["full"]` (or `["quick"]`); the report
    states the machine, its load and the time of every phase.

    Args:
        out_dir: report directory; data and runs go to `out_dir/work`.
        dataset: an embedded dataset name (`wavelit generate --list`).
        quick: bool, a tiny configuration for smoke tests (a few minutes).
            Defaults to False.
        seed: int, seed of the simulation and the training. Defaults to 0.
        verbose: 0 (quiet) or 1 (messages and progress bars). Defaults
            to 1.

    Returns:
        The path of `report.md`.

    Example:

    ```bash
    wavelit demo --quick --out report_quick   # the same pipeline, minutes
    ```
    """
    from keras_wavelit.evaluation.report import write_report

    cfg = DEMO_SETTINGS["quick" if quick else "full"]
    work = os.path.join(out_dir, "work")
    data_dir = os.path.join(work, "data")
    pre_dir = os.path.join(work, "pretrain")
    ft_dir = os.path.join(work, "finetune")
    times = {}
    with _phase(times, "simulate", f"1/5 simulate {dataset}", verbose):
        _simulate(cfg, dataset, data_dir, seed, verbose)
    with _phase(times, "train", "2/5 train WaveLiT (paper recipe)", verbose):
        model = _train(cfg, dataset, data_dir, pre_dir, seed, verbose)
    with _phase(times, "finetune", "3/5 rollout finetuning (scheduled sampling)", verbose):
        _finetune(cfg, dataset, data_dir, pre_dir, ft_dir, seed, verbose)
    with _phase(times, "evaluate", "4/5 evaluate rollouts on the test split", verbose):
        runs = {"pretrained": pre_dir, "finetuned (scheduled sampling)": ft_dir}
        evals = _evaluate(cfg, dataset, data_dir, runs, work, verbose)
    with _phase(times, "report", "5/5 write the report", verbose):
        path = write_report(
            out_dir,
            evals,
            histories={
                "pretraining": os.path.join(pre_dir, "history.csv"),
                "finetuning": os.path.join(ft_dir, "history.csv"),
            },
            title=f"WaveLiT demo: {dataset}",
            notes=_notes(cfg, dataset, seed, model.count_params(), times),
        )
    with open(os.path.join(out_dir, "timings.json"), "w") as f:
        json.dump(times, f, indent=2)
    if verbose:
        total = sum(times.values())
        print(f"\nReport written to {path} ({total / 60:.1f} minutes in all).", flush=True)
    return path
