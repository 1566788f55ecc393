"""WaveLiT-FM: one model for several datasets (paper sections 3.5 and 4.2)."""

import os

import keras
import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.data.multi_dataset import DatasetSamplingCallback
from keras_wavelit.data.multi_dataset import MultiDatasetSequence
from keras_wavelit.models import WaveLiTFM

T_IN = 2
TINY = dict(dim=8, depth=1, num_heads=2, pyramid_levels=0, n_steps_input=T_IN)


class FakeSequence:
    """The part of `WellSequence`'s interface `MultiDatasetSequence` uses."""

    def __init__(self, channels, constants=(), size=16, n=6, batch_size=2, seed=0):
        rng = np.random.default_rng(seed)
        self.channel_names = list(channels)
        self.constant_channel_names = list(constants)
        self.spatial_shape = (size, size)
        self.n_samples = n
        self.batch_size = batch_size
        self._x = rng.standard_normal((n, T_IN + 1, size, size, len(channels))).astype("float32")
        self._c = rng.standard_normal((n, size, size, len(constants))).astype("float32")

    def sample(self, i):
        c = self._c[i] if self.constant_channel_names else None
        return self._x[i, :T_IN], self._x[i, T_IN:], c


DATASETS = ["gray_scott_2d", "kolmogorov_2d", "acoustic_scattering_2d"]


def _sequences():
    return {
        "gray_scott_2d": FakeSequence(["A", "B"], seed=1),
        # another grid, reflecting walls and constant fields
        "acoustic_scattering_2d": FakeSequence(
            ["pressure", "velocity_x", "velocity_y"], ["density", "speed_of_sound"], 32, seed=3
        ),
    }


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    train = MultiDatasetSequence(
        _sequences(), method="sqrt", steps_per_epoch=4, seed=0, datasets=DATASETS
    )
    model = WaveLiTFM(datasets=DATASETS, **TINY)
    model.compile(warmup_steps=2)
    traces = []
    step = model.train_step

    def counting_step(*args):  # (data,) or, on JAX, (state, data)
        traces.append(tuple(args[-1][0]["fields"].shape))
        return step(*args)

    model.train_step = counting_step
    history = model.fit(train, epochs=2, verbose=0, callbacks=[DatasetSamplingCallback(train)])
    del model.train_step
    x = np.random.default_rng(0).standard_normal((2, T_IN, 16, 16, 2)).astype("float32")
    compiled = model.predict_dataset(x, "gray_scott_2d")  # the compiled predict step
    # The other tests call the model eagerly: one compiled run per test file is enough.
    model.run_eagerly = True
    return model, train, history, traces, (x, compiled)


def test_fit_on_several_datasets_one_compile_per_shape(trained):
    model, train, history, traces, (x, compiled) = trained
    losses = history.history["loss"]
    assert len(losses) == 2 and all(np.isfinite(losses))
    # the sampler's probabilities are logged per epoch
    for name in train.names:
        assert history.history[f"p_{name}"][0] == pytest.approx(train.probabilities[name])
    assert len(train.history) == 2
    if keras.backend.backend() in ("jax", "tensorflow"):
        # compiled once per distinct input shape, not per dataset or step
        # (TensorFlow traces a function a second time when its first trace
        # created variables, e.g. the metrics' state)
        assert len(set(traces)) <= 2, traces
        repeats = 1 if keras.backend.backend() == "jax" else 2
        assert len(traces) <= repeats * len(set(traces)), traces
    else:
        assert len(traces) == 8  # eager: one call per step
    np.testing.assert_allclose(
        model.predict_dataset(x, "gray_scott_2d"), compiled, rtol=1e-4, atol=1e-5
    )


def test_predict_and_rollout_by_dataset_name(trained):
    model = trained[0]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, T_IN, 16, 16, 3)).astype("float32")
    y = model.predict_dataset(x, "kolmogorov_2d")
    assert y.shape == (2, 1, 16, 16, 3) and np.all(np.isfinite(y))
    traj = model.rollout(x, steps=3, dataset="kolmogorov_2d")
    assert traj.shape == (2, 3, 16, 16, 3)
    np.testing.assert_allclose(traj[:, 0], y[:, 0], rtol=1e-4, atol=1e-5)
    # the dataset changes the prediction (task vector and head)
    gs = model.predict_dataset(x[..., :2], "gray_scott_2d")
    assert gs.shape == (2, 1, 16, 16, 2)
    c = rng.standard_normal((2, 32, 32, 2)).astype("float32")
    xa = rng.standard_normal((2, T_IN, 32, 32, 3)).astype("float32")
    ya = model.predict_dataset({"fields": xa, "constants": c}, "acoustic_scattering_2d")
    assert ya.shape == (2, 1, 32, 32, 3)


