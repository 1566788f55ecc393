"""The canonical channel registry of the foundation model."""

import pytest

from keras_wavelit.data.channels import EMBEDDED_DATASETS
from keras_wavelit.data.channels import WELL_2D_DATASETS
from keras_wavelit.data.channels import ChannelRegistry
from keras_wavelit.data.channels import DatasetChannels
from keras_wavelit.data.channels import default_registry
from keras_wavelit.data.sampling import PAPER_TABLE_7


def test_prefilled_with_the_wells_2d_datasets_and_the_embedded_ones():
    reg = default_registry()
    assert list(WELL_2D_DATASETS) == list(PAPER_TABLE_7)
    for name in WELL_2D_DATASETS + EMBEDDED_DATASETS:
        assert name in reg
    # Table 7: tokens per example and training examples
    for name, (n, t) in PAPER_TABLE_7.items():
        assert reg[name].tokens_per_example == t
        assert reg[name].train_examples == n
    assert reg["active_matter"].fields[:3] == ("concentration", "velocity_x", "velocity_y")
    assert len(reg["active_matter"].fields) == 11
    assert reg["acoustic_scattering_maze"].constants == ("density", "speed_of_sound")
    assert reg["helmholtz_staircase"].constants == ("mask",)
    assert reg["gray_scott_2d"].boundary == "periodic"
    assert reg["acoustic_scattering_2d"].boundary == "reflect"


def test_shared_variables_share_one_channel():
    reg = default_registry()
    sub = reg.subset(["shear_flow", "rayleigh_benard", "kolmogorov_2d"])
    vx = sub.channels.index("velocity_x")
    assert vx in sub.field_indices("shear_flow")
    assert vx in sub.field_indices("rayleigh_benard")
    assert vx in sub.field_indices("kolmogorov_2d")
    assert len(sub.channels) == len(set(sub.channels))
    # union of the three: pressure, tracer, velocity_x/y, buoyancy, vorticity
    assert sorted(sub.channels) == sorted(
        ["pressure", "tracer", "velocity_x", "velocity_y", "buoyancy", "vorticity"]
    )


def test_register_appends_channels_without_renumbering():
    reg = ChannelRegistry()
    reg.register("a", ["u", "v"])
    reg.register("b", ["v", "w"], constants=["mask"], boundary="periodic")
    assert reg.channels == ["u", "v", "w"]
    assert reg.field_indices("b") == [1, 2]
    assert reg.constant_indices("b") == [0]
    before = reg.channels
    reg.register("c", ["z", "u"])
    assert reg.channels[: len(before)] == before
    # same spec again is fine, a different one needs overwrite
    reg.register("a", ["u", "v"])
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a", ["u"])
    reg.register("a", ["u"], overwrite=True)
    clone = ChannelRegistry.from_config(reg.get_config())
    assert clone.channels == reg.channels and clone.names == reg.names


def test_clear_errors():
    reg = default_registry()
    with pytest.raises(KeyError, match="Unknown dataset 'nope'"):
        reg["nope"]
    with pytest.raises(ValueError, match="missing \\['B'\\]"):
        reg.check_channels("gray_scott_2d", ["A", "C"])
    order, _ = reg.check_channels("kolmogorov_2d", ["velocity_x", "velocity_y", "vorticity"])
    assert order == [2, 0, 1]
    with pytest.raises(ValueError, match="boundary"):
        DatasetChannels("x", ["u"], boundary="wrap")
    with pytest.raises(ValueError, match="at least one"):
        DatasetChannels("x", [])


def test_embedded_datasets_match_their_files(well_base):
    from keras_wavelit.data import WellSequence

    reg = default_registry()
    for name in EMBEDDED_DATASETS:
        seq = WellSequence(well_base, name, "valid", batch_size=1)
        reg.check_channels(name, seq.channel_names, seq.constant_channel_names)
        assert list(reg[name].fields) == seq.channel_names
