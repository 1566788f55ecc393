import keras
import numpy as np
import pytest
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import WaveletTokenizer


@keras.saving.register_keras_serializable(package="keras_wavelit_tests")
class TokenizerRoundTrip(keras.layers.Layer):
    """decode(encode(x)), so that the contract sees both paths' weights."""

    def __init__(self, kind="wavelet", **kwargs):
        super().__init__(**kwargs)
        self.kind = kind
        self.tokenizer = WaveletTokenizer(16, kind=kind, name="tokenizer")

    def build(self, input_shape):
        self.tokenizer.build(input_shape)

    def call(self, x):
        return self.tokenizer.decode(self.tokenizer(x))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "kind": self.kind}


@pytest.mark.parametrize("kind", ["wavelet", "conv"])
def test_layer_contract(kind, tmp_path):
    check_layer(lambda: WaveletTokenizer(16, kind=kind), (2, 16, 16, 3), tmp_path, grads=False)
    check_layer(lambda: TokenizerRoundTrip(kind), (2, 16, 16, 3), tmp_path)


def test_decode_before_encode_is_an_error():
    with pytest.raises(ValueError, match="call `encode`"):
        WaveletTokenizer(8).decode(np.zeros((1, 4, 4, 8), "float32"))


@pytest.mark.parametrize("levels", [1, 2])
def test_lossless_with_identity_projections(levels):
    c = 3
    dim = c * 4**levels
    tok = WaveletTokenizer(dim, levels=levels)
    x = np.random.default_rng(0).standard_normal((2, 16, 16, c)).astype("float32")
    tokens = tok.encode(x)
    eye = np.eye(dim, dtype="float32")
    zero = np.zeros(dim, "float32")
    tok.encoder.set_weights([eye, zero])
    tok.decoder.set_weights([eye, zero])
    back = to_numpy(tok.decode(tok.encode(x)))
    np.testing.assert_allclose(back, x, atol=1e-5)
    assert tuple(tokens.shape) == (2, 16 // 2**levels, 16 // 2**levels, dim)


def test_decode_output_channels():
    tok = WaveletTokenizer(8, output_channels=2, levels=1)
    t = tok.encode(np.zeros((1, 8, 8, 5), "float32"))
    assert tuple(tok.decode(t).shape) == (1, 8, 8, 2)
    tok = WaveletTokenizer(8, output_channels=2, kind="conv", levels=2)
    t = tok.encode(np.zeros((1, 8, 8, 5), "float32"))
    assert tuple(t.shape) == (1, 2, 2, 8)
    assert tuple(tok.decode(t).shape) == (1, 8, 8, 2)


def test_errors():
    with pytest.raises(ValueError, match="kind"):
        WaveletTokenizer(8, kind="patch")
    with pytest.raises(ValueError, match="multiple of 2"):
        WaveletTokenizer(8)(np.zeros((1, 9, 8, 1), "float32"))
    with pytest.raises(ValueError, match="multiple of 4"):
        WaveletTokenizer(8, kind="conv", levels=2)(np.zeros((1, 10, 8, 1), "float32"))
