"""WellSequence: the model's batch contract, normalization, modes, and model.fit."""

import os

import keras
import numpy as np
import pytest

from keras_wavelit.data import WellDataError
from keras_wavelit.data import WellSequence

AC = "acoustic_scattering_2d"  # 32x32, 4 trajectories (2/1/1), 12 steps, constants
GS = "gray_scott_2d"  # 32x32, 3 trajectories (1/1/1), 8 steps, no constants


def test_batches_follow_the_model_contract(well_base):
    seq = WellSequence(well_base, AC, "train", n_steps_input=2, n_steps_output=3, batch_size=4)
    assert seq.n_samples == 2 * (12 - 5 + 1)
    assert len(seq) == 4
    x, y = seq[0]
    assert set(x) == {"fields", "constants"}
    assert x["fields"].shape == (4, 2, 32, 32, 3) and x["fields"].dtype == np.float32
    assert x["constants"].shape == (4, 32, 32, 2) and x["constants"].dtype == np.float32
    assert y.shape == (4, 3, 32, 32, 3) and y.dtype == np.float32
    assert seq.channel_names == ["pressure", "velocity_x", "velocity_y"]
    assert seq.constant_channel_names == ["density", "speed_of_sound"]
    x_last, _ = seq[len(seq) - 1]
    assert x_last["fields"].shape[0] == seq.n_samples - 4 * (len(seq) - 1)

    gs = WellSequence(well_base, GS, "valid", batch_size=3)
    x, y = gs[0]
    assert isinstance(x, np.ndarray) and x.shape == (3, 1, 32, 32, 2)
    assert gs.channel_names == ["A", "B"] and not gs.has_constants


