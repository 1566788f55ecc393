"""A Markdown report with plots from training runs and evaluations (`wavelit report`)."""

import json
import os

import numpy as np

from keras_wavelit.evaluation._predict import format_number


def _load_evaluation(eval_dir):
    path = os.path.join(eval_dir, "evaluation.json")
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"No evaluation.json in {eval_dir!r}: pass directories written by `wavelit evaluate`."
        )
    with open(path) as f:
        return json.load(f)


def _one_step_mean(ev):
    one_step = ev.get("one_step")
    return None if one_step is None else one_step.get("vrmse", {}).get("mean")


def _headline_table(evals):
    """Per model: one-step (mean over windows), windows (median), growth, divergence."""
    window_names = []
    for ev in evals.values():
        for w in ev["windows"]["vrmse"]:
            if w["name"] not in window_names:
                window_names.append(w["name"])
    header = (
        ["model", "one-step (mean over windows)"]
        + [f"[{n}] (median)" for n in window_names]
        + ["growth/step (2-12)", "VRMSE > 1 from step", "diverged"]
    )
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for label, ev in evals.items():
        by_name = {w["name"]: w for w in ev["windows"]["vrmse"]}
        growth = ev.get("error_growth") or {}
        cells = [label, format_number(_one_step_mean(ev))]
        cells += [format_number(by_name.get(n, {}).get("median")) for n in window_names]
        cells.append(format_number(growth.get("mean_ratio"), 3))
        crossing = growth.get("crossing_step")
        cells.append("never" if growth and crossing is None else format_number(crossing))
        cells.append(f"{len(ev['divergences'])}/{ev['n_trajectories']}")
        lines.append("| " + " | ".join(cells) + " |")
    return [
        "",
        "## Rollout VRMSE (physical units)",
        "",
        "One-step: The Well's score, the mean over every test window. Windows "
        "(rollout steps, 1-based): median over test trajectories of each "
        "trajectory's window mean; — marks a window the rollout does not cover. "
        "Growth: mean VRMSE(t+1)/VRMSE(t) over steps 2-12 of the median curve "
        "(above 1: geometric growth); VRMSE 1 is the error of predicting the "
        "spatial mean.",
        "",
    ] + lines


def _plot_sections(out_dir, evaluations, evals, frame_steps):
    from keras_wavelit.evaluation.plots import plot_error_spectra
    from keras_wavelit.evaluation.plots import plot_rollout_frames
    from keras_wavelit.evaluation.plots import plot_vrmse_vs_step

    first_label, first_dir = next(iter(evaluations.items()))
    sample = np.load(os.path.join(first_dir, "rollout_sample.npz"))
    truth, pred = sample["truth"], sample["prediction"]
    n = truth.shape[0]
    steps = frame_steps or sorted({1, max(1, n // 2), n})
    frames = plot_rollout_frames(
        truth,
        pred,
        steps,
        [str(s) for s in sample["field_names"]],
        os.path.join(out_dir, "rollout_frames.png"),
    )
    curves = {
        label: np.array([np.nan if v is None else v for v in ev["per_step"]["vrmse"]["median"]])
        for label, ev in evals.items()
    }
    vrmse_png = plot_vrmse_vs_step(curves, os.path.join(out_dir, "vrmse_vs_step.png"))
    lines = [
        "",
        f"## Rollout of one test trajectory ({first_label})",
        "",
        f"Rows: truth, prediction, error; columns: rollout steps {steps}.",
        "",
        f"![rollout frames]({os.path.basename(frames)})",
        "",
        "## VRMSE against rollout step",
        "",
        "Median over test trajectories; the dashed line is VRMSE 1, the error "
        "of predicting the spatial mean.",
        "",
        f"![VRMSE vs step]({os.path.basename(vrmse_png)})",
    ]
    spectra = {}
    for label, d in evaluations.items():
        path = os.path.join(d, "error_spectrum.npz")
        if os.path.exists(path):
            s = np.load(path)
            spectra[label] = (s["wavenumbers"], s["power"])
    if spectra:
        spec_png = plot_error_spectra(spectra, os.path.join(out_dir, "error_spectra.png"))
        lines += [
            "",
            "## Error power spectrum (radially averaged, whole rollout)",
            "",
            f"![error spectra]({os.path.basename(spec_png)})",
        ]
    return lines


def _history_sections(out_dir, histories):
    from keras_wavelit.evaluation.plots import plot_training_curves
    from keras_wavelit.training.runs import read_history

    lines = []
    for label, path in (histories or {}).items():
        hist = read_history(path)
        if not hist:
            continue
        name = "training_" + "".join(c if c.isalnum() else "_" for c in label) + ".png"
        plot_training_curves(hist, os.path.join(out_dir, name))
        lines += ["", f"## Training curves: {label}", "", f"![training {label}]({name})"]
    return lines


def write_report(
    out_dir, evaluations, histories=None, title="WaveLiT report", notes=None, frame_steps=None
):
    """Writes `out_dir/report.md` and its PNG plots.

    The headline table gives, per model, The Well's one-step VRMSE (mean
    over all test windows), the median VRMSE of each rollout window ("—"
    where the rollout does not cover it), the error growth per step and the
    first step with VRMSE above 1, and the diverged trajectories. Plots:
    rollout frames of the first evaluation, VRMSE against step, error
    spectra and training curves.

    Args:
        out_dir: output directory.
        evaluations: dict label -> evaluation directory (written by
            `evaluate_run`); the first one provides the rollout frames.
        histories: optional dict label -> `history.csv` path.
        title: report title.
        notes: optional list of Markdown lines placed under the title.
        frame_steps: rollout steps shown as frames (default: 1, a middle
            step and the last).

    Returns:
        The path of `report.md`.

    Example: see `evaluate_run`.
    """
    if not evaluations:
        raise ValueError("`evaluations` is empty: give at least one evaluation directory.")
    os.makedirs(out_dir, exist_ok=True)
    evals = {label: _load_evaluation(d) for label, d in evaluations.items()}
    lines = [f"# {title}", ""] + list(notes or [])
    lines += _headline_table(evals)
    lines += _plot_sections(out_dir, evaluations, evals, frame_steps)
    lines += _history_sections(out_dir, histories)
    lines += ["", "## Per-window details", ""]
    for label, d in evaluations.items():
        md = os.path.join(d, "evaluation.md")
        if os.path.exists(md):
            with open(md) as f:
                lines += [f"### {label}", "", f.read(), ""]
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
