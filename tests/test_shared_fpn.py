import keras
import numpy as np
import pytest
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import RidgeMILABlock
from keras_wavelit.layers import SharedFPN


@pytest.mark.parametrize("levels,upsample", [(0, "bilinear"), (1, "bilinear"), (2, "nearest")])
def test_layer_contract(levels, upsample, tmp_path):
    check_layer(
        lambda: SharedFPN(RidgeMILABlock(num_heads=2), pyramid_levels=levels, upsample=upsample),
        (2, 8, 8, 16),
        tmp_path,
    )


def test_weights_are_shared_across_levels():
    x = np.zeros((1, 16, 16, 16), "float32")
    block = RidgeMILABlock(num_heads=2)
    block(x)
    n_block = block.count_params()
    for levels in (0, 1, 3):
        fpn = SharedFPN(RidgeMILABlock(num_heads=2), pyramid_levels=levels)
        fpn(x)
        assert fpn.count_params() == n_block + levels + 1


def test_levels_zero_is_the_block():
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 16)).astype("float32")
    block = RidgeMILABlock(num_heads=2)
    fpn = SharedFPN(block, pyramid_levels=0)
    np.testing.assert_allclose(to_numpy(fpn(x)), to_numpy(block(x)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("combine", ["residual", "output"])
def test_aggregation_formula_nearest(combine):
    x = np.random.default_rng(1).standard_normal((1, 8, 8, 16)).astype("float32")
    block = RidgeMILABlock(num_heads=2)
    fpn = SharedFPN(block, pyramid_levels=1, upsample="nearest", combine=combine)
    out = to_numpy(fpn(x))
    fpn.level_weights.assign(np.array([0.3, 0.9], "float32"))
    out = to_numpy(fpn(x))
    pooled = x.reshape(1, 4, 2, 4, 2, 16).mean(axis=(2, 4))
    y0 = to_numpy(block(x))
    y1 = to_numpy(block(pooled))
    up = lambda a: a.repeat(2, axis=1).repeat(2, axis=2)  # noqa: E731
    if combine == "residual":
        expected = x + 0.3 * (y0 - x) + 0.9 * up(y1 - pooled)
    else:
        expected = 0.3 * y0 + 0.9 * up(y1)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_residual_combine_passes_fine_scales():
    # A block that returns its input unchanged: the residual combination is
    # the identity at any level count; the output combination blurs.
    class Identity(keras.layers.Layer):
        def call(self, x, training=None):
            return x

    x = np.random.default_rng(2).standard_normal((1, 8, 8, 4)).astype("float32")
    np.testing.assert_allclose(
        to_numpy(SharedFPN(Identity(), pyramid_levels=2, combine="residual")(x)),
        x,
        rtol=1e-6,
        atol=1e-6,
    )
    blurred = to_numpy(SharedFPN(Identity(), pyramid_levels=2)(x))
    assert np.abs(blurred - x).max() > 0.1


def test_default_is_eq3_and_saved_configs_keep_their_combination():
    fpn = SharedFPN(RidgeMILABlock(num_heads=2), pyramid_levels=1)
    assert fpn.combine == "output"  # the paper's Eq. 3
    config = fpn.get_config()
    assert config["pyramid_levels"] == 1 and "levels" not in config
    residual = SharedFPN.from_config(dict(config, combine="residual"))
    assert residual.combine == "residual"
    # Saved before `combine` and `pyramid_levels` existed (release 0.1.0).
    old = {k: v for k, v in config.items() if k not in ("combine", "pyramid_levels")}
    old["levels"] = 2
    with pytest.warns(DeprecationWarning, match="pyramid_levels"):
        revived = SharedFPN.from_config(old)
    assert (revived.combine, revived.pyramid_levels) == ("output", 2)


def test_initial_weights_sum_to_one():
    fpn = SharedFPN(RidgeMILABlock(num_heads=2), pyramid_levels=3)
    fpn(np.zeros((1, 16, 16, 16), "float32"))
    np.testing.assert_allclose(to_numpy(fpn.level_weights).sum(), 1.0, rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="multiple of 4"):
        SharedFPN(RidgeMILABlock(num_heads=2), pyramid_levels=2)(np.zeros((1, 6, 8, 16), "float32"))
    with pytest.raises(ValueError, match="pyramid_levels"):
        SharedFPN(RidgeMILABlock(), pyramid_levels=-1)
    with pytest.raises(TypeError, match="pyramid_levels"):
        SharedFPN(RidgeMILABlock(), pyramid_levels=2, levels=3)
    with pytest.raises(ValueError, match="upsample"):
        SharedFPN(RidgeMILABlock(), upsample="cubic")
    with pytest.raises(ValueError, match="combine"):
        SharedFPN(RidgeMILABlock(), combine="sum")


@pytest.mark.parametrize(
    "shape", [(32, 32, 16, 16), (32, 32, 8, 8), (64, 48, 16, 12), (8, 8, 1, 1)]
)
def test_bilinear_matrix_upsampling_matches_keras_resize(shape, rng):
    from keras import ops

    from keras_wavelit.layers.shared_fpn import bilinear_matrix

    h, w, h_in, w_in = shape
    y = rng.normal(size=(2, h_in, w_in, 3)).astype("float32")
    ref = ops.convert_to_numpy(
        ops.image.resize(y, (h, w), interpolation="bilinear", antialias=False)
    )
    out = np.einsum("Hh,bhwc->bHwc", bilinear_matrix(h, h_in), y)
    out = np.einsum("Ww,bhwc->bhWc", bilinear_matrix(w, w_in), out)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
    # Rows are convex weights: constants stay constant.
    np.testing.assert_allclose(bilinear_matrix(h, h_in).sum(axis=1), 1.0, rtol=1e-6)
