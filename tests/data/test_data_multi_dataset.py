"""MultiDatasetSequence: one batch stream over several datasets in The Well's layout."""

import numpy as np
import pytest

from keras_wavelit.data import WellSequence
from keras_wavelit.data.channels import ChannelRegistry
from keras_wavelit.data.channels import default_registry
from keras_wavelit.data.multi_dataset import MultiDatasetSequence
from keras_wavelit.data.sampling import sampling_probabilities

NAMES = ["gray_scott_2d", "kolmogorov_2d", "acoustic_scattering_2d"]


@pytest.fixture(scope="module")
def sequences(well_base):
    return {n: WellSequence(well_base, n, "train", n_steps_input=2, batch_size=2) for n in NAMES}


def _stream(seq):
    return [seq.batch_indices(i) for i in range(len(seq))]


def test_batches_from_one_dataset_in_the_models_contract(sequences):
    train = MultiDatasetSequence(sequences, method="sqrt", seed=0, steps_per_epoch=12)
    counts = [
        s.n_samples * (s.spatial_shape[0] // 2) * (s.spatial_shape[1] // 2)
        for s in sequences.values()
    ]
    np.testing.assert_allclose(
        list(train.probabilities.values()), sampling_probabilities(counts, "sqrt")
    )
    seen = set()
    for i in range(len(train)):
        x, y = train[i]
        k = int(x["dataset"][0])
        assert np.all(x["dataset"] == k)
        name = NAMES[k]
        seen.add(name)
        seq = sequences[name]
        assert x["fields"].shape == (2, 2, 32, 32, seq.n_channels)
        assert y.shape == (2, 1, 32, 32, seq.n_channels)
        # constants padded to the largest count (2, acoustic_scattering_2d's)
        assert x["constants"].shape == (2, 32, 32, 2)
        if name != "acoustic_scattering_2d":
            assert np.all(x["constants"] == 0)
        # the samples are the dataset's own, unchanged
        _, ids = train.batch_indices(i)
        np.testing.assert_array_equal(x["fields"][0], seq.sample(int(ids[0]))[0])
    assert len(seen) >= 2


def test_deterministic_for_a_seed_and_epochs_differ(sequences):
    a = MultiDatasetSequence(sequences, seed=5, steps_per_epoch=20)
    b = MultiDatasetSequence(sequences, seed=5, steps_per_epoch=20)
    first = _stream(a)
    assert [(n, list(i)) for n, i in first] == [(n, list(i)) for n, i in _stream(b)]
    c = MultiDatasetSequence(sequences, seed=6, steps_per_epoch=20)
    assert [n for n, _ in _stream(c)] != [n for n, _ in first]
    # an epoch counts once all of its batches were served
    a.on_epoch_begin()
    for i in range(len(a)):
        a.batch_indices(i)
        a._served.add(i)
    a.on_epoch_begin()
    assert a.epoch == 1 and [n for n, _ in _stream(a)] != [n for n, _ in first]
    assert [h["epoch"] for h in a.history] == [0, 1]


def test_method_uniform_and_adaptive_update(sequences):
    u = MultiDatasetSequence(sequences, method="uniform", steps_per_epoch=3000)
    draws = [u.batch_indices(i)[0] for i in range(len(u))]
    freq = [draws.count(n) / len(draws) for n in NAMES]
    np.testing.assert_allclose(freq, 1 / 3, atol=0.04)
    ad = MultiDatasetSequence(sequences, method="adaptive", floor=0.05)
    ad.update({n: 1.0 for n in NAMES})
    p = ad.update({"gray_scott_2d": 5.0, "kolmogorov_2d": 1.0, "acoustic_scattering_2d": 1.0})
    assert p[0] == max(p) and min(p) >= 0.05


def test_channels_reordered_by_name_and_mismatch_errors(well_base):
    reg = ChannelRegistry()
    reg.register("kolmogorov_2d", ["velocity_x", "velocity_y", "vorticity"], boundary="periodic")
    seq = WellSequence(well_base, "kolmogorov_2d", "train", n_steps_input=2, batch_size=2)
    multi = MultiDatasetSequence({"kolmogorov_2d": seq}, registry=reg, shuffle=False)
    x, _ = multi[0]
    _, ids = multi.batch_indices(0)
    raw = seq.sample(int(ids[0]))[0]  # vorticity, velocity_x, velocity_y
    np.testing.assert_array_equal(x["fields"][0], raw[..., [1, 2, 0]])
    assert "constants" not in x
    bad = ChannelRegistry()
    bad.register("kolmogorov_2d", ["vorticity", "velocity_x"])
    with pytest.raises(ValueError, match="do not match the registry"):
        MultiDatasetSequence({"kolmogorov_2d": seq}, registry=bad)
    with pytest.raises(KeyError, match="Unknown dataset"):
        MultiDatasetSequence({"kolmogorov_2d": seq}, registry=ChannelRegistry())
    with pytest.raises(ValueError, match="not in `datasets`"):
        MultiDatasetSequence({"kolmogorov_2d": seq}, datasets=["gray_scott_2d"])


def test_works_on_a_real_well_directory(dummy_base):
    """The same code reads data written by the_well's own dummy-data writer."""
    import os

    name = sorted(os.listdir(os.path.join(dummy_base, "datasets")))[0]
    seq = WellSequence(dummy_base, name, "train", n_steps_input=1, batch_size=1)
    reg = default_registry().copy()
    reg.register(name, seq.channel_names, seq.constant_channel_names, overwrite=True)
    multi = MultiDatasetSequence({name: seq}, registry=reg, steps_per_epoch=2)
    x, y = multi[1]
    assert x["fields"].shape[-1] == len(seq.channel_names)
    assert y.shape[1] == 1 and np.all(np.isfinite(x["fields"]))


def test_two_shards_read_disjoint_samples_on_the_same_schedule(well_base, sequences):
    def shard(index):
        seqs = {
            n: WellSequence(well_base, n, "train", n_steps_input=2, batch_size=4, shard=(index, 2))
            for n in NAMES
        }
        return MultiDatasetSequence(seqs, method="sqrt", seed=3, steps_per_epoch=12)

    a, b = shard(0), shard(1)
    whole = MultiDatasetSequence(sequences, method="sqrt", seed=3, steps_per_epoch=12)
    # probabilities from the whole split's sample counts, not a shard's
    np.testing.assert_allclose(list(a.probabilities.values()), list(whole.probabilities.values()))
    np.testing.assert_allclose(list(b.probabilities.values()), list(whole.probabilities.values()))
    stream_a, stream_b = _stream(a), _stream(b)
    assert [n for n, _ in stream_a] == [n for n, _ in stream_b]  # same dataset every step
    read = {0: {n: set() for n in NAMES}, 1: {n: set() for n in NAMES}}
    for i, ((name, ids_a), (_, ids_b)) in enumerate(zip(stream_a, stream_b)):
        assert len(ids_a) == len(ids_b) == 2  # local batch: 4 // 2
        assert set(ids_a) <= set(a.sequences[name].sample_indices)
        assert set(ids_b) <= set(b.sequences[name].sample_indices)
        read[0][name].update(int(j) for j in ids_a)
        read[1][name].update(int(j) for j in ids_b)
        x, y = a[i]
        assert x["fields"].shape[0] == 2 and y.shape[0] == 2
        np.testing.assert_array_equal(
            x["fields"][0], a.sequences[name].sample(int(ids_a[0]))[0][..., a._orders[name][0]]
        )
    for name in NAMES:
        assert read[0][name] and read[1][name]
        assert not read[0][name] & read[1][name]


def test_set_epoch_and_the_callback_resume_the_stream(sequences):
    from keras_wavelit.data.multi_dataset import DatasetSamplingCallback

    def advance(seq):
        seq.on_epoch_begin()
        for i in range(len(seq)):
            seq.batch_indices(i)
            seq._served.add(i)

    ran = MultiDatasetSequence(sequences, seed=2, steps_per_epoch=7)
    for _ in range(3):
        advance(ran)
    ran.on_epoch_begin()
    assert ran.epoch == 3
    resumed = MultiDatasetSequence(sequences, seed=2, steps_per_epoch=7)
    DatasetSamplingCallback(resumed).on_epoch_begin(3)  # Keras's initial_epoch of a resumed run
    resumed.on_epoch_begin()
    assert resumed.epoch == 3
    expected = [(n, list(i)) for n, i in _stream(ran)]
    assert [(n, list(i)) for n, i in _stream(resumed)] == expected
    with pytest.raises(ValueError, match="`epoch` must be >= 0"):
        resumed.set_epoch(-1)


def test_adaptive_resume_replays_the_recorded_validation_losses(sequences, tmp_path):
    from keras_wavelit.data.multi_dataset import DatasetSamplingCallback

    rng = np.random.default_rng(0)
    losses = [{n: float(rng.uniform(0.1, 1.0)) for n in NAMES} for _ in range(3)]
    ran = MultiDatasetSequence(sequences, method="adaptive", seed=4, steps_per_epoch=6)
    for epoch in range(3):
        ran.on_epoch_begin()
        for i in range(len(ran)):
            ran.batch_indices(i)
            ran._served.add(i)
        ran.update(losses[epoch])
    ran.on_epoch_begin()
    assert ran.epoch == 3
    # the adaptive rule moved the probabilities away from the initial sqrt mix
    fresh = MultiDatasetSequence(sequences, method="adaptive", seed=4, steps_per_epoch=6)
    assert not np.allclose(list(ran.probabilities.values()), list(fresh.probabilities.values()))

    history = tmp_path / "history.csv"
    cols = ["epoch", "loss"] + [f"val_loss_{n}" for n in NAMES]
    rows = [",".join(cols)]
    for e, d in enumerate(losses):
        rows.append(",".join([str(e), "1.0"] + [repr(d[n]) for n in NAMES]))
    history.write_text("\n".join(rows) + "\n")
    resumed = MultiDatasetSequence(sequences, method="adaptive", seed=4, steps_per_epoch=6)
    callback = DatasetSamplingCallback(resumed, history_path=str(history))
    callback.on_train_begin()
    callback.on_epoch_begin(3)
    resumed.on_epoch_begin()
    assert resumed.epoch == 3
    np.testing.assert_allclose(
        list(resumed.probabilities.values()), list(ran.probabilities.values()), rtol=1e-12
    )
    expected = [(n, list(i)) for n, i in _stream(ran)]
    assert [(n, list(i)) for n, i in _stream(resumed)] == expected
    assert [h["epoch"] for h in resumed.history] == [0, 1, 2, 3]

    # a history without the losses: a warning, and the current probabilities
    history.write_text("epoch,loss\n0,1.0\n1,1.0\n2,1.0\n")
    other = MultiDatasetSequence(sequences, method="adaptive", seed=4, steps_per_epoch=6)
    callback = DatasetSamplingCallback(other, history_path=str(history))
    callback.on_train_begin()
    with pytest.warns(UserWarning, match="no validation losses"):
        callback.on_epoch_begin(3)
    assert other.epoch == 3
    with pytest.raises(ValueError, match="3 needed"):
        other.restore(3, losses[:2])
