"""KerasTuner tuners for the WaveLiT hypermodels, and the best configuration."""

import json
import math
import os
import time

import keras
import keras_tuner

#: `tuner=` names accepted by `make_tuner` and `wavelit tune --tuner`.
TUNER_NAMES = ("random", "bayesian", "hyperband")


def _format_value(value):
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


class _Housekeeping:
    """Clears the Keras session after every trial and reports progress."""

    def __init__(self, *args, progress=None, **kwargs):
        self.progress = progress
        self._trial_start = None
        super().__init__(*args, **kwargs)

    def on_trial_begin(self, trial):
        self._trial_start = time.perf_counter()
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        # Drop the trial's model, its compiled functions and the backend's
        # graph state so memory does not grow over the search (KerasTuner
        # clears again before the next build).
        keras.backend.clear_session()
        if self.progress is not None:
            self.progress(self.trial_line(trial))

    def _configure_tensorboard_dir(self, callbacks, trial, execution=0):
        # KerasTuner imports `tensorboard` on the TensorFlow backend for every
        # trial, TensorBoard callback or not; tensorflow-cpu does not install
        # it. Only a search with a TensorBoard callback needs it.
        if any(c.__class__.__name__ == "TensorBoard" for c in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)

    def trial_line(self, trial):
        """One line describing a finished trial."""
        trial = self.oracle.get_trial(trial.trial_id)
        # A worker of a distributed search talks to the chief's oracle through
        # a client that knows neither the trial count nor the budget.
        trials = getattr(self.oracle, "trials", None)
        max_trials = getattr(self.oracle, "max_trials", None)
        count = (
            "" if trials is None else f" {len(trials)}" + (f"/{max_trials}" if max_trials else "")
        )
        name = self.oracle.objective.name
        seconds = time.perf_counter() - (self._trial_start or time.perf_counter())
        status = getattr(trial.status, "value", trial.status)
        if trial.score is None or status != "COMPLETED":
            reason = (trial.message or "").strip().splitlines()[-1:] or [""]
            return f"trial{count} {trial.trial_id}: {status} {reason[0]} ({seconds:.0f} s)"
        best = self.oracle.get_best_trials(1)
        best_score = best[0].score if best else trial.score
        hm = self.hypermodel
        config = hm.config_from_values(trial.hyperparameters.values)
        params = hm.count_params(config["model"])
        keys = ("dim", "depth", "num_heads", "pyramid_levels", "wavelet", "ridge_lambda")
        arch = " ".join(
            f"{k}={_format_value(config['model'][k])}" for k in keys if k in config["model"]
        )
        return (
            f"trial{count} {trial.trial_id}: {name}={trial.score:.4g} (best {best_score:.4g}) "
            f"params={params:,} {arch} lr={config['optimizer']['learning_rate']:.2g} "
            f"wd={config['optimizer']['weight_decay']:.2g} alpha={config['loss']['alpha']:.2g} "
            f"beta={config['loss']['beta']:.2g} ({seconds:.0f} s)"
        )


class RandomSearch(_Housekeeping, keras_tuner.RandomSearch):
    """`keras_tuner.RandomSearch` that clears the session between trials."""


class BayesianOptimization(_Housekeeping, keras_tuner.BayesianOptimization):
    """`keras_tuner.BayesianOptimization` that clears the session between trials."""


class Hyperband(_Housekeeping, keras_tuner.Hyperband):
    """`keras_tuner.Hyperband` that clears the session between trials."""


_CLASSES = {"random": RandomSearch, "bayesian": BayesianOptimization, "hyperband": Hyperband}


