"""`.keras` files written by release 0.1.0 load and predict the same.

`fixtures/wavelit_v0_1_0.keras` was saved by release 0.1.0 under JAX with
`jit_compile=True` (its weights under the old layout: one `WaveletTokenizer`,
the blocks and the final norm on the model); `wavelit_v0_1_0_io.npz` holds an
input `x` and the prediction `y` of that release.
"""

import os
import warnings

import keras
import numpy as np

from keras_wavelit.models import WaveLiT

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
MODEL = os.path.join(FIXTURES, "wavelit_v0_1_0.keras")


def _load():
    with warnings.catch_warnings():
        # The optimizer's state of release 0.1.0 is not restored (Keras warns).
        warnings.simplefilter("ignore", UserWarning)
        return keras.saving.load_model(MODEL)


def test_release_0_1_0_model_loads_and_predicts_the_same():
    io = np.load(os.path.join(FIXTURES, "wavelit_v0_1_0_io.npz"))
    model = _load()
    assert isinstance(model, WaveLiT)
    config = model.get_config()
    assert (config["pyramid_levels"], config["wavelet_levels"]) == (1, 1)
    assert (config["boundary"], config["wavelet"]) == ("periodic", "haar")
    assert config["pyramid_combine"] == "residual" and config["predict_residual"]
    pred = np.asarray(keras.ops.convert_to_numpy(model.predict(io["x"], verbose=0)))
    # the attention of release 0.1.0: the ridge state without a floor under lambda
    assert (config["attention_state"], config["min_ridge_lambda"]) == ("ridge", 0.0)
    np.testing.assert_allclose(pred, io["y"], rtol=1e-5, atol=1e-5)
    # the loss is rebuilt with the saved (the model's) transform
    assert (model.loss.wavelet, model.loss.boundary) == ("haar", "periodic")
    # issue 16 item 2: the JAX file's jit_compile=True is not carried over
    assert model.jit_compile == WaveLiT(dim=16, depth=1, num_heads=2).jit_compile
    if keras.backend.backend() == "torch":
        assert model.jit_compile is False


def test_release_0_1_0_config_without_ridge_is_mlla():
    """`ridge=False` in a release-0.1.0 config meant MLLA's normalised attention."""
    config = _load().get_config()
    for key in ("attention_state", "min_ridge_lambda"):
        del config[key]
    config["ridge"] = False
    revived = WaveLiT.from_config(config)
    assert revived.backbone.attention_state == "mlla"
    assert revived.get_config()["min_ridge_lambda"] == 0.0
    # A model of this release: `ridge=False` is the paper's vanilla attention.
    assert WaveLiT(dim=16, depth=1, num_heads=2, ridge=False).get_config()["attention_state"] == (
        "vanilla"
    )
