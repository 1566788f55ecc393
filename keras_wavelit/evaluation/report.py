"""A markdown report with plots from training runs and evaluations."""

import json
import os

import numpy as np


def _load_evaluation(eval_dir):
    with open(os.path.join(eval_dir, "evaluation.json")) as f:
        return json.load(f)


def write_report(
    out_dir, evaluations, histories=None, title="WaveLiT report", notes=None, frame_steps=None
):
    """Writes ``out_dir/report.md`` and its PNG plots.

    Args:
        out_dir: output directory.
        evaluations: dict label -> evaluation directory (from
            :func:`~keras_wavelit.evaluation.evaluate_run`); the first one
            provides the rollout frames.
        histories: optional dict label -> ``history.csv`` path.
        title: report title.
        notes: optional list of markdown lines placed under the title.
        frame_steps: rollout steps shown as frames (default: 1, a middle
            step and the last).

    Returns:
        The path of ``report.md``.
    """
    from keras_wavelit.evaluation.plots import plot_error_spectra
    from keras_wavelit.evaluation.plots import plot_rollout_frames
    from keras_wavelit.evaluation.plots import plot_training_curves
    from keras_wavelit.evaluation.plots import plot_vrmse_vs_step
    from keras_wavelit.training.runs import read_history

    os.makedirs(out_dir, exist_ok=True)
    lines = [f"# {title}", ""]
    lines += list(notes or [])
    evals = {label: _load_evaluation(d) for label, d in evaluations.items()}

    # headline table: median VRMSE per window, per model
    window_names = []
    for ev in evals.values():
        for w in ev["windows"]["vrmse"]:
            if w["name"] not in window_names:
                window_names.append(w["name"])
    lines += ["", "## Rollout VRMSE (median over test trajectories, physical units)", ""]
    lines.append("| model | " + " | ".join(f"[{n}]" for n in window_names) + " | diverged |")
    lines.append("|---" * (len(window_names) + 2) + "|")
    for label, ev in evals.items():
        by_name = {w["name"]: w for w in ev["windows"]["vrmse"]}
        cells = []
        for n in window_names:
            v = by_name.get(n, {}).get("median")
            cells.append("—" if v is None else f"{v:.4f}")
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {len(ev['divergences'])}/{ev['n_trajectories']} |"
        )

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
    lines += [
        "",
        f"## Rollout of one test trajectory ({first_label})",
        "",
        f"Rows: truth, prediction, error; columns: rollout steps {steps}.",
        "",
        f"![rollout frames]({os.path.basename(frames)})",
        "",
        "## VRMSE against rollout step",
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

    for label, path in (histories or {}).items():
        hist = read_history(path)
        if not hist:
            continue
        name = "training_" + "".join(c if c.isalnum() else "_" for c in label) + ".png"
        png = plot_training_curves(hist, os.path.join(out_dir, name))
        lines += ["", f"## Training curves: {label}", "", f"![training {label}]({name})"]

    lines += ["", "## Per-window details", ""]
    for label, d in evaluations.items():
        md = os.path.join(d, "evaluation.md")
        if os.path.exists(md):
            lines += [f"### {label}", "", open(md).read(), ""]
    path = os.path.join(out_dir, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
