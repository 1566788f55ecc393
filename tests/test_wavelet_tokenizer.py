import warnings

import keras
import numpy as np
import pytest
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import WaveletDecoder
from keras_wavelit.layers import WaveletEncoder
from keras_wavelit.layers import WaveletTokenizer


@keras.saving.register_keras_serializable(package="keras_wavelit_tests")
class EncodeDecode(keras.layers.Layer):
    """decoder(encoder(x)), so that the contract sees both paths' weights."""

    def __init__(self, kind="wavelet", **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        self.encoder = WaveletEncoder(16, kind=kind, name="encoder")
        self.decoder = WaveletDecoder(3, kind=kind, name="decoder")

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.decoder.build(self.encoder.compute_output_shape(input_shape))

    def call(self, x):
        return self.decoder(self.encoder(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}


@pytest.mark.parametrize("kind", ["wavelet", "conv"])
def test_layer_contract(kind, tmp_path):
    check_layer(lambda: WaveletEncoder(16, kind=kind), (2, 16, 16, 3), tmp_path, grads=False)
    check_layer(lambda: EncodeDecode(kind), (2, 16, 16, 3), tmp_path)


@pytest.mark.parametrize("wavelet_levels", [1, 2])
def test_lossless_with_identity_projections(wavelet_levels):
    c = 3
    dim = c * 4**wavelet_levels
    encoder = WaveletEncoder(dim, wavelet_levels=wavelet_levels)
    decoder = WaveletDecoder(c, wavelet_levels=wavelet_levels)
    x = np.random.default_rng(0).standard_normal((2, 16, 16, c)).astype("float32")
    tokens = encoder(x)
    decoder(tokens)
    eye = np.eye(dim, dtype="float32")
    zero = np.zeros(dim, "float32")
    encoder.projection.set_weights([eye, zero])
    decoder.projection.set_weights([eye, zero])
    np.testing.assert_allclose(to_numpy(decoder(encoder(x))), x, atol=1e-5)
    side = 16 // 2**wavelet_levels
    assert tuple(tokens.shape) == (2, side, side, dim)


def test_shapes_and_output_channels():
    encoder = WaveletEncoder(8, kind="conv", wavelet_levels=2)
    tokens = encoder(np.zeros((1, 8, 8, 5), "float32"))
    assert tuple(tokens.shape) == (1, 2, 2, 8)
    decoder = WaveletDecoder(2, kind="conv", wavelet_levels=2)
    assert tuple(decoder(tokens).shape) == (1, 8, 8, 2)
    assert decoder.compute_output_shape((None, 2, 2, 8)) == (None, 8, 8, 2)


def test_old_names_and_deprecated_tokenizer():
    with pytest.warns(DeprecationWarning, match="`levels`"):
        encoder = WaveletEncoder(8, levels=2)
    assert encoder.wavelet_levels == 2
    with pytest.warns(DeprecationWarning, match="`mode`"):
        decoder = WaveletDecoder(2, mode="periodic")
    assert decoder.boundary == "periodic"
    with pytest.warns(DeprecationWarning, match="WaveletTokenizer is deprecated"):
        tok = WaveletTokenizer(8, output_channels=2)
    with pytest.raises(ValueError, match="call `encode`"):
        tok.decode(np.zeros((1, 4, 4, 8), "float32"))
    t = tok.encode(np.zeros((1, 8, 8, 5), "float32"))
    assert tuple(tok.decode(t).shape) == (1, 8, 8, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        revived = WaveletTokenizer.from_config(tok.get_config())
    assert revived.get_config() == tok.get_config()


def test_errors():
    with pytest.raises(ValueError, match="kind"):
        WaveletEncoder(8, kind="patch")
    with pytest.raises(ValueError, match="`wavelet_levels` must be an integer >= 1, got 0"):
        WaveletDecoder(2, wavelet_levels=0)
    with pytest.raises(ValueError, match="`output_channels` must be an integer >= 1, got 0"):
        WaveletDecoder(0)
    with pytest.raises(ValueError, match="`dim` must be an integer >= 1, got -1"):
        WaveletEncoder(-1)
    with pytest.raises(ValueError, match="multiple of 2"):
        WaveletEncoder(8)(np.zeros((1, 9, 8, 1), "float32"))
    with pytest.raises(ValueError, match="multiple of 4"):
        WaveletEncoder(8, kind="conv", wavelet_levels=2)(np.zeros((1, 10, 8, 1), "float32"))
