import keras
import numpy as np
import pytest
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import RidgeMILABlock

# Paper Table 14 rows as (ridge, kernel_gate, lepe, cpe, mila).
TABLE_14 = {
    "A1": (False, False, False, False, False),
    "A2": (True, False, False, False, False),
    "A3": (True, True, False, False, False),
    "A4": (True, True, True, False, False),
    "A5": (True, True, True, True, False),
    "B1": (False, False, True, False, True),
    "B2": (True, False, True, False, True),
    "B3": (True, False, True, True, True),
    "C1": (True, True, True, True, True),
}


def row_kwargs(row):
    ridge, gate, lepe, cpe, mila = TABLE_14[row]
    return dict(ridge=ridge, kernel_gate=gate, lepe=lepe, cpe=cpe, mila=mila)


@pytest.mark.parametrize("row", ["A1", "A5", "B2", "C1"])
def test_layer_contract_table_14(row, tmp_path):
    check_layer(
        lambda: RidgeMILABlock(num_heads=2, drop_path=0.1, **row_kwargs(row)),
        (2, 8, 8, 16),
        tmp_path,
    )


def test_every_table_14_row_builds_with_expected_weights():
    x = np.random.default_rng(0).standard_normal((1, 4, 4, 16)).astype("float32")
    counts = {}
    for row in TABLE_14:
        block = RidgeMILABlock(num_heads=2, **row_kwargs(row))
        assert tuple(block(x).shape) == x.shape
        counts[row] = block.count_params()
        names = {v.name for v in block.weights}
        assert ("ridge_raw" in names) == TABLE_14[row][0]
    dim = 16
    # CPE adds two 3x3 depthwise convs with bias
    assert counts["A5"] - counts["A4"] == 2 * (9 * dim + dim)
    # the kernel gate adds one dense layer
    assert counts["A3"] - counts["A2"] == dim * dim + dim
    assert counts["A2"] - counts["A1"] == 2  # one lambda per head


def test_periodic_mode_is_translation_equivariant_for_local_parts():
    # With RoPE off and periodic convs, the whole block commutes with
    # circular shifts of the token grid.
    x = np.random.default_rng(1).standard_normal((1, 8, 8, 16)).astype("float32")
    block = RidgeMILABlock(num_heads=2, rope=False, boundary="periodic")
    y = to_numpy(block(x))
    ys = to_numpy(block(np.roll(x, (3, 5), axis=(1, 2))))
    np.testing.assert_allclose(np.roll(y, (3, 5), axis=(1, 2)), ys, rtol=1e-4, atol=1e-4)


def test_any_grid():
    block = RidgeMILABlock(num_heads=2)
    for shape in [(1, 8, 8, 16), (1, 4, 12, 16), (2, 16, 16, 16)]:
        x = np.zeros(shape, "float32")
        assert tuple(block(x).shape) == shape


def test_drop_path_only_in_training():
    x = np.random.default_rng(2).standard_normal((4, 4, 4, 16)).astype("float32")
    block = RidgeMILABlock(num_heads=2, drop_path=0.5)
    a = to_numpy(block(x, training=False))
    b = to_numpy(block(x, training=False))
    np.testing.assert_array_equal(a, b)


def test_mixed_precision():
    keras.config.set_dtype_policy("mixed_bfloat16")
    block = RidgeMILABlock(num_heads=2)
    y = block(np.random.default_rng(0).standard_normal((1, 8, 8, 16)).astype("float32"))
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert np.all(np.isfinite(to_numpy(y).astype("float32")))