def test_clear_errors(trained):
    model = trained[0]
    x = np.zeros((1, T_IN, 16, 16, 3), "float32")
    with pytest.raises(ValueError, match="Unknown dataset 'shear_flow'"):
        model.predict_dataset(x, "shear_flow")
    with pytest.raises(ValueError, match="'gray_scott_2d' has 2 fields"):
        model.predict_dataset(x, "gray_scott_2d")
    with pytest.raises(ValueError, match="needs its constant fields"):
        model.predict_dataset(x, "acoustic_scattering_2d")
    with pytest.raises(ValueError, match="n_steps_input=2"):
        model.predict_dataset(np.zeros((1, 3, 16, 16, 3), "float32"), "kolmogorov_2d")
    with pytest.raises(ValueError, match="keys"):
        model({"fields": x})
    with pytest.raises(KeyError, match="Unknown dataset 'nope'"):
        WaveLiTFM(datasets=["nope"], **TINY)
    with pytest.raises(ValueError, match="size"):
        WaveLiTFM(datasets=DATASETS, size="1B")


def test_keras_round_trip(trained, tmp_path):
    model = trained[0]
    path = os.path.join(str(tmp_path), "fm.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    loaded.run_eagerly = True
    assert loaded.datasets == model.datasets
    x = np.random.default_rng(1).standard_normal((2, T_IN, 16, 16, 2)).astype("float32")
    np.testing.assert_allclose(
        loaded.predict_dataset(x, "gray_scott_2d"),
        model.predict_dataset(x, "gray_scott_2d"),
        rtol=1e-5,
        atol=1e-5,
    )


def test_preset_10m_within_5_percent():
    from keras_wavelit.data.channels import EMBEDDED_DATASETS
    from keras_wavelit.data.channels import WELL_2D_DATASETS

    model = WaveLiTFM(
        datasets=list(WELL_2D_DATASETS + EMBEDDED_DATASETS), size="10M", auto_compile=False
    )
    model._ensure_built()
    assert abs(model.count_params() / 10e6 - 1) < 0.05, model.count_params()


def test_expand_to_a_new_dataset_keeps_weights(trained):
    from keras_wavelit.data.channels import DatasetChannels

    model = trained[0]
    new = DatasetChannels("dye_tank", ("pressure", "dye", "velocity_x", "velocity_y"))
    bigger = model.expand([new], freeze_backbone=True)
    bigger.run_eagerly = True
    assert bigger.datasets == DATASETS + ["dye_tank"]
    assert "dye" in bigger.registry.channels
    x = np.random.default_rng(2).standard_normal((2, T_IN, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(
        bigger.predict_dataset(x, "kolmogorov_2d"),
        model.predict_dataset(x, "kolmogorov_2d"),
        rtol=1e-5,
        atol=1e-5,
    )
    trainable = {v.path for v in bigger.trainable_variables}
    assert not any("backbone" in p for p in trainable)
    assert any("lifting" in p for p in trainable)
    # old channels keep their lifting weights; "dye" is a new row
    old_kernel = to_numpy(model.lifting.kernel)
    new_kernel = to_numpy(bigger.lifting.kernel)
    for i, name in enumerate(model.registry.channels):
        j = bigger.registry.channels.index(name)
        np.testing.assert_array_equal(new_kernel[j], old_kernel[i])
    xd = np.random.default_rng(5).standard_normal((2, T_IN, 16, 16, 4)).astype("float32")
    assert bigger.predict_dataset(xd, "dye_tank").shape == (2, 1, 16, 16, 4)


def test_rollout_finetuning_on_one_dataset(trained):
    from keras_wavelit.training import RolloutFinetuner

    model = trained[0]
    view = model.for_dataset("gray_scott_2d")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, T_IN, 16, 16, 2)).astype("float32")
    y = rng.standard_normal((2, 2, 16, 16, 2)).astype("float32")
    before = to_numpy(model.head.kernel).copy()
    tuner = RolloutFinetuner(view, method="scheduled_sampling", unroll=2)
    tuner.run_eagerly = True
    tuner.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert not np.allclose(to_numpy(model.head.kernel), before)
    assert view.rollout(x, 2).shape == (2, 2, 16, 16, 2)


def test_input_noise_in_training_only_and_saved_with_the_compile_config(trained):
    model = trained[0]
    assert model.input_noise == 0.0 and model.get_compile_config()["input_noise"] == 0.0
    x = np.random.default_rng(2).standard_normal((2, T_IN, 16, 16, 3)).astype("float32")
    inputs = {"fields": x, "dataset": np.full((2,), 1, "int32")}
    noisy = WaveLiTFM(datasets=DATASETS, **TINY)
    noisy(inputs)  # builds it
    noisy.set_weights(model.get_weights())
    noisy.compile(warmup_steps=2, input_noise=0.5)
    assert noisy.get_compile_config()["input_noise"] == 0.5
    clean = to_numpy(noisy(inputs, training=False))
    np.testing.assert_allclose(clean, to_numpy(model(inputs, training=False)), atol=1e-5)
    first = to_numpy(noisy(inputs, training=True))
    second = to_numpy(noisy(inputs, training=True))
    assert np.abs(first - clean).max() > 1e-3  # perturbed inputs in training
    assert np.abs(first - second).max() > 1e-4  # new noise on every call
    with pytest.raises(ValueError, match="input_noise"):
        noisy.compile(input_noise=-0.1)
