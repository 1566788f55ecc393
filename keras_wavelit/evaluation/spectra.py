"""Radially averaged power spectra of fields and of prediction errors."""

import numpy as np


def _to_numpy(x):
    if isinstance(x, np.ndarray):
        return x
    from keras import ops

    return np.asarray(ops.convert_to_numpy(x))


def rapsd(field, remove_mean=False):
    """Radially averaged power spectral density of 2D fields.

    The power `|F(k)|^2` of the 2D discrete Fourier transform, normalized
    so that its sum over all wavenumbers equals the spatial mean of
    `field^2` (Parseval), is averaged over annuli of integer radius
    `round(sqrt(kx^2 + ky^2))`, with `kx`, `ky` integer wavenumbers
    (cycles per domain). Radii run from 0 to `min(H, W) // 2`; the corners
    beyond are dropped. The paper's Figure 8 (Appendix D) compares such
    spectra of the prediction error.

    Args:
        field: array `(H, W)` or `(..., H, W)`; every leading index is
            transformed separately.
        remove_mean: bool, subtract each field's spatial mean first (zeroes
            the `k = 0` bin). Defaults to False.

    Returns:
        `(wavenumbers, power)`: `wavenumbers` is `arange(K)` with
        `K = min(H, W) // 2 + 1` and `power` has shape `(..., K)`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.evaluation import rapsd

    x = np.arange(64) / 64
    field = np.sin(2 * np.pi * 5 * x)[None, :] * np.ones((64, 1))
    k, p = rapsd(field)
    assert int(k[np.argmax(p)]) == 5
    ```
    """
    field = np.asarray(_to_numpy(field), dtype=np.float64)
    if field.ndim < 2:
        raise ValueError(f"rapsd expects (..., H, W) arrays; got shape {field.shape}.")
    h, w = field.shape[-2:]
    if remove_mean:
        field = field - field.mean(axis=(-2, -1), keepdims=True)
    power = np.abs(np.fft.fft2(field, axes=(-2, -1))) ** 2 / float(h * w) ** 2
    ky = np.fft.fftfreq(h) * h
    kx = np.fft.fftfreq(w) * w
    radius = np.rint(np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)).astype(np.int64)
    n_bins = min(h, w) // 2 + 1
    inside = radius < n_bins
    bins = radius[inside]
    # Every radius 0..n_bins-1 occurs on the kx axis, so no bin is empty.
    counts = np.bincount(bins, minlength=n_bins).astype(np.float64)
    order = np.argsort(bins, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts[:-1]).astype(np.int64)])
    lead = power.shape[:-2]
    flat = power.reshape((-1, h * w))[:, inside.ravel()][:, order]
    sums = np.add.reduceat(flat, starts, axis=1)
    spectrum = (sums / counts).reshape(lead + (n_bins,))
    return np.arange(n_bins), spectrum


def error_spectrum(y_pred, y_true, per_field=False, remove_mean=False):
    """RAPSD of the prediction error, averaged over samples and steps.

    Args:
        y_pred: prediction, channels-last `(B, T, H, W, C)`, `(B, H, W, C)`
            or `(H, W, C)`; NumPy or backend tensor.
        y_true: target of the same shape.
        per_field: bool; if True keep one spectrum per field. Defaults to
            False (also averaged over fields).
        remove_mean: passed to `rapsd`. Defaults to False.

    Returns:
        `(wavenumbers, power)` with `power` of shape `(K,)`, or
        `(C, K)` when `per_field`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.evaluation import error_spectrum

    rng = np.random.default_rng(0)
    target = rng.normal(size=(2, 3, 16, 16, 2))  # (B, T, H, W, C)
    k, p = error_spectrum(target + 0.1 * rng.normal(size=target.shape), target)
    assert k.shape == p.shape == (9,)
    ```
    """
    y_pred = np.asarray(_to_numpy(y_pred), dtype=np.float64)
    y_true = np.asarray(_to_numpy(y_true), dtype=np.float64)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"y_pred and y_true must have the same shape; got {y_pred.shape} and {y_true.shape}."
        )
    if y_pred.ndim < 3:
        raise ValueError(f"Expected channels-last (..., H, W, C) arrays; got shape {y_pred.shape}.")
    err = np.moveaxis(y_pred - y_true, -1, 0)  # (C, ..., H, W)
    k, p = rapsd(err, remove_mean=remove_mean)  # (C, ..., K)
    p = p.reshape((p.shape[0], -1, p.shape[-1])).mean(axis=1)  # (C, K)
    return k, (p if per_field else p.mean(axis=0))
