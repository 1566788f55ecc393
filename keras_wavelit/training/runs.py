"""Resumable training and finetuning runs on datasets in The Well's format.

These functions are what the `wavelit train` and `wavelit finetune`
commands run. A run directory holds everything: `model.keras` (the final
model), `history.csv` (one row per epoch, across restarts), `run.json` (the
configuration and the run's status), `backup/` (Keras `BackupAndRestore`
state while the run is unfinished) and `last_good.weights.h5`.

Reusing a run directory:

- an interrupted run (status `"running"`) resumes when the function (or
  command) is called again with the same configuration: training continues
  from the last finished epoch with the optimizer state it had, and
  `history.csv` keeps one row per epoch;
- a finished run, a run that stopped on a non-finite loss, or a run with a
  different configuration is refused with a `RunDirectoryError`, unless
  `overwrite=True`, which deletes the previous run's files first.

A non-finite loss stops training (`NaNGuard`), restores the last finite
weights and raises `NonFiniteLossError`; `model.keras` is never written
with non-finite weights.
"""

import csv
import json
import os
import shutil

import keras
import numpy as np

from keras_wavelit.training.callbacks import NaNGuard
from keras_wavelit.training.callbacks import RunBackup
from keras_wavelit.training.interrupt import StopOnCtrlC

RUN_FILES = ("model.keras", "history.csv", "run.json", "last_good.weights.h5", "backup")

# Old WaveLiT argument names (before the vocabulary of `docs/design.md` §3).
_OLD_NAMES = {"boundary": "mode", "wavelet_levels": "levels", "pyramid_levels": "fpn_levels"}


# run.json keys that may change between the calls of one run.
_VOLATILE_KEYS = ("backend", "verbose")


class RunDirectoryError(ValueError):
    """A run directory holds a run that must not be resumed or mixed with this one."""


class NonFiniteLossError(RuntimeError):
    """Training stopped on a NaN or infinite loss; no model was written."""


def read_history(path):
    """`history.csv` as `{metric: [per-epoch values]}` (last row per epoch)."""
    if not os.path.exists(path):
        return {}
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows[int(row["epoch"])] = row
    out = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if key == "epoch":
                continue
            try:
                out.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                out.setdefault(key, []).append(float("nan"))
    return out


