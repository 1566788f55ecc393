import keras
import numpy as np
import pytest
from layer_contract import to_numpy

from keras_wavelit.metrics import NRMSE
from keras_wavelit.metrics import VRMSE
from keras_wavelit.metrics import RelativeL2
from keras_wavelit.metrics import mse
from keras_wavelit.metrics import nrmse
from keras_wavelit.metrics import relative_l2
from keras_wavelit.metrics import vrmse


def _pair(seed=0, shape=(2, 3, 16, 12, 3)):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(shape).astype("float32") * np.array([1.0, 5.0, 0.1], "float32")
    y = y + np.array([0.0, 3.0, -2.0], "float32")
    p = y + 0.3 * rng.standard_normal(shape).astype("float32")
    return y, p


def _well_metadata():
    from the_well.data.datasets import WellMetadata

    return WellMetadata(
        dataset_name="random_2d",
        n_spatial_dims=2,
        spatial_resolution=(16, 12),
        scalar_names=[],
        constant_scalar_names=[],
        field_names={0: ["a", "b", "c"], 1: [], 2: []},
        constant_field_names={0: [], 1: [], 2: []},
        boundary_condition_types=["PERIODIC"],
        n_files=1,
        n_trajectories_per_file=[2],
        n_steps_per_trajectory=[3],
    )


def test_agrees_with_the_well():
    torch = pytest.importorskip("torch")
    well = pytest.importorskip("the_well.benchmark.metrics")
    meta = _well_metadata()
    y, p = _pair()
    # A constant target field: the variance is 0 and eps decides VRMSE.
    y[1, :, :, :, 0] = 0.5
    yt, pt = torch.from_numpy(y), torch.from_numpy(p)
    pairs = [
        (vrmse, well.VRMSE()),
        (nrmse, well.NRMSE()),
        (mse, well.MSE()),
    ]
    for ours, theirs in pairs:
        expected = theirs(pt, yt, meta).numpy()  # the_well's order: (prediction, target)
        got = to_numpy(ours(y, p))
        assert got.shape == expected.shape == (2, 3, 3)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # Backend tensors in, same numbers out.
    got = to_numpy(vrmse(keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(p)))
    np.testing.assert_allclose(got, well.VRMSE()(pt, yt, meta).numpy(), rtol=1e-6, atol=1e-6)


def test_vrmse_uses_unbiased_variance():
    rng = np.random.default_rng(3)
    y = rng.standard_normal((1, 1, 8, 8, 2))
    # Predicting each field's spatial mean: MSE is the biased variance.
    p = np.broadcast_to(y.mean(axis=(2, 3), keepdims=True), y.shape)
    n = 64
    var_unbiased = y.var(axis=(2, 3), ddof=1)
    expected = np.sqrt(var_unbiased * (n - 1) / n / (var_unbiased + 1e-7))
    np.testing.assert_allclose(to_numpy(vrmse(y, p)), expected, rtol=1e-6)
    assert abs(float(to_numpy(vrmse(y, p))[0, 0, 0]) - np.sqrt(63 / 64)) < 1e-5


def test_argument_order_is_keras_y_true_y_pred():
    y, _ = _pair(1)
    p = 2.0 * y
    ms = (y.astype("float64") ** 2).mean(axis=(2, 3))
    var = y.astype("float64").var(axis=(2, 3), ddof=1)
    np.testing.assert_allclose(to_numpy(vrmse(y, p)), np.sqrt(ms / (var + 1e-7)), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(vrmse(p, y)), np.sqrt(ms / (4 * var + 1e-7)), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(nrmse(y, p)), np.sqrt(ms / (ms + 1e-7)), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(mse(y, p)), ms, rtol=1e-5)


