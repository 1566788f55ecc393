import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.inputs import join_inputs
from keras_wavelit.inputs import shift_window
from keras_wavelit.inputs import split_input_shape
from keras_wavelit.inputs import split_inputs

X = np.arange(2 * 3 * 4 * 4 * 2, dtype="float32").reshape(2, 3, 4, 4, 2)
C = np.ones((2, 4, 4, 1), "float32")


def test_split_and_join_round_trip():
    assert split_inputs(X)[1] is None
    for form in ({"fields": X, "constants": C}, (X, C), [X, C]):
        fields, constants = split_inputs(form)
        assert fields is X and constants is C
    fields, constants = split_inputs({"fields": X})
    assert fields is X and constants is None
    assert join_inputs(X, None) is X
    joined = join_inputs(X, C)
    assert set(joined) == {"fields", "constants"} and joined["constants"] is C


def test_split_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"'fields'.*got keys \['x'\]"):
        split_inputs({"x": X})
    with pytest.raises(ValueError, match=r"got keys \['constants', 'fields', 'y'\]"):
        split_inputs({"fields": X, "constants": C, "y": X})
    with pytest.raises(ValueError, match="sequence of 3 inputs"):
        split_inputs((X, C, C))
    with pytest.raises(ValueError, match="^MyModel dict inputs"):
        split_inputs({"x": X}, owner="MyModel")


def test_split_input_shape():
    shape = (None, 3, 4, 4, 2)
    assert split_input_shape(shape) == (shape, None)
    assert split_input_shape(list(shape)) == (shape, None)
    const = (None, 4, 4, 1)
    assert split_input_shape({"fields": shape, "constants": const}) == (shape, const)
    assert split_input_shape({"fields_shape": shape}) == (shape, None)
    assert split_input_shape((shape, const)) == (shape, const)
    with pytest.raises(ValueError, match="'fields'"):
        split_input_shape({"x": shape})


def test_shift_window_numpy_and_tensor():
    pred = np.full((2, 1, 4, 4, 2), -1.0, "float64")
    out = shift_window(X, pred)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :2], X[:, 1:])
    np.testing.assert_array_equal(out[:, 2], -1.0)
    import keras

    tensor_out = shift_window(keras.ops.convert_to_tensor(X), keras.ops.convert_to_tensor(pred))
    np.testing.assert_array_equal(to_numpy(tensor_out), out)
    two = shift_window(X, np.zeros((2, 2, 4, 4, 2), "float32"))
    np.testing.assert_array_equal(two[:, 0], X[:, 2])
    with pytest.raises(ValueError, match="more than the window"):
        shift_window(X, np.zeros((2, 4, 4, 4, 2), "float32"))
