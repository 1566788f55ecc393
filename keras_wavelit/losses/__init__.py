"""Losses of keras-wavelit."""

from keras_wavelit.losses.wavelet_loss import WaveletLoss
