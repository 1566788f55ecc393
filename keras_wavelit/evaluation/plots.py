"""Figures of rollouts, error growth, error spectra and training curves.

Matplotlib is imported only when a function runs, and figures are drawn on
the non-interactive Agg canvas without touching `pyplot`'s global state,
so these work on headless machines and inside other plotting sessions.
Every function writes a PNG and returns its path (`docs/evaluation.md`).
"""

import math
import os

import numpy as np

from keras_wavelit.evaluation.growth import error_growth
from keras_wavelit.evaluation.windows import rollout_windows


def _figure(n_rows, n_cols, width, height):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            f"Plotting needs matplotlib: pip install matplotlib. Import failed with: {err}"
        ) from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    return fig, axes


def _save(fig, path, dpi=100):
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise ValueError(f"Plots are written as PNG; `path` must end in .png, got {path!r}.")
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path


def _as_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    from keras import ops

    return np.asarray(ops.convert_to_numpy(x))


def plot_rollout_frames(truth, pred, steps, field_names, path, trajectory=0, cmap="RdBu_r"):
    """Truth, prediction and error of chosen rollout steps, for every field.

    For each field, three rows (truth / prediction / prediction - truth) and
    one column per step. Truth and prediction share a color scale per field;
    the error uses a symmetric scale.

    Args:
        truth: target rollout `(T, H, W, C)` or `(N, T, H, W, C)`;
            index 0 along `T` is rollout step 1.
        pred: prediction of the same shape.
        steps: rollout steps to show, 1-based (e.g. `[1, 10, 30]`).
        field_names: one name per channel (or None: `"field 0"`...).
        path: output `.png` path.
        trajectory: which trajectory of a 5D input. Defaults to 0.
        cmap: matplotlib colormap of the fields. Defaults to `"RdBu_r"`.

    Returns:
        `path`.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.evaluation.plots import plot_rollout_frames

    truth = np.random.default_rng(0).normal(size=(8, 16, 16, 2))
    path = os.path.join(tempfile.mkdtemp(), "frames.png")
    plot_rollout_frames(truth, truth + 0.1, [1, 4, 8], ["u", "v"], path)
    assert os.path.exists(path)
    ```
    """
    truth = np.asarray(_as_numpy(truth), dtype=np.float64)
    pred = np.asarray(_as_numpy(pred), dtype=np.float64)
    if truth.shape != pred.shape:
        raise ValueError(f"truth and pred shapes differ: {truth.shape} vs {pred.shape}.")
    if truth.ndim == 5:
        truth, pred = truth[trajectory], pred[trajectory]
    if truth.ndim != 4:
        raise ValueError(f"Expected (T, H, W, C) or (N, T, H, W, C); got {truth.shape}.")
    n_t, _, _, n_c = truth.shape
    steps = [int(s) for s in steps]
    if not steps or any(s < 1 or s > n_t for s in steps):
        raise ValueError(f"`steps` must be 1-based steps in [1, {n_t}]; got {steps}.")
    if field_names is None:
        field_names = [f"field {i}" for i in range(n_c)]
    if len(field_names) != n_c:
        raise ValueError(f"{len(field_names)} field_names for {n_c} channels.")

    fig, axes = _figure(3 * n_c, len(steps), 2.2 * len(steps) + 1.0, 2.0 * 3 * n_c)
    for c, name in enumerate(field_names):
        t = truth[[s - 1 for s in steps], ..., c]
        p = pred[[s - 1 for s in steps], ..., c]
        e = p - t
        finite_tp = np.concatenate([t[np.isfinite(t)], p[np.isfinite(p)]])
        lo, hi = (finite_tp.min(), finite_tp.max()) if finite_tp.size else (-1.0, 1.0)
        finite_e = np.abs(e[np.isfinite(e)])
        emax = finite_e.max() if finite_e.size and finite_e.max() > 0 else 1.0
        rows = (
            ("truth", t, cmap, lo, hi),
            ("prediction", p, cmap, lo, hi),
            ("error", e, "RdBu_r", -emax, emax),
        )
        for r, (label, data, cm, vmin, vmax) in enumerate(rows):
            for j, s in enumerate(steps):
                ax = axes[3 * c + r, j]
                im = ax.imshow(data[j], cmap=cm, vmin=vmin, vmax=vmax, origin="lower")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(f"step {s}")
                if j == 0:
                    ax.set_ylabel(f"{name}\n{label}")
            fig.colorbar(im, ax=list(axes[3 * c + r, :]), shrink=0.8)
    return _save(fig, path)