def test_normalization_is_the_wells_zscore_and_invertible(well_base):
    from the_well.data import WellDataset
    from the_well.data.normalization import ZScoreNormalization

    ds_dir = os.path.join(well_base, "datasets", AC)
    ref = WellDataset(
        path=ds_dir,
        well_split_name="valid",
        n_steps_input=2,
        n_steps_output=1,
        use_normalization=True,
        normalization_type=ZScoreNormalization,
    )
    for in_memory in (True, False):
        seq = WellSequence(
            well_base, AC, "valid", n_steps_input=2, batch_size=5, in_memory=in_memory
        )
        raw = WellSequence(
            well_base,
            AC,
            "valid",
            n_steps_input=2,
            batch_size=5,
            normalize=False,
            in_memory=in_memory,
        )
        (x, y), (x_raw, y_raw) = seq[1], raw[1]
        sample = ref[5]  # batch 1, position 0 (no shuffling outside train)
        np.testing.assert_allclose(
            x["fields"][0], sample["input_fields"].numpy(), rtol=1e-6, atol=1e-6
        )
        np.testing.assert_allclose(y[0], sample["output_fields"].numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            x["constants"][0], sample["constant_fields"].numpy(), rtol=1e-6, atol=1e-6
        )
        # Invertible, for metrics in physical units (NumPy and backend tensors).
        np.testing.assert_allclose(seq.denormalize(y), y_raw, rtol=1e-5, atol=1e-6)
        back = keras.ops.convert_to_numpy(seq.denormalize(keras.ops.convert_to_tensor(y)))
        np.testing.assert_allclose(back, y_raw, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(seq.normalize_fields(y_raw), y, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(
            seq.denormalize_constants(x["constants"]), x_raw["constants"], rtol=1e-5, atol=1e-6
        )
    # Every split uses the dataset's (training) statistics.
    train = WellSequence(well_base, AC, "train")
    test = WellSequence(well_base, AC, "test")
    np.testing.assert_array_equal(train.mean, test.mean)
    np.testing.assert_array_equal(train.std, test.std)


def test_normalized_training_split_is_standardized(well_base):
    seq = WellSequence(well_base, AC, "train", n_steps_input=1, batch_size=64, shuffle=False)
    xs = np.concatenate([seq[i][0]["fields"] for i in range(len(seq))])
    # Windows leave out only the last step, so per-channel moments are near 0 / 1.
    assert np.all(np.abs(xs.mean(axis=(0, 1, 2, 3))) < 0.15)
    assert np.all(np.abs(xs.std(axis=(0, 1, 2, 3)) - 1) < 0.15)


def test_in_memory_matches_the_wells_reader(well_base):
    kwargs = dict(
        n_steps_input=2, n_steps_output=2, time_stride=2, batch_size=3, shuffle=True, seed=5
    )
    a = WellSequence(well_base, AC, "train", in_memory=True, **kwargs)
    b = WellSequence(well_base, AC, "train", in_memory=False, **kwargs)
    assert len(a) == len(b)
    for i in (0, len(a) - 1):
        (xa, ya), (xb, yb) = a[i], b[i]
        np.testing.assert_array_equal(xa["fields"], xb["fields"])
        np.testing.assert_array_equal(xa["constants"], xb["constants"])
        np.testing.assert_array_equal(ya, yb)


def test_field_selection(well_base):
    seq = WellSequence(
        well_base, AC, "valid", fields=["velocity"], constant_fields=[], batch_size=2
    )
    x, y = seq[0]
    assert isinstance(x, np.ndarray) and x.shape[-1] == 2 and y.shape[-1] == 2
    assert seq.channel_names == ["velocity_x", "velocity_y"]
    full = WellSequence(well_base, AC, "valid", normalize=False, batch_size=2)
    part = WellSequence(
        well_base,
        AC,
        "valid",
        normalize=False,
        batch_size=2,
        fields=["velocity_y", "pressure"],
        constant_fields=["speed_of_sound"],
    )
    (xf, yf), (xp, yp) = full[0], part[0]
    np.testing.assert_array_equal(xp["fields"], xf["fields"][..., [2, 0]])
    np.testing.assert_array_equal(xp["constants"], xf["constants"][..., [1]])
    np.testing.assert_array_equal(yp, yf[..., [2, 0]])
    normed = WellSequence(well_base, AC, "valid", fields=["velocity_y"])
    assert normed.mean.shape == (1,)
    assert normed.mean[0] == WellSequence(well_base, AC, "valid").mean[2]
    with pytest.raises(WellDataError, match="unknown field 'temperature'"):
        WellSequence(well_base, AC, "valid", fields=["temperature"])


def test_shuffling_is_seeded_and_changes_per_epoch(well_base):
    def first_batch(seq):
        return seq[0][1]

    a = WellSequence(well_base, AC, "train", batch_size=4, seed=1)
    b = WellSequence(well_base, AC, "train", batch_size=4, seed=1)
    c = WellSequence(well_base, AC, "train", batch_size=4, seed=2)
    np.testing.assert_array_equal(first_batch(a), first_batch(b))
    assert not np.array_equal(first_batch(a), first_batch(c))
    epoch0 = first_batch(a)
    a.on_epoch_end()
    assert not np.array_equal(first_batch(a), epoch0)
    ordered = WellSequence(well_base, AC, "train", batch_size=4, shuffle=False)
    unshuffled = WellSequence(well_base, AC, "train", batch_size=4, shuffle=False)
    ordered.on_epoch_end()
    np.testing.assert_array_equal(first_batch(ordered), first_batch(unshuffled))


def test_rollout_windows_and_whole_trajectories(well_base):
    raw = WellSequence(
        well_base,
        AC,
        "test",
        normalize=False,
        n_steps_input=1,
        n_steps_output=11,
        constant_fields=[],
        batch_size=1,
    )
    assert raw.n_samples == 1  # one trajectory of 12 steps
    _, y_all = raw[0]
    windows = WellSequence(
        well_base,
        AC,
        "test",
        normalize=False,
        n_steps_input=2,
        n_steps_output=4,
        constant_fields=[],
        batch_size=1,
    )
    assert windows.n_samples == 12 - 6 + 1
    x, y = windows[3]
    np.testing.assert_array_equal(y[0], y_all[0, 4:8])  # steps 5..8 of the trajectory

    full = WellSequence(well_base, AC, "train", full_trajectory=True, n_steps_input=2, batch_size=2)
    assert full.n_samples == 2 and full.output_steps == 10
    x, y = full[0]
    assert x["fields"].shape == (2, 2, 32, 32, 3) and y.shape == (2, 10, 32, 32, 3)
    capped = WellSequence(
        well_base, AC, "train", full_trajectory=True, n_steps_input=2, max_rollout_steps=4
    )
    assert capped[0][1].shape[1] == 4


def test_reads_the_wells_dummy_data(dummy_base):
    """Independent fixture: files written by the_well's own write_dummy_data."""
    seq = WellSequence(
        dummy_base, "dummy", "train", n_steps_input=3, n_steps_output=2, batch_size=4
    )
    assert seq.channel_names == ["field_x", "field_y"]
    assert seq.constant_channel_names == ["constant_field"]
    assert seq.n_samples == 2 * (10 - 5 + 1)
    x, y = seq[0]
    assert x["fields"].shape == (4, 3, 32, 32, 2) and x["constants"].shape == (4, 32, 32, 1)
    assert y.shape == (4, 2, 32, 32, 2)
    assert np.all(np.isfinite(y))
    # the_well's own convention, well_base_path = <base>/datasets, works too.
    alt = WellSequence(os.path.join(dummy_base, "datasets"), "dummy", "valid", batch_size=2)
    assert alt.n_samples == 2 * 9


def test_custom_named_dataset(well_base, tmp_path):
    """Any dataset name works as long as the layout is The Well's."""
    import shutil

    shutil.copytree(os.path.join(well_base, "datasets", GS), tmp_path / "datasets" / "my_reaction")
    seq = WellSequence(str(tmp_path), "my_reaction", "test")
    assert seq.n_samples == 7 and seq.channel_names == ["A", "B"]


def _fit(model, train, valid):
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    history = model.fit(train, validation_data=valid, epochs=2, verbose=0)
    losses = history.history["loss"] + history.history["val_loss"]
    assert len(history.history["loss"]) == 2
    assert all(np.isfinite(v) for v in losses)


def test_model_fit_with_constants(well_base):
    train = WellSequence(well_base, AC, "train", batch_size=8)
    valid = WellSequence(well_base, AC, "valid", batch_size=8)
    fields = keras.Input((1, 32, 32, 3), name="fields")
    constants = keras.Input((32, 32, 2), name="constants")
    h = keras.layers.Concatenate(axis=-1)([fields, keras.layers.Reshape((1, 32, 32, 2))(constants)])
    out = keras.layers.Conv3D(3, (1, 3, 3), padding="same")(h)
    _fit(keras.Model({"fields": fields, "constants": constants}, out), train, valid)


def test_model_fit_plain_fields(well_base):
    train = WellSequence(well_base, GS, "train", n_steps_input=2, n_steps_output=1, batch_size=2)
    valid = WellSequence(well_base, GS, "valid", n_steps_input=2, n_steps_output=1, batch_size=2)
    inputs = keras.Input((2, 32, 32, 2))
    last = keras.layers.Lambda(lambda t: t[:, -1:])(inputs)
    out = keras.layers.Add()([last, keras.layers.Conv3D(2, (1, 3, 3), padding="same")(last)])
    _fit(keras.Model(inputs, out), train, valid)


def _write_profile_dataset(base, keep_axis):
    from keras_wavelit.data import WellField
    from keras_wavelit.data import write_well_file

    rng = np.random.default_rng(0)
    n, t = 8, 6
    u = rng.normal(size=(2, t, n, n)).astype(np.float32)
    profile = rng.normal(size=(2, t, n, 1) if keep_axis else (2, t, n)).astype(np.float32)
    x = np.arange(n, dtype=np.float32)
    write_well_file(
        os.path.join(base, "datasets", "profiles", "data", "train", "profiles.hdf5"),
        dataset_name="profiles",
        time=np.arange(t, dtype=np.float32),
        space={"x": x, "y": x},
        t0_fields={"u": WellField(u), "profile": WellField(profile, dim_varying=(True, False))},
    )
    return u, profile


def test_field_constant_along_an_axis(tmp_path):
    """Stored with a size-1 axis it is read (and broadcast) like The Well does."""
    u, profile = _write_profile_dataset(str(tmp_path), keep_axis=True)
    seqs = [
        WellSequence(
            str(tmp_path),
            "profiles",
            "train",
            normalize=False,
            shuffle=False,
            in_memory=m,
            batch_size=2,
        )
        for m in (True, False)
    ]
    (xa, ya), (xb, yb) = seqs[0][0], seqs[1][0]
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(xa[0, 0, :, :, 1], np.broadcast_to(profile[0, 0], (8, 8)))
    np.testing.assert_array_equal(xa[1, 0, :, :, 0], u[0, 1])


def test_field_with_omitted_axis_is_rejected(tmp_path):
    _write_profile_dataset(str(tmp_path), keep_axis=False)
    with pytest.raises(WellDataError, match="field 'profile' .* omits the spatial axes"):
        WellSequence(str(tmp_path), "profiles", "train", normalize=False)


def test_shards_split_the_samples_and_the_global_batch(well_base):
    kwargs = dict(n_steps_input=2, n_steps_output=3, batch_size=4, seed=3)
    whole = WellSequence(well_base, AC, "train", in_memory=False, **kwargs)
    assert whole.shard == (0, 1) and whole.local_batch_size == 4
    assert whole.n_samples == whole.n_samples_total == 16  # 2 trajectories x 8 windows
    parts = [WellSequence(well_base, AC, "train", shard=(i, 2), **kwargs) for i in range(2)]
    for i, part in enumerate(parts):
        assert part.n_samples == 8 and part.local_batch_size == 2 and len(part) == 4
        np.testing.assert_array_equal(part.sample_indices, np.arange(8 * i, 8 * i + 8))
        # In memory: only the shard's trajectory was read.
        assert [a[1].shape[0] for a in part._arrays if a is not None] == [1]
        for b in range(len(part)):
            x, y = part[b]
            assert x["fields"].shape[0] == 2 and y.shape[0] == 2
            ids = part.sample_indices[part._order[2 * b : 2 * b + 2]]
            for j, index in enumerate(ids):
                xs, ys, cs = whole.sample(int(index))
                np.testing.assert_array_equal(x["fields"][j], xs)
                np.testing.assert_array_equal(x["constants"][j], cs)
                np.testing.assert_array_equal(y[j], ys)
    # Each epoch reshuffles within the shard, never across shards.
    first = parts[1]._order.copy()
    parts[1].on_epoch_end()
    assert not np.array_equal(parts[1]._order, first)
    assert sorted(parts[1].sample_indices[parts[1]._order]) == list(range(8, 16))


def test_uneven_shards_leave_out_the_remainder_and_span_trajectories(well_base):
    kwargs = dict(n_steps_input=2, n_steps_output=3, batch_size=3, shuffle=False)
    parts = [WellSequence(well_base, AC, "train", shard=(i, 3), **kwargs) for i in range(3)]
    # 16 samples over 3 processes: 5 each, sample 15 left out; equal batch counts.
    assert [list(p.sample_indices) for p in parts] == [
        list(range(0, 5)),
        list(range(5, 10)),
        list(range(10, 15)),
    ]
    assert {len(p) for p in parts} == {5}
    assert [a[1].shape[0] for a in parts[1]._arrays if a is not None] == [2]
    whole = WellSequence(well_base, AC, "train", in_memory=False, **kwargs)
    x, y = parts[1][4]  # sample 9: trajectory 1, window 1
    _, traj, t0 = whole.locate(9)
    assert (traj, t0) == (1, 1)
    np.testing.assert_array_equal(y[0], whole.sample(9)[1])


def test_shard_argument_errors(well_base):
    with pytest.raises(ValueError, match="divisible by the 3 shards"):
        WellSequence(well_base, AC, "train", batch_size=4, shard=(0, 3))
    for bad in ((2, 2), (-1, 2), (0, 0), "all", (0.5, 2), 3):
        with pytest.raises(ValueError, match="shard must be"):
            WellSequence(well_base, AC, "train", batch_size=4, shard=bad)
    # Gray-Scott's training split: 7 samples, 3 per shard, fewer than 8 / 2.
    with pytest.raises(WellDataError, match="3 samples are fewer than batch_size=4 .*shard 0 of 2"):
        WellSequence(well_base, GS, "train", batch_size=8, shard=(0, 2), drop_remainder=True)
    alone = WellSequence(well_base, GS, "valid", batch_size=2, shard="auto")
    assert alone.shard == (0, 1) and alone.local_batch_size == 2
