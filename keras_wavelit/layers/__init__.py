"""Reusable WaveLiT layers (`keras.ops` only, every backend)."""

from keras_wavelit.layers.boundary_depthwise_conv import BoundaryDepthwiseConv2D
from keras_wavelit.layers.channel_lifting import ChannelLifting
from keras_wavelit.layers.drop_path import DropPath
from keras_wavelit.layers.dwt import DWT2D
from keras_wavelit.layers.dwt import IDWT2D
from keras_wavelit.layers.relative_noise import RelativeGaussianNoise
from keras_wavelit.layers.ridge_linear_attention import RidgeLinearAttention
from keras_wavelit.layers.ridge_mila_block import RidgeMILABlock
from keras_wavelit.layers.rotary_embedding_2d import RotaryEmbedding2D
from keras_wavelit.layers.shared_fpn import SharedFPN
from keras_wavelit.layers.task_embedding import TaskEmbedding
from keras_wavelit.layers.task_head import TaskHead
from keras_wavelit.layers.wavelet_decoder import WaveletDecoder
from keras_wavelit.layers.wavelet_encoder import WaveletEncoder
from keras_wavelit.layers.wavelet_tokenizer import WaveletTokenizer