def _per_step_curve(value):
    """A 1D per-step curve from a RolloutEvaluation or an array."""
    if hasattr(value, "per_step"):
        return np.asarray(value.per_step("vrmse", "median"), dtype=np.float64)
    arr = np.asarray(_as_numpy(value), dtype=np.float64)
    if arr.ndim == 1:
        return arr
    if arr.ndim == 3:  # (N, steps, C): field mean, median over trajectories
        return np.median(arr.mean(axis=-1), axis=0)
    if arr.ndim == 2:  # (N, steps)
        return np.median(arr, axis=0)
    raise ValueError(f"Cannot read a per-step curve from shape {arr.shape}.")


def plot_vrmse_vs_step(results_by_model, path, show_windows=True, log_scale=True):
    """Median VRMSE against rollout step, one line per model.

    A dashed line marks VRMSE 1, the error of predicting the spatial mean,
    and a ring the first step where a curve exceeds it; the legend gives each
    curve's mean growth ratio `VRMSE(t+1) / VRMSE(t)` over steps 2-12
    (`error_growth`); a dotted vertical line marks a curve's first
    non-finite step.

    Args:
        results_by_model: dict label -> a `RolloutEvaluation` (its median
            over trajectories of the field-mean VRMSE is drawn), a 1D array
            `(steps,)`, or per-trajectory values `(N, steps[, C])`.
        path: output `.png` path.
        show_windows: shade The Well's 6:12 and 13:30 windows (the part the
            longest curve covers). Defaults to True.
        log_scale: logarithmic VRMSE axis. Defaults to True.

    Returns:
        `path`.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.evaluation.plots import plot_vrmse_vs_step

    curves = {"slow growth": 0.1 * 1.1 ** np.arange(30), "fast": 0.1 * 1.3 ** np.arange(30)}
    path = os.path.join(tempfile.mkdtemp(), "vrmse.png")
    plot_vrmse_vs_step(curves, path)
    assert os.path.exists(path)
    ```
    """
    if not results_by_model:
        raise ValueError("`results_by_model` is empty.")
    fig, axes = _figure(1, 1, 6.0, 4.0 + 0.2 * len(results_by_model))
    ax = axes[0, 0]
    longest = 0
    for label, value in results_by_model.items():
        curve = _per_step_curve(value)
        steps = np.arange(1, curve.size + 1)
        shown = np.where(np.isfinite(curve), curve, np.nan)
        growth = error_growth(curve)
        if math.isfinite(growth.mean_ratio):
            label = f"{label} (x{growth.mean_ratio:.2f}/step, steps 2-{growth.last_step})"
        (line,) = ax.plot(
            steps, shown, marker="o" if curve.size <= 30 else None, ms=3, label=str(label)
        )
        if growth.crossing_step is not None and np.isfinite(curve[growth.crossing_step - 1]):
            ax.plot(
                [growth.crossing_step],
                [curve[growth.crossing_step - 1]],
                marker="o",
                ms=8,
                mfc="none",
                color=line.get_color(),
            )
        bad = ~np.isfinite(curve)
        if bad.any():
            first = int(np.argmax(bad)) + 1
            ax.axvline(first, color=line.get_color(), ls=":", lw=1)
        longest = max(longest, curve.size)
    if show_windows and longest:
        shown_windows = rollout_windows(
            longest, include_partial=True, windows=(("6:12", 6, 12), ("13:30", 13, 30))
        )
        for w, shade in zip(shown_windows, ("0.92", "0.84")):
            if not w.defined:
                continue
            ax.axvspan(w.start - 0.5, w.end + 0.5, color=shade, zorder=0)
            ax.text(
                (w.start + w.end) / 2,
                0.98,
                w.name,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="top",
                fontsize=8,
                color="0.3",
            )
    finite_pos = [
        v
        for value in results_by_model.values()
        for v in _per_step_curve(value)
        if np.isfinite(v) and v > 0
    ]
    if log_scale and finite_pos:
        ax.set_yscale("log")
    if finite_pos:
        ax.axhline(1.0, color="0.4", ls="--", lw=1, zorder=1)
    ax.set_xlabel("rollout step")
    ax.set_ylabel("VRMSE (median over trajectories)")
    ax.grid(True, alpha=0.3)
    fig.legend(loc="outside lower center", fontsize=8, ncols=1)
    return _save(fig, path)