def make_tuner(
    hypermodel,
    tuner="bayesian",
    max_trials=12,
    max_epochs=3,
    directory="wavelit_tuning",
    project_name="wavelit",
    overwrite=False,
    seed=0,
    progress=None,
    **kwargs,
):
    """A KerasTuner tuner for a WaveLiT hypermodel, resumable and memory-flat.

    The tuner minimises the hypermodel's objective (`val_vrmse` by
    default), clears the Keras session after every trial (memory does not
    grow over a search) and, with `progress`, reports one line per trial.
    With `overwrite=False` (the default) a search started again with the
    same `directory` and `project_name` continues where it stopped: finished
    trials are kept and only the missing ones run. Several processes can
    share one search through KerasTuner's distributed tuning (the
    `KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and
    `KERASTUNER_ORACLE_PORT` environment variables; see docs/tuning.md).

    Args:
        hypermodel: a `WaveLiTHyperModel` (or any hypermodel with an
            `objective` property).
        tuner: `"random"`, `"bayesian"` (default) or `"hyperband"`.
        max_trials: int, trials of a random or Bayesian search; with
            Hyperband a cap on its schedule (None: no cap).
        max_epochs: int, the largest number of epochs Hyperband trains a
            model for (Hyperband decides its number of trials from it).
        directory: str, where KerasTuner keeps the search.
        project_name: str, the search's folder in `directory`.
        overwrite: bool, start afresh instead of continuing.
        seed: int, the oracle's random seed.
        progress: optional callable receiving one line per finished trial
            (e.g. `print`).
        **kwargs: further arguments of the KerasTuner tuner (e.g.
            `executions_per_trial`, `factor`, `num_initial_points`).

    Returns:
        A `keras_tuner` tuner: call `search(x, y, validation_data=...)`.

    Example:

    ```python
    import tempfile

    import keras_wavelit as kw

    hypermodel = kw.tuning.WaveLiTHyperModel(
        (2, 16, 16, 3), space={"dim": 16, "depth": 1, "pyramid_levels": 1}
    )
    tuner = kw.tuning.make_tuner(
        hypermodel, "random", max_trials=2, directory=tempfile.mkdtemp()
    )
    assert tuner.oracle.objective.name == "val_vrmse"
    ```
    """
    if tuner not in _CLASSES:
        raise ValueError(f"tuner must be one of {TUNER_NAMES}; got {tuner!r}.")
    args = dict(
        hypermodel=hypermodel,
        objective=hypermodel.objective,
        directory=directory,
        project_name=project_name,
        overwrite=overwrite,
        seed=seed,
        progress=progress,
    )
    if tuner == "hyperband":
        args["max_epochs"] = int(max_epochs)
    else:
        args["max_trials"] = int(max_trials)
    args.update(kwargs)
    instance = _CLASSES[tuner](**args)
    if tuner == "hyperband" and max_trials:
        instance.oracle.max_trials = int(max_trials)
    return instance


def best_config(tuner):
    """The best trial's configuration, as written to `best.json`.

    Args:
        tuner: a tuner from `make_tuner` after `search`.

    Returns:
        dict with `"model"` (`WaveLiT` constructor arguments: pass them as
        `WaveLiT(**config["model"])`), `"optimizer"` (`learning_rate`,
        `weight_decay`, `warmup_steps`), `"loss"` (`WaveletLoss` `alpha`, `beta`),
        `"objective"` (its name) and `"score"`.

    Raises:
        ValueError: when no trial has finished.
    """
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].score is None:
        raise ValueError("The search has no finished trial yet.")
    trial = best[0]
    config = tuner.hypermodel.config_from_values(trial.hyperparameters.values)
    config["objective"] = tuner.oracle.objective.name
    config["score"] = float(trial.score)
    return config


def trial_records(tuner):
    """One dict per trial: id, status, score, parameter count and configuration."""
    records = []
    hm = tuner.hypermodel
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        status = getattr(trial.status, "value", trial.status)
        record = {"trial_id": trial_id, "status": status, "score": trial.score}
        if trial.score is not None and math.isfinite(trial.score):
            config = hm.config_from_values(trial.hyperparameters.values)
            record["params"] = hm.count_params(config["model"])
            record.update(config)
        records.append(record)
    return records


def write_best_config(tuner, path):
    """Writes `best_config(tuner)` as JSON to `path`; returns the dict."""
    config = best_config(tuner)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    return config
