"""Batched solve of small symmetric positive-definite systems in ``keras.ops``.

The ridge state of linear attention (paper Appendix A, DESIGN 2.2) needs
``(G + lambda I)^-1 B`` for a ``d x d`` Gram matrix per head. LAPACK-backed
solvers inside jitted JAX programs were seen to hang on small CPU machines,
so the default solver here is Gauss-Jordan elimination written with plain
tensor operations (no pivoting is needed for symmetric positive-definite
matrices). It costs ``O(d^3 + d^2 k)`` per system, is differentiable on every
backend, and produces identical programs on JAX, TensorFlow and PyTorch.
"""

from keras import ops

SOLVERS = ("gauss_jordan", "linalg")


def spd_solve(a, b, solver="gauss_jordan"):
    """Solves ``a @ x = b`` for batches of symmetric positive-definite ``a``.

    Args:
        a: tensor ``(..., d, d)``, symmetric positive definite.
        b: tensor ``(..., d, k)`` (a matrix right-hand side; pass ``k = 1``
            for a single vector).
        solver: ``"gauss_jordan"`` (default; unrolled elimination in
            ``keras.ops``) or ``"linalg"`` (``keras.ops.linalg.solve``).

    Returns:
        Tensor ``(..., d, k)``.

    Example:

    >>> import numpy as np
    >>> a = np.array([[4.0, 1.0], [1.0, 3.0]], "float32")
    >>> b = np.array([[1.0], [2.0]], "float32")
    >>> x = spd_solve(a, b)
    """
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b, dtype=a.dtype)
    if solver == "linalg":
        return ops.linalg.solve(a, b)
    if solver != "gauss_jordan":
        raise ValueError(f"Unknown solver {solver!r}; expected one of {SOLVERS}.")
    d = a.shape[-1]
    if d is None:
        raise ValueError(
            "spd_solve needs a static matrix size; got shape "
            f"{tuple(a.shape)}."
        )
    eye = ops.eye(d, dtype=a.dtype)
    for j in range(d):
        pivot = a[..., j : j + 1, j : j + 1]  # (..., 1, 1)
        row_a = a[..., j : j + 1, :] / pivot  # (..., 1, d)
        row_b = b[..., j : j + 1, :] / pivot  # (..., 1, k)
        # Column j minus the unit vector: row j becomes the normalised row,
        # every other row loses its component along column j.
        factor = a[..., :, j : j + 1] - eye[:, j : j + 1]  # (..., d, 1)
        a = a - factor * row_a
        b = b - factor * row_b
    return b
