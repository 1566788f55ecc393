"""stats.yaml: computed like The Well's, read back with clear errors."""

import os

import h5py
import numpy as np
import pytest
import yaml

from keras_wavelit.data import WellDataError
from keras_wavelit.data import compute_stats
from keras_wavelit.data import load_stats
from keras_wavelit.data import validate_well_file
from keras_wavelit.data import write_stats
from keras_wavelit.data.stats import STATS_KEYS
from keras_wavelit.data.stats import channel_mean_std


def test_stats_match_numpy(well_base, split_file):
    path = split_file(well_base, "acoustic_scattering_2d", "train")
    stats = compute_stats([path])
    assert set(stats) == set(STATS_KEYS)
    with h5py.File(path, "r") as f:
        p = f["t0_fields/pressure"][()].astype(np.float64)
        v = f["t1_fields/velocity"][()].astype(np.float64)
        rho = f["t0_fields/density"][()].astype(np.float64)
    np.testing.assert_allclose(stats["mean"]["pressure"], p.mean(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stats["std"]["pressure"], p.std(), rtol=1e-6)
    np.testing.assert_allclose(stats["rms"]["pressure"], np.sqrt((p**2).mean()), rtol=1e-9)
    np.testing.assert_allclose(stats["std"]["velocity"], v.std(axis=(0, 1, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(stats["std"]["density"], rho.std(), rtol=1e-6)
    dp = np.diff(p, axis=1)
    np.testing.assert_allclose(stats["mean_delta"]["pressure"], dp.mean(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(stats["std_delta"]["pressure"], dp.std(), rtol=1e-6)
    np.testing.assert_allclose(
        stats["rms_delta"]["velocity"],
        np.sqrt((np.diff(v, axis=1) ** 2).mean(axis=(0, 1, 2, 3))),
        rtol=1e-6,
    )
    # Constant fields have no time increments, as in The Well's files.
    assert "density" not in stats["mean_delta"]
    assert isinstance(stats["mean"]["velocity"], list) and len(stats["mean"]["velocity"]) == 2


def test_generated_stats_file_is_the_wells_format(well_base):
    for name in ("acoustic_scattering_2d", "gray_scott_2d", "kolmogorov_2d"):
        with open(os.path.join(well_base, "datasets", name, "stats.yaml")) as f:
            stats = yaml.safe_load(f)
        assert list(stats) == list(STATS_KEYS)


def test_the_wells_normalizer_accepts_our_stats(well_base, split_file):
    """the_well's ZScoreNormalization and RMSNormalization load our stats.yaml."""
    from the_well.data import WellDataset
    from the_well.data.normalization import RMSNormalization
    from the_well.data.normalization import ZScoreNormalization

    for norm in (ZScoreNormalization, RMSNormalization):
        ds = WellDataset(
            path=os.path.join(well_base, "datasets", "kolmogorov_2d"),
            well_split_name="valid",
            use_normalization=True,
            normalization_type=norm,
        )
        sample = ds[0]
        assert np.all(np.isfinite(sample["input_fields"].numpy()))


def _fields(well_base, split_file):
    return validate_well_file(split_file(well_base, "acoustic_scattering_2d")).fields


def test_load_stats_errors(tmp_path, well_base, split_file):
    fields = _fields(well_base, split_file)
    good = compute_stats([split_file(well_base, "acoustic_scattering_2d")])
    with pytest.raises(WellDataError, match="stats.yaml not found"):
        load_stats(str(tmp_path / "stats.yaml"), fields=fields)

    bad = {k: v for k, v in good.items() if k != "std"}
    path = tmp_path / "no_std.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(WellDataError, match=r"no_std.yaml: lacks the keys \['std'\]"):
        load_stats(str(path), fields=fields)

    bad = {k: dict(v) for k, v in good.items()}
    del bad["mean"]["velocity"]
    path = tmp_path / "no_field.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(WellDataError, match="'mean' has no entry for field 'velocity'"):
        load_stats(str(path), fields=fields)

    bad = {k: dict(v) for k, v in good.items()}
    bad["std"]["velocity"] = [1.0, 2.0, 3.0]
    path = tmp_path / "bad_shape.yaml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(WellDataError, match="std/velocity"):
        load_stats(str(path), fields=fields)

    path = tmp_path / "garbage.yaml"
    path.write_text("mean: [unclosed")
    with pytest.raises(WellDataError, match="not valid YAML"):
        load_stats(str(path), fields=fields)


def test_channel_stats_flatten_and_clip(tmp_path, well_base, split_file):
    fields = [f for f in _fields(well_base, split_file) if f.time_varying]
    stats = compute_stats([split_file(well_base, "acoustic_scattering_2d")])
    stats["std"]["pressure"] = 0.0
    path = write_stats(str(tmp_path / "stats.yaml"), stats)
    mean, std = channel_mean_std(load_stats(path, fields=fields), fields, min_std=1e-4)
    assert mean.shape == std.shape == (3,)  # pressure, velocity_x, velocity_y
    assert std[0] == np.float32(1e-4)
    np.testing.assert_allclose(mean[1:], stats["mean"]["velocity"], rtol=1e-6)
