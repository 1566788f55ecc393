"""Batched solve of small symmetric positive-definite systems in `keras.ops`.

The ridge state of linear attention (paper Appendix A, `docs/design.md`
§2.2) needs `(G + lambda I)^-1 B` for a `d x d` Gram matrix per head.
LAPACK-backed solvers inside jitted JAX programs were seen to hang on small
CPU machines, so on JAX on a CPU the default solver is Gauss-Jordan
elimination written with plain tensor operations (no pivoting is needed for
symmetric positive-definite matrices), compiled as one loop step. It costs
`O(d^3 + d^2 k)` per system and is differentiable on every backend. Elsewhere
(TensorFlow and PyTorch, and every GPU or TPU) the default is the backend's
own solve (`keras.ops.linalg.solve`): XLA's solve on TensorFlow compiles in
seconds where the unrolled elimination took minutes, PyTorch's eager solve
is one call instead of `d` small ones, and a GPU runs a batched solve much
better than a `d`-step sequential loop. The choice is the
`"gauss_jordan_solve"` fast path of `keras_wavelit.config.set_fast_paths`.
"""

import keras
from keras import ops

from keras_wavelit import config

SOLVERS = ("auto", "gauss_jordan", "linalg")


def resolve_solver(solver="auto"):
    """The solver that `solver` means on the current backend and device.

    Args:
        solver: one of `SOLVERS`.

    Returns:
        `"gauss_jordan"` or `"linalg"`. `"auto"` is `"gauss_jordan"` where
        the `"gauss_jordan_solve"` fast path is on (with
        `keras_wavelit.config.set_fast_paths("auto")`: JAX on a CPU, no
        LAPACK call inside jitted programs) and `"linalg"` elsewhere.

    Raises:
        ValueError: for a name outside `SOLVERS`.

    Example:

    ```python
    from keras_wavelit.ops import resolve_solver

    assert resolve_solver("linalg") == "linalg"
    ```
    """
    if solver not in SOLVERS:
        raise ValueError(f"Unknown solver {solver!r}; expected one of {SOLVERS}.")
    if solver == "auto":
        return "gauss_jordan" if config.fast_path_enabled("gauss_jordan_solve") else "linalg"
    return solver


def spd_solve(a, b, solver="auto"):
    """Solves `a @ x = b` for batches of symmetric positive-definite `a`.

    Args:
        a: tensor `(..., d, d)`, symmetric positive definite.
        b: tensor `(..., d, k)` (a matrix right-hand side; pass `k = 1` for
            a single vector).
        solver: `"auto"` (default: see `resolve_solver`), `"gauss_jordan"`
            (elimination in `keras.ops`) or `"linalg"`
            (`keras.ops.linalg.solve`).

    Returns:
        Tensor `(..., d, k)`.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.ops import spd_solve

    a = np.array([[4.0, 1.0], [1.0, 3.0]], "float32")
    b = np.array([[1.0], [2.0]], "float32")
    x = spd_solve(a, b)  # [[1/11], [7/11]]
    ```
    """
    solver = resolve_solver(solver)
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b, dtype=a.dtype)
    if solver == "linalg":
        return ops.linalg.solve(a, b)
    d = a.shape[-1]
    if d is None:
        raise ValueError(f"spd_solve needs a static matrix size; got shape {tuple(a.shape)}.")

    def eliminate(j, state):
        a, b = state
        e = ops.cast(ops.one_hot(j, d), a.dtype)  # (d,)
        row_a = ops.einsum("...ij,i->...j", a, e)[..., None, :]  # (..., 1, d)
        row_b = ops.einsum("...ik,i->...k", b, e)[..., None, :]  # (..., 1, k)
        col = ops.einsum("...ij,j->...i", a, e)[..., :, None]  # (..., d, 1)
        pivot = ops.einsum("...ij,j->...i", row_a, e)[..., None]  # (..., 1, 1)
        row_a = row_a / pivot
        row_b = row_b / pivot
        # Column j minus the unit vector: row j becomes the normalised row,
        # every other row loses its component along column j.
        factor = col - e[:, None]
        return a - factor * row_a, b - factor * row_b

    if _compiled_loop_is_differentiable():
        # A loop keeps the compiled program small: XLA compiles one
        # elimination step instead of d copies of it.
        _, x = ops.fori_loop(0, d, eliminate, (a, b))
        return x
    state = (a, b)
    for j in range(d):
        state = eliminate(j, state)
    return state[1]


def _compiled_loop_is_differentiable():
    """Whether `ops.fori_loop` can be differentiated inside compiled steps.

    JAX lowers a fixed-count loop to `scan`, which XLA differentiates. On
    TensorFlow the loop becomes `tf.while_loop`, whose gradient XLA refuses
    to compile; PyTorch runs eagerly, where a Python loop is the same thing.
    """
    return keras.backend.backend() == "jax"
