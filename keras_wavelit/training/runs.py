"""Resumable training and finetuning runs on datasets in The Well's format.

These functions are what the ``wavelit train`` and ``wavelit finetune``
commands run. A run directory holds everything: ``model.keras`` (the final
model), ``history.csv`` (one row per epoch, across restarts),
``run.json`` (the arguments), ``backup/`` (Keras ``BackupAndRestore`` state
while the run is unfinished) and ``last_good.weights.h5``.

Interrupted runs resume: call the same function (or command) again with the
same run directory; training continues from the last finished epoch with
the optimizer state it had.
"""

import csv
import json
import os

import keras

from keras_wavelit.training.callbacks import NaNGuard


def read_history(path):
    """``history.csv`` as ``{metric: [per-epoch values]}`` (last row per epoch)."""
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


def _sequence(data_dir, dataset, split, **kw):
    from keras_wavelit.data import WellSequence

    return WellSequence(data_dir, dataset, split, **kw)


def _input_shapes(x):
    if isinstance(x, dict):
        return {k: tuple(v.shape) for k, v in x.items()}
    return tuple(x.shape)


def _callbacks(run_dir, verbose):
    return [
        # double_checkpoint: the previous epoch's backup is kept, so a process
        # killed while writing the latest one resumes from the one before.
        keras.callbacks.BackupAndRestore(
            os.path.join(run_dir, "backup"),
            save_freq="epoch",
            delete_checkpoint=True,
            double_checkpoint=True,
        ),
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=True),
        NaNGuard(os.path.join(run_dir, "last_good.weights.h5"), verbose=verbose),
    ]


def _write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)


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
    warmup_steps=5000,
    seed=0,
    verbose=1,
):
    """Trains a :class:`~keras_wavelit.models.WaveLiT` with the paper's recipe.

    Args:
        data_dir: base directory of the data (``well_base_path``).
        dataset: dataset name under ``data_dir/datasets``.
        run_dir: output directory (created; an unfinished run there resumes).
        model_kwargs: dict of ``WaveLiT`` arguments (``size``, ``dim``, ...).
            Without ``mode`` (or with ``mode="auto"``) the boundary mode
            follows the data: ``keras_wavelit.data.boundary_mode``.
        epochs: int.
        steps_per_epoch: optional int, batches per epoch (default: the whole
            training split).
        validation_steps: optional int, batches of validation per epoch.
        batch_size: int. Defaults to 4 (the paper's).
        n_steps_input: int ``T_in``. Defaults to 4.
        learning_rate: peak learning rate. warmup_steps: linear warm-up.
        seed: int, seeds weights and shuffling.
        verbose: Keras verbosity.

    Returns:
        ``(model, history_dict)``; ``run_dir/model.keras`` holds the model.
    """
    from keras_wavelit.models import WaveLiT

    os.makedirs(run_dir, exist_ok=True)
    model_kwargs = dict(model_kwargs or {})
    if model_kwargs.get("mode", "auto") == "auto":
        # Periodic data (every boundary condition PERIODIC) wraps around.
        from keras_wavelit.data import boundary_mode
        from keras_wavelit.data import resolve_dataset_dir

        model_kwargs["mode"] = boundary_mode(resolve_dataset_dir(data_dir, dataset))
    _write_json(
        os.path.join(run_dir, "run.json"),
        {
            "command": "train",
            "data_dir": os.path.abspath(data_dir),
            "dataset": dataset,
            "model_kwargs": model_kwargs,
            "epochs": epochs,
            "steps_per_epoch": steps_per_epoch,
            "batch_size": batch_size,
            "n_steps_input": n_steps_input,
            "learning_rate": learning_rate,
            "warmup_steps": warmup_steps,
            "seed": seed,
            "backend": keras.backend.backend(),
        },
    )
    keras.utils.set_random_seed(seed)
    train = _sequence(
        data_dir,
        dataset,
        "train",
        n_steps_input=n_steps_input,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
    )
    valid = _sequence(
        data_dir,
        dataset,
        "valid",
        n_steps_input=n_steps_input,
        batch_size=batch_size,
        shuffle=False,
    )
    model = WaveLiT(learning_rate=learning_rate, warmup_steps=warmup_steps, **model_kwargs)
    # BackupAndRestore needs built models (to restore into) on every backend.
    model.build(_input_shapes(train[0][0]))
    model.fit(
        train,
        validation_data=valid,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_steps=validation_steps,
        callbacks=_callbacks(run_dir, verbose),
        verbose=verbose,
    )
    model.save(os.path.join(run_dir, "model.keras"))
    return model, read_history(os.path.join(run_dir, "history.csv"))


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
):
    """Rollout-finetunes a saved model (paper Appendix G).

    Args:
        model_path: a ``.keras`` file of a one-step model (``wavelit train``).
        data_dir, dataset, run_dir: as for :func:`train_run`.
        method: ``"scheduled_sampling"``, ``"bptt"``, ``"causal_bptt"`` or
            ``"pushforward"``.
        unroll: int, unrolled steps ``k``.
        schedule_steps: steps of the teacher-forcing annealing (default: all
            finetuning steps).
        Other arguments: see :class:`~keras_wavelit.training.RolloutFinetuner`
        and :func:`train_run`.

    Returns:
        ``(model, history_dict)``; ``run_dir/model.keras`` is the finetuned
        one-step model.
    """
    from keras_wavelit.training.rollout_finetuner import RolloutFinetuner

    os.makedirs(run_dir, exist_ok=True)
    model = keras.saving.load_model(model_path)
    n_in = model.n_steps_input
    train = _sequence(
        data_dir,
        dataset,
        "train",
        n_steps_input=n_in,
        n_steps_output=unroll,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
    )
    valid = _sequence(
        data_dir,
        dataset,
        "valid",
        n_steps_input=n_in,
        n_steps_output=unroll,
        batch_size=batch_size,
        shuffle=False,
    )
    per_epoch = steps_per_epoch or len(train)
    if schedule_steps is None:
        schedule_steps = max(1, epochs * per_epoch)
    _write_json(
        os.path.join(run_dir, "run.json"),
        {
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
            "backend": keras.backend.backend(),
        },
    )
    keras.utils.set_random_seed(seed)
    x0 = train[0][0]
    finetuner = RolloutFinetuner(
        model,
        method=method,
        unroll=unroll,
        causal_eps=causal_eps,
        schedule_steps=schedule_steps,
        noise_std=noise_std,
        jitter=jitter,
        seed=seed,
        learning_rate=learning_rate,
    )
    finetuner(x0)  # built before BackupAndRestore looks for a backup
    finetuner.fit(
        train,
        validation_data=valid,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_steps=validation_steps,
        callbacks=_callbacks(run_dir, verbose),
        verbose=verbose,
    )
    model.save(os.path.join(run_dir, "model.keras"))
    return model, read_history(os.path.join(run_dir, "history.csv"))
