import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.ops import boundary_indices
from keras_wavelit.ops import pad_axis
from keras_wavelit.ops import pad_spatial

NP_MODES = {"periodic": "wrap", "reflect": "reflect", "symmetric": "symmetric"}


@pytest.mark.parametrize("mode", sorted(NP_MODES))
@pytest.mark.parametrize("left,right", [(0, 0), (1, 2), (3, 3), (7, 1)])
def test_indices_match_numpy_pad(mode, left, right):
    n = 6
    ref = np.pad(np.arange(n), (left, right), mode=NP_MODES[mode])
    np.testing.assert_array_equal(boundary_indices(n, left, right, mode), ref)


@pytest.mark.parametrize("mode", sorted(NP_MODES))
def test_pad_matches_numpy_on_backend(mode):
    x = np.random.default_rng(0).standard_normal((2, 5, 6, 3)).astype("float32")
    out = to_numpy(pad_spatial(x, 2, mode))
    ref = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode=NP_MODES[mode])
    np.testing.assert_array_equal(out, ref)


def test_mixed_sides_and_zeros():
    x = np.arange(5, dtype="float32")[None]
    out = to_numpy(pad_axis(x, 1, 2, 2, "reflect", "symmetric"))
    np.testing.assert_array_equal(out[0], [2, 1, 0, 1, 2, 3, 4, 4, 3])
    out = to_numpy(pad_axis(x, 1, 1, 1, "zeros"))
    np.testing.assert_array_equal(out[0], [0, 0, 1, 2, 3, 4, 0])


def test_errors():
    with pytest.raises(ValueError, match="unknown boundary mode .*'edge'"):
        boundary_indices(4, 1, 1, "edge")
    with pytest.raises(ValueError, match="boundary_indices does not support .*'zeros'"):
        boundary_indices(4, 1, 1, "zeros")
    with pytest.raises(ValueError, match=">= 0"):
        boundary_indices(4, -1, 1, "reflect")


def test_one_list_of_boundary_modes():
    from keras_wavelit.ops import BOUNDARY_MODES
    from keras_wavelit.ops import check_boundary

    assert BOUNDARY_MODES == ("reflect", "periodic", "symmetric", "zeros")
    assert check_boundary("zeros") == "zeros"
    with pytest.raises(ValueError, match="DWT2D does not support .*'zeros'.*'reflect', 'periodic'"):
        check_boundary("zeros", ("reflect", "periodic"), "DWT2D")
    with pytest.raises(ValueError, match="unknown boundary mode `boundary='wrap'`"):
        check_boundary("wrap", owner="X")