def test_relative_l2():
    y, p = _pair(2)
    y64, p64 = y.astype("float64"), p.astype("float64")
    per_field = np.sqrt(((p64 - y64) ** 2).sum(axis=(2, 3))) / (
        np.sqrt((y64**2).sum(axis=(2, 3))) + 1e-7
    )
    joint = np.sqrt(((p64 - y64) ** 2).sum(axis=(2, 3, 4))) / (
        np.sqrt((y64**2).sum(axis=(2, 3, 4))) + 1e-7
    )
    np.testing.assert_allclose(to_numpy(relative_l2(y, p)), per_field, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(relative_l2(y, p, per_field=False)), joint, rtol=1e-5)
    # nRMSE is the relative L2 error with eps inside the square.
    np.testing.assert_allclose(to_numpy(nrmse(y, p)), per_field, rtol=1e-4)


def test_shapes_dtypes_and_errors():
    y, p = _pair(4, (2, 8, 8, 3))  # (B, H, W, C): no time axis
    assert to_numpy(vrmse(y, p)).shape == (2, 3)
    out = vrmse(y.astype("float16"), p.astype("float16"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    with pytest.raises(ValueError, match="same shape"):
        vrmse(y, p[:1])
    with pytest.raises(ValueError, match="at least 3 axes"):
        mse(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="two spatial points"):
        vrmse(np.zeros((1, 1, 1, 2)), np.zeros((1, 1, 1, 2)))


def test_metric_class_mean_and_sample_weight():
    y, p = _pair(5)
    per = to_numpy(vrmse(y, p))  # (B, T, C)
    m = VRMSE()
    m.update_state(y[:1], p[:1])
    m.update_state(y[1:], p[1:])
    np.testing.assert_allclose(float(to_numpy(m.result())), per.mean(), rtol=1e-6)
    m.reset_state()
    m.update_state(y, p, sample_weight=np.array([0.0, 1.0], "float32"))
    np.testing.assert_allclose(float(to_numpy(m.result())), per[1].mean(), rtol=1e-6)
    n = NRMSE()
    n.update_state(y, p)
    np.testing.assert_allclose(float(to_numpy(n.result())), to_numpy(nrmse(y, p)).mean(), rtol=1e-6)
    r = RelativeL2(per_field=False)
    r.update_state(y, p)
    np.testing.assert_allclose(
        float(to_numpy(r.result())), to_numpy(relative_l2(y, p, per_field=False)).mean(), rtol=1e-6
    )


@pytest.mark.parametrize(
    "metric", [VRMSE(eps=1e-6, name="v"), NRMSE(eps=1e-5), RelativeL2(per_field=False)]
)
def test_metric_serialization(metric):
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(revived) is type(metric)
    assert revived.get_config() == metric.get_config()
    clone = type(metric).from_config(metric.get_config())
    assert clone.name == metric.name and clone.eps == metric.eps
    y, p = _pair(6)
    metric.update_state(y, p)
    revived.update_state(y, p)
    np.testing.assert_allclose(to_numpy(revived.result()), to_numpy(metric.result()), rtol=1e-6)


def test_vrmse_metric_in_compile_fit_evaluate():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((8, 1, 6, 6, 2)).astype("float32")
    y = (x[..., ::-1] * np.array([1.0, -2.0], "float32") + 0.5).astype("float32")
    inputs = keras.Input((1, 6, 6, 2))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", metrics=[VRMSE(), NRMSE()])
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert "vrmse" in history.history and len(history.history["vrmse"]) == 2
    assert all(np.isfinite(history.history["vrmse"]))
    result = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    pred = model.predict(x, batch_size=8, verbose=0)
    np.testing.assert_allclose(result["vrmse"], to_numpy(vrmse(y, pred)).mean(), rtol=1e-5)
    np.testing.assert_allclose(result["nrmse"], to_numpy(nrmse(y, pred)).mean(), rtol=1e-5)
    # Learning lowers the metric.
    before = result["vrmse"]
    model.fit(x, y, epochs=30, batch_size=8, verbose=0)
    assert model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["vrmse"] < before