def plot_error_spectra(spectra_by_label, path, title="Error power spectrum"):
    """Radially averaged power spectra of prediction errors, log-log.

    Args:
        spectra_by_label: dict label -> `(wavenumbers, power)` as returned
            by `error_spectrum`, or a 1D `power` array (wavenumbers
            `0..K-1`). The `k = 0` bin is not drawn on the log axis.
        path: output `.png` path.
        title: figure title.

    Returns:
        `path`.

    Example:

    ```python
    import os
    import tempfile
    import numpy as np
    from keras_wavelit.evaluation import error_spectrum
    from keras_wavelit.evaluation.plots import plot_error_spectra

    rng = np.random.default_rng(0)
    y = rng.normal(size=(2, 3, 16, 16, 1))
    spectra = {
        "small error": error_spectrum(y + 0.1 * rng.normal(size=y.shape), y),
        "large error": error_spectrum(y + rng.normal(size=y.shape), y),
    }
    path = os.path.join(tempfile.mkdtemp(), "spectra.png")
    plot_error_spectra(spectra, path)
    ```
    """
    if not spectra_by_label:
        raise ValueError("`spectra_by_label` is empty.")
    fig, axes = _figure(1, 1, 6.0, 4.0)
    ax = axes[0, 0]
    for label, value in spectra_by_label.items():
        if isinstance(value, (tuple, list)) and len(value) == 2:
            k, p = (np.asarray(v, dtype=np.float64) for v in value)
        else:
            p = np.asarray(_as_numpy(value), dtype=np.float64)
            k = np.arange(p.size, dtype=np.float64)
        if p.ndim != 1 or k.shape != p.shape:
            raise ValueError(
                f"Spectrum {label!r}: expected 1D (k, power); got {k.shape}, {p.shape}."
            )
        keep = (k > 0) & (p > 0) & np.isfinite(p)
        ax.loglog(k[keep], p[keep], label=str(label))
    ax.set_xlabel("wavenumber k")
    ax.set_ylabel("error power")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_training_curves(history_dict, path, log_scale=None):
    """Training curves from `model.fit`: each metric with its `val_` twin.

    Args:
        history_dict: `keras.callbacks.History` or its `.history` dict
            `{name: [per-epoch values]}`.
        path: output `.png` path.
        log_scale: logarithmic y axes. Defaults to True when every value is
            positive.

    Returns:
        `path`.

    Example:

    ```python
    import os
    import tempfile
    from keras_wavelit.evaluation.plots import plot_training_curves

    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4]}
    path = os.path.join(tempfile.mkdtemp(), "training.png")
    plot_training_curves(history, path)  # or the History returned by model.fit
    ```
    """
    from matplotlib.ticker import MaxNLocator

    history = getattr(history_dict, "history", history_dict)
    if not history:
        raise ValueError("The training history is empty.")
    names = [k for k in history if not k.startswith("val_")]
    names += [k[4:] for k in history if k.startswith("val_") and k[4:] not in history]
    n = len(names)
    n_cols = min(n, 3)
    n_rows = math.ceil(n / n_cols)
    fig, axes = _figure(n_rows, n_cols, 4.0 * n_cols, 3.0 * n_rows)
    for i, name in enumerate(names):
        ax = axes[i // n_cols, i % n_cols]
        values = []
        for key, label in ((name, "train"), ("val_" + name, "validation")):
            if key in history:
                y = np.asarray([float(_as_numpy(v)) for v in history[key]], dtype=np.float64)
                ax.plot(
                    np.arange(1, y.size + 1),
                    y,
                    marker="o" if y.size <= 30 else None,
                    ms=3,
                    label=label,
                )
                values.append(y)
        allv = np.concatenate(values) if values else np.array([])
        finite = allv[np.isfinite(allv)]
        use_log = log_scale if log_scale is not None else bool(finite.size and (finite > 0).all())
        if use_log and finite.size and (finite > 0).all():
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    for j in range(n, n_rows * n_cols):
        axes[j // n_cols, j % n_cols].set_visible(False)
    return _save(fig, path)
