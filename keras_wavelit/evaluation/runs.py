"""Evaluation of a saved model on a dataset split (`wavelit evaluate`)."""

import json
import os

import numpy as np


def load_trajectories(
    data_dir, dataset, split, n_steps_input, max_rollout_steps=None, max_trajectories=None
):
    """Whole normalized trajectories of a split, with their constants.

    Args:
        data_dir: directory holding `datasets/<dataset>/`.
        dataset: dataset name.
        split: `"train"`, `"valid"` or `"test"`.
        n_steps_input: frames in the model's input window.
        max_rollout_steps: optional cap on the frames after the input window.
        max_trajectories: optional cap on the trajectories loaded.

    Returns:
        `(trajectories (N, T, H, W, C), constants (N, H, W, C_c) or None,
        sequence)`; `sequence.denormalize` maps fields to physical units.
    """
    from keras_wavelit.data import WellSequence

    seq = WellSequence(
        data_dir,
        dataset,
        split,
        n_steps_input=n_steps_input,
        full_trajectory=True,
        max_rollout_steps=max_rollout_steps,
        batch_size=4,
        shuffle=False,
    )
    trajs, consts = [], []
    for i in range(len(seq)):
        x, y = seq[i]
        fields = x["fields"] if isinstance(x, dict) else x
        trajs.append(np.concatenate([fields, y], axis=1))
        if isinstance(x, dict):
            consts.append(x["constants"])
        if max_trajectories and sum(len(t) for t in trajs) >= max_trajectories:
            break
    trajectories = np.concatenate(trajs)[:max_trajectories]
    constants = np.concatenate(consts)[:max_trajectories] if consts else None
    return trajectories, constants, seq


def evaluate_run(
    model,
    data_dir,
    dataset,
    out_dir,
    split="test",
    max_rollout_steps=None,
    max_trajectories=None,
    divergence_threshold=10.0,
    metrics=("vrmse", "nrmse", "mse"),
    include_partial_windows=False,
    verbose=1,
):
    """Rolls a model out on every trajectory of a split and scores it.

    Scores the rollout windows (median and mean over trajectories), The
    Well's one-step score (mean over every test window), the error growth
    and divergences, in physical units. Writes `evaluation.json`,
    `evaluation.md` (Markdown tables), `error_spectrum.npz` and
    `rollout_sample.npz` (truth and prediction of the first trajectory in
    physical units) to `out_dir`.

    Args:
        model: a model with `rollout` (or a path to a `.keras` file).
        data_dir: directory holding `datasets/<dataset>/`.
        dataset: dataset name.
        out_dir: output directory.
        split: the split to evaluate. Defaults to `"test"`.
        max_rollout_steps: optional cap on the predicted steps.
        max_trajectories: optional cap on the trajectories evaluated.
        divergence_threshold: VRMSE above which a rollout counts as diverged.
        metrics: metric names for `evaluate_rollout`.
        include_partial_windows: score windows the rollout ends inside over
            the steps it has instead of reporting them undefined.
        verbose: 0 (silent) or 1 (messages and progress bars). Defaults
            to 1.

    Returns:
        The `RolloutEvaluation`, with `one_step` set.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.data import simulate
    from keras_wavelit.evaluation import evaluate_run, write_report


    class Persistence:  # any model with `n_steps_input` and `rollout`
        n_steps_input = 2

        def rollout(self, x0, steps):
            fields = np.asarray(x0["fields"] if isinstance(x0, dict) else x0)
            return np.repeat(fields[:, -1:], steps, axis=1)


    base = tempfile.mkdtemp()
    simulate("acoustic_scattering_2d", base, resolution=16, n_trajectories=4, n_steps=8, verbose=0)
    eval_dir = os.path.join(base, "eval")
    result = evaluate_run(Persistence(), base, "acoustic_scattering_2d", eval_dir, verbose=0)
    assert result.one_step.n_windows == 6  # one test trajectory, 8 - 2 windows
    write_report(os.path.join(base, "report"), {"persistence": eval_dir})
    ```
    """
    import keras

    from keras_wavelit.evaluation.rollout import evaluate_rollout
    from keras_wavelit.evaluation.spectra import error_spectrum

    if isinstance(model, str):
        model = keras.saving.load_model(model)
    os.makedirs(out_dir, exist_ok=True)
    n_in = model.n_steps_input
    trajectories, constants, seq = load_trajectories(
        data_dir, dataset, split, n_in, max_rollout_steps, max_trajectories
    )
    if verbose:
        print(
            f"Evaluating {trajectories.shape[0]} {split} trajectories of "
            f"{trajectories.shape[1] - n_in} rollout steps ...",
            flush=True,
        )
    result = evaluate_rollout(
        model,
        trajectories,
        n_in,
        constants=constants,
        denormalize=seq.denormalize,
        divergence_threshold=divergence_threshold,
        field_names=list(seq.channel_names),
        metrics=metrics,
        include_partial_windows=include_partial_windows,
        return_predictions=True,
        one_step=True,
        verbose=verbose,
    )
    truth = seq.denormalize(trajectories[:, n_in:])
    pred = result.predictions
    with open(os.path.join(out_dir, "evaluation.json"), "w") as f:
        json.dump({"dataset": dataset, "split": split, **result.to_dict()}, f, indent=2)
    with open(os.path.join(out_dir, "evaluation.md"), "w") as f:
        f.write(result.summary_table())
    finite = np.all(np.isfinite(pred), axis=(1, 2, 3, 4))
    if finite.any():
        k, power = error_spectrum(pred[finite], truth[finite])
        np.savez(os.path.join(out_dir, "error_spectrum.npz"), wavenumbers=k, power=power)
    np.savez_compressed(
        os.path.join(out_dir, "rollout_sample.npz"),
        truth=truth[0],
        prediction=pred[0],
        field_names=np.array(seq.channel_names),
    )
    return result