def read_run(run_dir):
    """The `run.json` of a run directory as a dict, or None when there is none."""
    path = os.path.join(run_dir, "run.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as err:
        raise RunDirectoryError(f"{path} is not valid JSON ({err}).") from None


def _normalize(obj):
    """`obj` as JSON would give it back (tuples become lists, ...)."""
    return json.loads(json.dumps(obj, sort_keys=True))


def _config_diff(old, new):
    keys = sorted(set(old) | set(new))
    return [
        f"{k}: {old.get(k, '(unset)')!r} -> {new.get(k, '(unset)')!r}"
        for k in keys
        if k not in _VOLATILE_KEYS and old.get(k) != new.get(k)
    ]


def _remove_run_files(run_dir):
    for name in RUN_FILES:
        path = os.path.join(run_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)


def prepare_run_dir(run_dir, config, overwrite=False):
    """Checks that `run_dir` may take a run of `config`; returns True to resume.

    Args:
        run_dir: the run directory (created when missing).
        config: JSON-serializable dict of everything that defines the run
            (the command, data, model and loop arguments).
        overwrite: bool, delete a previous run's files instead of refusing.

    Returns:
        True when an interrupted run of the same configuration is there to
        resume, False for a new run.

    Raises:
        RunDirectoryError: `run_dir` holds a finished or failed run, a run
            of another configuration, or run files without `run.json`, and
            `overwrite` is False.

    Example:

    ```python
    import json
    import os
    import tempfile

    from keras_wavelit.training import RunDirectoryError
    from keras_wavelit.training import prepare_run_dir

    run = tempfile.mkdtemp()
    config = {"command": "train", "epochs": 8}
    assert prepare_run_dir(run, config) is False  # a new run
    with open(os.path.join(run, "run.json"), "w") as f:
        json.dump({"config": config, "status": "running"}, f)
    assert prepare_run_dir(run, config) is True  # interrupted: resume
    try:
        prepare_run_dir(run, {"command": "train", "epochs": 10})
    except RunDirectoryError as err:
        print(err)  # ... different configuration (epochs: 8 -> 10) ...
    ```
    """
    config = _normalize(config)
    os.makedirs(run_dir, exist_ok=True)
    if overwrite:
        _remove_run_files(run_dir)
        return False
    previous = read_run(run_dir)
    hint = "use another --out, or --overwrite to replace it"
    if previous is None:
        present = [n for n in RUN_FILES if os.path.exists(os.path.join(run_dir, n))]
        if present:
            raise RunDirectoryError(
                f"{run_dir} holds {', '.join(present)} but no run.json, so it cannot be "
                f"resumed; {hint}."
            )
        return False
    if "config" not in previous:  # run.json of release 0.1.0: the config itself
        status = "finished" if os.path.exists(os.path.join(run_dir, "model.keras")) else "running"
        previous = {"config": previous, "status": status}
    status = previous.get("status", "running")
    if status == "finished":
        raise RunDirectoryError(f"{run_dir} holds a finished run (model.keras); {hint}.")
    if status == "failed":
        raise RunDirectoryError(
            f"{run_dir} holds a run that failed ({previous.get('error', 'unknown error')}); {hint}."
        )
    diff = _config_diff(previous["config"], config)
    if diff:
        raise RunDirectoryError(
            f"{run_dir} holds an unfinished run with a different configuration "
            f"({'; '.join(diff)}); rerun with the same arguments to resume it, or {hint}."
        )
    return True


def _write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _write_run(run_dir, config, status, **extra):
    _write_json(
        os.path.join(run_dir, "run.json"),
        {"config": config, "status": status, "backend": keras.backend.backend(), **extra},
    )


def check_finite_data(sequence, split):
    """Reads every batch of `sequence` once and raises at the first non-finite value.

    Args:
        sequence: a `WellSequence` built with `check_finite=True` (its error
            names the file, trajectory, time step and field), or any
            sequence of `(x, y)` batches.
        split: the split's name, for the message.

    Raises:
        ValueError (`WellDataError` for a `WellSequence`): a NaN or
            infinite value in the inputs or targets.
    """
    for i in range(len(sequence)):
        x, y = sequence[i][:2]
        for name, value in (("inputs", x), ("targets", y)):
            arrays = value.values() if isinstance(value, dict) else [value]
            for a in arrays:
                if not np.all(np.isfinite(a)):
                    raise ValueError(
                        f"non-finite values in the {split} split, batch {i + 1} of "
                        f"{len(sequence)} ({name})."
                    )


def _sequence(data_dir, dataset, split, **kw):
    from keras_wavelit.data import WellSequence

    return WellSequence(data_dir, dataset, split, **kw)


def _input_shapes(x):
    if isinstance(x, dict):
        return {k: tuple(v.shape) for k, v in x.items()}
    return tuple(x.shape)


# Errors a backend raises instead of returning NaN (TensorFlow's solves),
# and what they mean here.
_NON_FINITE_ERRORS = (
    ("not invertible", "a linear solve got a non-invertible matrix, which NaN or Inf causes"),
    ("Cholesky decomposition was not successful", "a Cholesky factorization failed"),
)


def _non_finite_reason(err):
    text = str(err)
    for pattern, reason in _NON_FINITE_ERRORS:
        if pattern in text:
            return reason
    return None


def _fit(model, run_dir, train, valid, config, epochs, steps_per_epoch, validation_steps, **kw):
    """`model.fit` with the run's callbacks; raises `NonFiniteLossError` on NaN."""
    verbose = kw.pop("verbose")
    chief = kw.pop("chief", True)
    backup_dir = kw.pop("backup_dir")
    # Callbacks that add to the logs (e.g. `p_<dataset>`) run before CSVLogger.
    extra = list(kw.pop("callbacks", None) or [])
    history = os.path.join(run_dir, "history.csv")
    if chief:
        guard = NaNGuard(os.path.join(run_dir, "last_good.weights.h5"), verbose=0)
    else:
        guard = NaNGuard(backup_dir + ".last_good.weights.h5", verbose=0)
    callbacks = [
        RunBackup(
            backup_dir,
            # Keras runs at most the sequence's length per epoch.
            steps_per_epoch=min(steps_per_epoch or len(train), len(train)),
            epochs=epochs,
            history_path=history if chief else None,
            verbose=1 if chief else 0,
        ),
        guard,
    ]
    if chief:
        callbacks.insert(1, keras.callbacks.CSVLogger(history, append=True))
    # Last, so that an interrupted epoch's end is backed up first.
    callbacks = extra + callbacks + [StopOnCtrlC()]
    # The run's file-backed guard stands in for a model's own in-memory one.
    own_guard = getattr(model, "guard_non_finite", None)
    if own_guard:
        model.guard_non_finite = False
    try:
        model.fit(
            train,
            validation_data=valid,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            validation_steps=validation_steps,
            callbacks=callbacks,
            verbose=verbose,
        )
    except Exception as err:
        reason = _non_finite_reason(err)
        if reason is None:
            raise
        epoch, batch = guard.position
        message = (
            f"Non-finite values at epoch {epoch}, batch {batch}: {reason}. "
            "model.keras was not written; --check-finite finds NaN/Inf in the data."
        )
        if chief:
            _write_run(run_dir, config, "failed", error=message)
        raise NonFiniteLossError(message) from err
    finally:
        if own_guard:
            model.guard_non_finite = own_guard
    if not chief and os.path.exists(guard.checkpoint_path):
        os.remove(guard.checkpoint_path)  # only the chief keeps run files
    weights_finite = all(np.all(np.isfinite(w)) for w in model.get_weights())
    if guard.nan_detected or not weights_finite:
        message = guard.message or "training ended with non-finite weights"
        message += " model.keras was not written."
        if chief:
            _write_run(run_dir, config, "failed", error=message)
        raise NonFiniteLossError(message)


def train_run(
    data_dir,
    dataset,
    run_dir,
    model_kwargs=None,
    epochs=10,
    steps_per_epoch=None,
    validation_steps=None,
    batch_size=4,
    n_steps_input=4,
    learning_rate=1e-3,
    warmup_steps=None,
    weight_decay=None,
    loss=None,
    seed=0,
    verbose=1,
    overwrite=False,
    check_finite=False,
    distribution=None,
    input_noise=None,
    recipe=None,
):
    """Trains a `keras_wavelit.models.WaveLiT` with the library's recipe.

    Args:
        data_dir: base directory of the data (`well_base_path`).
        dataset: dataset name under `data_dir/datasets`.
        run_dir: output directory (created; see the module docstring for
            resuming and refusals).
        model_kwargs: dict of `WaveLiT` arguments (`size`, `dim`, ...).
            Without `boundary` (or with `boundary="auto"`) the boundary mode
            follows the data: `keras_wavelit.data.boundary_mode`.
        epochs: int.
        steps_per_epoch: optional int, batches per epoch (default: the whole
            training split).
        validation_steps: optional int, batches of validation per epoch.
        batch_size: int, the global batch. Defaults to 4 (the paper's).
        n_steps_input: int `T_in`. Defaults to 4.
        learning_rate: peak learning rate.
        warmup_steps: optional int, linear warm-up steps (default: the
            model's own default).
        weight_decay: optional float, AdamW weight decay (default: the
            model's).
        loss: optional dict of `WaveletLoss` arguments (`alpha`, `beta`,
            `detail_weight`, `subband_weights`).
        seed: int, seeds weights and shuffling.
        verbose: Keras verbosity.
        overwrite: bool, replace a previous run in `run_dir`.
        check_finite: bool, read the training and validation data once
            before training and stop at the first NaN or infinite value.
        distribution: optional `keras_wavelit.distributed.cli.DistributedSetup`
            (from `configure`): the data shard, the scope and which
            process writes the run's files.
        input_noise: float >= 0, `WaveLiT.compile(input_noise=...)`:
            training-time input noise in units of each sample's one-step
            change (paper section 5). Defaults to the recipe's (0.1 for
            `"wavelit"`, 0 for `"paper"`).
        recipe: `"wavelit"` or `"paper"`, `WaveLiT.compile(recipe=...)`.
            Defaults to `"wavelit"` (the paper's recipe, Appendix E, with an
            adaptive warm-up and input noise).

    Returns:
        `(model, history_dict)`; `run_dir/model.keras` holds the model.

    Raises:
        RunDirectoryError: `run_dir` holds a run that must not be resumed.
        NonFiniteLossError: the loss became NaN or infinite.
    """
    from keras_wavelit.data import boundary_mode
    from keras_wavelit.data import resolve_dataset_dir

    model_kwargs = dict(model_kwargs or {})
    for new, old in _OLD_NAMES.items():
        if old in model_kwargs and new not in model_kwargs:
            model_kwargs[new] = model_kwargs.pop(old)
    if model_kwargs.get("boundary", "auto") == "auto":
        # Periodic data (every boundary condition PERIODIC) wraps around.
        model_kwargs["boundary"] = boundary_mode(resolve_dataset_dir(data_dir, dataset))
    compile_kwargs = _recipe_kwargs(learning_rate, warmup_steps, weight_decay, input_noise, recipe)
    config = {
        "command": "train",
        "data_dir": os.path.abspath(data_dir),
        "dataset": dataset,
        "model_kwargs": model_kwargs,
        "compile_kwargs": compile_kwargs,
        "loss": loss,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "batch_size": batch_size,
        "n_steps_input": n_steps_input,
        "seed": seed,
    }
    chief = distribution is None or distribution.is_chief
    shard = None if distribution is None else distribution.shard
    if distribution is not None:
        distribution.check_batch_size(batch_size)  # clear error for an uneven split
    if chief:
        prepare_run_dir(run_dir, config, overwrite=overwrite)
    # With a shard, WellSequence takes the global batch and yields this process's part.
    seq_kw = dict(n_steps_input=n_steps_input, batch_size=batch_size, shard=shard)
    if check_finite:
        for split in ("train", "valid"):
            check_finite_data(
                _sequence(data_dir, dataset, split, shuffle=False, check_finite=True, **seq_kw),
                split,
            )
    if chief:
        _write_run(run_dir, _normalize(config), "running")
    keras.utils.set_random_seed(seed)
    train = _sequence(data_dir, dataset, "train", shuffle=True, seed=seed, **seq_kw)
    valid = _sequence(data_dir, dataset, "valid", shuffle=False, **seq_kw)
    return _fit_and_save(
        lambda: _build_model(model_kwargs, compile_kwargs, loss),
        run_dir,
        train,
        valid,
        config,
        epochs,
        steps_per_epoch,
        validation_steps,
        verbose=verbose,
        distribution=distribution,
    )


def _fit_and_save(
    make_model,
    run_dir,
    train,
    valid,
    config,
    epochs,
    steps_per_epoch,
    validation_steps,
    verbose,
    distribution,
    callbacks=(),
):
    """Builds the model under the distribution's scope, fits it with the run's
    callbacks and saves `model.keras`; returns `(model, history rows)`."""
    chief = distribution is None or distribution.is_chief
    scope = distribution.scope() if distribution is not None else _NullScope()
    with scope:
        model = make_model()
        # BackupAndRestore needs built models (to restore into) on every backend.
        model.build(_input_shapes(train[0][0]))
        backup_dir = os.path.join(run_dir, "backup")
        if distribution is not None:
            backup_dir = distribution.process_path(backup_dir)
        _fit(
            model,
            run_dir,
            train,
            valid,
            _normalize(config),
            epochs,
            steps_per_epoch,
            validation_steps,
            verbose=verbose,
            chief=chief,
            backup_dir=backup_dir,
            callbacks=list(callbacks),
        )
    model_path = os.path.join(run_dir, "model.keras")
    if distribution is None:
        model.save(model_path)
    else:
        # Every process takes part in the save (it may run collectives); the chief writes.
        distribution.save_model(model, model_path)
    if chief:
        _write_run(run_dir, _normalize(config), "finished")
    return model, read_history(os.path.join(run_dir, "history.csv"))


def train_fm_run(
    data_dir,
    datasets,
    run_dir,
    sampling="sqrt",
    temperature=0.2,
    model_kwargs=None,
    epochs=10,
    steps_per_epoch=None,
    validation_steps=None,
    batch_size=4,
    n_steps_input=4,
    learning_rate=1e-3,
    warmup_steps=None,
    weight_decay=None,
    loss=None,
    input_noise=0.0,
    seed=0,
    verbose=1,
    overwrite=False,
    check_finite=False,
    distribution=None,
):
    """Trains a `keras_wavelit.models.WaveLiTFM` on several datasets (paper section 3.5).

    The multi-dataset counterpart of `train_run`, with the same run
    directory (`run.json`, `history.csv`, `backup/`, `model.keras`), the
    same resuming and refusal rules and the same NaN guard. One
    `WellSequence` per dataset feeds a `keras_wavelit.data.MultiDatasetSequence`
    with the chosen sampler; `DatasetSamplingCallback` logs `p_<dataset>`,
    the probabilities each epoch used, to `history.csv` (and, for
    `sampling="adaptive"`, evaluates each dataset's validation split and
    logs `val_loss_<dataset>` to move the probabilities). Validation
    (`val_loss`) runs on the validation splits of all the datasets, drawn
    uniformly in a fixed order.

    Args:
        data_dir: base directory of the data (`well_base_path`).
        datasets: list of dataset names under `data_dir/datasets`, each
            registered in `keras_wavelit.data.default_registry()`.
        run_dir: output directory (see the module docstring).
        sampling: `"uniform"`, `"proportional"`, `"temperature"`, `"sqrt"`
            (default, the paper's) or `"adaptive"`.
        temperature: `T` of `sampling="temperature"`.
        model_kwargs: dict of `WaveLiTFM` arguments (`size`, `dim`, ...).
        steps_per_epoch: optional int (default: the full batches of all the
            datasets' training splits).
        validation_steps: optional int, validation batches per epoch (and
            per dataset for `"adaptive"`).
        batch_size: int, the global batch of every dataset.
        Other arguments: as for `train_run`.

    Returns:
        `(model, history_dict)`; `run_dir/model.keras` holds the model.

    Raises:
        RunDirectoryError: `run_dir` holds a run that must not be resumed.
        NonFiniteLossError: the loss became NaN or infinite.
        ValueError: no dataset, a repeated dataset or an unknown sampler.
    """
    from keras_wavelit.data import DatasetSamplingCallback
    from keras_wavelit.data import MultiDatasetSequence
    from keras_wavelit.data.sampling import SAMPLING_METHODS

    datasets = list(datasets or [])
    if not datasets:
        raise ValueError("`datasets` must name at least one dataset.")
    repeated = sorted({d for d in datasets if datasets.count(d) > 1})
    if repeated:
        raise ValueError(f"`datasets` names {repeated} more than once.")
    if sampling not in SAMPLING_METHODS:
        raise ValueError(
            f"Unknown sampling {sampling!r}; choose one of {', '.join(SAMPLING_METHODS)}."
        )
    model_kwargs = dict(model_kwargs or {})
    compile_kwargs = _recipe_kwargs(learning_rate, warmup_steps, weight_decay, input_noise or None)
    config = {
        "command": "train_fm",
        "data_dir": os.path.abspath(data_dir),
        "datasets": datasets,
        "sampling": sampling,
        "temperature": temperature,
        "model_kwargs": model_kwargs,
        "compile_kwargs": compile_kwargs,
        "loss": loss,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "batch_size": batch_size,
        "n_steps_input": n_steps_input,
        "seed": seed,
    }
    chief = distribution is None or distribution.is_chief
    shard = None if distribution is None else distribution.shard
    if sampling == "adaptive" and shard is not None:
        # Each process would score its own validation shard, move its
        # probabilities differently and draw another dataset than the others.
        raise ValueError(
            "sampling='adaptive' runs in one process only: with "
            f"{shard[1]} processes each would score its own validation shard and the "
            "processes would draw different datasets at the same step. Use 'sqrt' "
            "(the paper's) or another fixed sampler."
        )
    if distribution is not None:
        distribution.check_batch_size(batch_size)
    if chief:
        prepare_run_dir(run_dir, config, overwrite=overwrite)
    seq_kw = dict(n_steps_input=n_steps_input, batch_size=batch_size, shard=shard)
    if check_finite:
        for name in datasets:
            for split in ("train", "valid"):
                check_finite_data(
                    _sequence(data_dir, name, split, shuffle=False, check_finite=True, **seq_kw),
                    f"{name} {split}",
                )
    if chief:
        _write_run(run_dir, _normalize(config), "running")
    keras.utils.set_random_seed(seed)
    # MultiDatasetSequence shuffles each dataset itself (seeded by `seed`).
    trains = {n: _sequence(data_dir, n, "train", shuffle=False, **seq_kw) for n in datasets}
    valids = {n: _sequence(data_dir, n, "valid", shuffle=False, **seq_kw) for n in datasets}
    train = MultiDatasetSequence(
        trains,
        method=sampling,
        temperature=temperature,
        steps_per_epoch=steps_per_epoch,
        seed=seed,
        datasets=datasets,
    )
    valid = MultiDatasetSequence(
        valids, method="uniform", seed=seed, datasets=datasets, shuffle=False
    )
    sampling_callback = DatasetSamplingCallback(
        train,
        validation=valids if sampling == "adaptive" else None,
        validation_steps=validation_steps,
        # A resumed adaptive run replays the validation losses it recorded.
        history_path=os.path.join(run_dir, "history.csv"),
    )
    return _fit_and_save(
        lambda: _build_fm(datasets, n_steps_input, model_kwargs, compile_kwargs, loss),
        run_dir,
        train,
        valid,
        config,
        epochs,
        steps_per_epoch,
        validation_steps,
        verbose=verbose,
        distribution=distribution,
        callbacks=[sampling_callback],
    )


def _recipe_kwargs(learning_rate, warmup_steps, weight_decay, input_noise, recipe=None):
    """The `compile` arguments of a run's recipe; unset ones (None) are left
    out, so the `run.json` of a run without them (e.g. from before
    `input_noise`) still matches and resumes."""
    kwargs = {"learning_rate": learning_rate}
    if warmup_steps is not None:
        kwargs["warmup_steps"] = warmup_steps
    if weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    if input_noise is not None:
        kwargs["input_noise"] = float(input_noise)
    if recipe is not None:
        kwargs["recipe"] = recipe
    return kwargs


def _build_fm(datasets, n_steps_input, model_kwargs, compile_kwargs, loss):
    """`WaveLiTFM(datasets, **model_kwargs)` compiled with the recipe and `loss`."""
    from keras_wavelit.models import WaveLiTFM

    model = WaveLiTFM(datasets, n_steps_input=n_steps_input, auto_compile=False, **model_kwargs)
    return _compile(model, compile_kwargs, loss, wavelet=model.wavelet)


def _compile(model, compile_kwargs, loss, **transform):
    """Compiles `model` with the recipe's `compile_kwargs`; `loss` (a dict of
    `WaveletLoss` settings, or None for the model's default) is built on the
    `transform` (wavelet, levels, boundary) it is given."""
    from keras_wavelit.losses import WaveletLoss

    kwargs = dict(compile_kwargs)
    if loss:
        config = WaveletLoss(1.0, 1.0, **transform).get_config()
        config.update(loss)
        kwargs["loss"] = WaveletLoss.from_config(config)
    model.compile(**kwargs)
    return model


class _NullScope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _build_model(model_kwargs, compile_kwargs, loss):
    """`WaveLiT(**model_kwargs)` compiled with the recipe's `compile_kwargs` and `loss`."""
    from keras_wavelit.models import WaveLiT

    model = WaveLiT(**model_kwargs)
    return _compile(
        model,
        compile_kwargs,
        loss,
        wavelet=model.wavelet,
        wavelet_levels=model.wavelet_levels,
        boundary=model.boundary,
    )


def finetune_run(
    model_path,
    data_dir,
    dataset,
    run_dir,
    method="scheduled_sampling",
    unroll=4,
    epochs=2,
    steps_per_epoch=None,
    validation_steps=None,
    batch_size=4,
    learning_rate=1e-4,
    schedule_steps=None,
    causal_eps=1.0,
    noise_std=0.0,
    jitter=False,
    seed=0,
    verbose=1,
    overwrite=False,
    relative_noise=False,
):
    """Rollout-finetunes a saved model (paper Appendix G).

    Args:
        model_path: a `.keras` file of a one-step model (`wavelit train`).
        data_dir, dataset, run_dir: as for `train_run`.
        method: `"scheduled_sampling"`, `"bptt"`, `"causal_bptt"` or
            `"pushforward"`.
        unroll: int, unrolled steps `k`.
        schedule_steps: steps of the teacher-forcing annealing (default: all
            finetuning steps).
        relative_noise: bool, `noise_std` in units of each sample's RMS
            one-step change (paper section 5) instead of normalized units.
        overwrite: bool, replace a previous run in `run_dir`.
        Other arguments: see `keras_wavelit.training.RolloutFinetuner`
        and `train_run`.

    Returns:
        `(model, history_dict)`; `run_dir/model.keras` is the finetuned
        one-step model.

    Raises:
        RunDirectoryError: `run_dir` holds a run that must not be resumed.
        NonFiniteLossError: the loss became NaN or infinite.
    """
    from keras_wavelit.training.rollout_finetuner import RolloutFinetuner

    if not os.path.exists(model_path):
        raise FileNotFoundError(f"--model {model_path}: no such file.")
    config = {
        "command": "finetune",
        "model_path": os.path.abspath(model_path),
        "data_dir": os.path.abspath(data_dir),
        "dataset": dataset,
        "method": method,
        "unroll": unroll,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "schedule_steps": schedule_steps,
        "causal_eps": causal_eps,
        "noise_std": noise_std,
        "jitter": jitter,
        "seed": seed,
    }
    if relative_noise:
        # Only when set: run.json files of earlier runs stay resumable.
        config["relative_noise"] = True
    prepare_run_dir(run_dir, config, overwrite=overwrite)
    config = _normalize(config)
    _write_run(run_dir, config, "running")
    model = keras.saving.load_model(model_path)
    n_in = model.n_steps_input
    seq_kw = dict(n_steps_input=n_in, n_steps_output=unroll, batch_size=batch_size)
    train = _sequence(data_dir, dataset, "train", shuffle=True, seed=seed, **seq_kw)
    valid = _sequence(data_dir, dataset, "valid", shuffle=False, **seq_kw)
    per_epoch = steps_per_epoch or len(train)
    if schedule_steps is None:
        schedule_steps = max(1, epochs * per_epoch)
    keras.utils.set_random_seed(seed)
    finetuner = RolloutFinetuner(
        model,
        method=method,
        unroll=unroll,
        causal_eps=causal_eps,
        schedule_steps=schedule_steps,
        noise_std=noise_std,
        relative_noise=relative_noise,
        jitter=jitter,
        seed=seed,
        learning_rate=learning_rate,
    )
    finetuner(train[0][0])  # built before BackupAndRestore looks for a backup
    _fit(
        finetuner,
        run_dir,
        train,
        valid,
        config,
        epochs,
        steps_per_epoch,
        validation_steps,
        verbose=verbose,
        backup_dir=os.path.join(run_dir, "backup"),
    )
    model.save(os.path.join(run_dir, "model.keras"))
    _write_run(run_dir, config, "finished")
    return model, read_history(os.path.join(run_dir, "history.csv"))
