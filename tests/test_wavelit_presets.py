import os

import keras
import numpy as np
import pytest

from keras_wavelit.models import PRESETS
from keras_wavelit.models import WAVELIT_PRESETS
from keras_wavelit.models import WaveLiT
from keras_wavelit.models.wavelit_presets import DEFAULT_PRESET


@pytest.mark.parametrize("size", sorted(WAVELIT_PRESETS))
def test_preset_parameter_counts(size):
    model = WaveLiT.from_preset(size, auto_compile=False)
    model.build((None, 4, 64, 64, 4))
    n = model.count_params()
    assert n == WAVELIT_PRESETS[size]["metadata"]["params"]
    target = float(size.split("M")[0]) * 1e6  # "1.2M", "1.2M-fast": 1.2e6
    assert abs(n - target) / target < 0.05, n
    assert n == sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_one_source_of_truth():
    for name, preset in WAVELIT_PRESETS.items():
        assert PRESETS[name] == preset["config"]
        model = WaveLiT(size=name, auto_compile=False)
        assert {k: getattr(model, k) for k in preset["config"]} == preset["config"]
    default = WaveLiT(auto_compile=False)
    config = WAVELIT_PRESETS[DEFAULT_PRESET]["config"]
    assert {k: getattr(default, k) for k in config} == config
    assert WaveLiT.presets is WAVELIT_PRESETS


def test_from_preset_overrides_and_files(tmp_path):
    model = WaveLiT.from_preset("9.5M", depth=1, auto_compile=False)
    assert (model.dim, model.depth, model.num_heads, model.size) == (256, 1, 8, "9.5M")
    presets = r"presets are \['1.2M', '1.2M-fast', '9.5M'\]"
    with pytest.raises(ValueError, match=r"Unknown WaveLiT preset '3M'; " + presets):
        WaveLiT.from_preset("3M")
    small = WaveLiT(dim=16, depth=1, num_heads=2, auto_compile=False)
    x = np.zeros((1, 2, 16, 16, 1), "float32")
    small(x)
    path = os.path.join(str(tmp_path), "small.keras")
    small.save(path)
    loaded = WaveLiT.from_preset(path)
    assert isinstance(loaded, WaveLiT) and loaded.dim == 16
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(small(x)), atol=1e-6
    )
    with pytest.raises(ValueError, match="takes no other arguments"):
        WaveLiT.from_preset(path, depth=2)
