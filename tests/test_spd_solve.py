import keras
import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.ops import resolve_solver
from keras_wavelit.ops import spd_solve


@pytest.mark.parametrize("solver", ["auto", "gauss_jordan", "linalg"])
def test_batched_spd_solve(solver):
    rng = np.random.default_rng(0)
    m = rng.standard_normal((3, 2, 40, 8))
    a = np.einsum("...nd,...ne->...de", m, m) / 40 + 0.1 * np.eye(8)
    b = rng.standard_normal((3, 2, 8, 5))
    x = to_numpy(spd_solve(a.astype("float32"), b.astype("float32"), solver=solver))
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-4, atol=1e-4)


def test_unknown_solver():
    with pytest.raises(ValueError, match="Unknown solver"):
        spd_solve(np.eye(2, dtype="float32"), np.ones((2, 1), "float32"), solver="qr")


def test_auto_solver_per_backend():
    # No LAPACK call inside jitted JAX programs; the backend's own solve elsewhere.
    expected = "gauss_jordan" if keras.backend.backend() == "jax" else "linalg"
    assert resolve_solver("auto") == expected
    assert resolve_solver("linalg") == "linalg"
    with pytest.raises(ValueError, match="Unknown solver"):
        resolve_solver("cholesky")
