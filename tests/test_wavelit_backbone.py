import numpy as np
import pytest
from layer_contract import check_layer

from keras_wavelit.models import WaveLiTBackbone


def tiny(**kw):
    kw.setdefault("dim", 16)
    kw.setdefault("depth", 1)
    kw.setdefault("num_heads", 2)
    return WaveLiTBackbone(**kw)


def test_layer_contract(tmp_path):
    check_layer(lambda: tiny(), (2, 8, 8, 16), tmp_path)


def test_structure_and_config_hold_architecture_only():
    backbone = tiny(depth=3, drop_path=0.2, pyramid_levels=2, boundary="periodic")
    assert [m.name for m in backbone.mixers] == ["fpn_0", "fpn_1", "fpn_2"]
    rates = [m.block.drop_path for m in backbone.mixers]
    np.testing.assert_allclose(rates, [0.0, 0.1, 0.2])
    config = backbone.get_config()
    assert config["pyramid_levels"] == 2 and config["boundary"] == "periodic"
    for key in ("learning_rate", "warmup_steps", "weight_decay", "levels", "fpn_levels", "mode"):
        assert key not in config
    assert WaveLiTBackbone.from_config(config).get_config() == config


def test_old_argument_names_warn():
    with pytest.warns(DeprecationWarning, match="fpn_levels"):
        backbone = WaveLiTBackbone(dim=16, depth=1, num_heads=2, fpn_levels=0)
    assert backbone.pyramid_levels == 0


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"depth": 0}, "`depth` must be an integer >= 1, got 0"),
        ({"dim": -16}, "`dim` must be an integer >= 1, got -16"),
        ({"num_heads": 0}, "`num_heads` must be an integer >= 1, got 0"),
        ({"num_heads": 3}, "divisible by `num_heads`; got dim=16, num_heads=3"),
        ({"mlp_ratio": 0}, "`mlp_ratio` must be a number > 0, got 0"),
        ({"drop_path": 1.0}, r"`drop_path` must be in \[0, 1\), got 1.0"),
        ({"drop_path": -0.1}, r"`drop_path` must be in \[0, 1\), got -0.1"),
        ({"pyramid_levels": -1}, "`pyramid_levels` must be an integer >= 0, got -1"),
        ({"ridge_lambda": 0.0}, "`ridge_lambda` must be a number > 0"),
    ],
)
def test_constructor_errors_name_argument_and_value(kw, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kw)


def test_input_errors_name_the_shape():
    backbone = tiny(pyramid_levels=2)
    with pytest.raises(ValueError, match=r"pyramid_levels=2.*multiple of 4.*\(1, 6, 8, 16\)"):
        backbone(np.zeros((1, 6, 8, 16), "float32"))
    with pytest.raises(ValueError, match=r"expects tokens \(B, h, w, 16\)"):
        backbone(np.zeros((1, 8, 8, 5), "float32"))
