"""Callbacks that keep long training runs safe."""

import math
import os

import keras
import numpy as np


class NaNGuard(keras.callbacks.Callback):
    """Stops training on a non-finite loss and restores the last good weights.

    At the end of every epoch whose loss is finite the weights are saved to
    ``checkpoint_path``. When a batch reports a NaN or infinite loss,
    training stops; at the end of training the last good weights are loaded
    back and a message says so (or says that no good checkpoint existed).

    Args:
        checkpoint_path: path of a ``.weights.h5`` file.
        verbose: int, print the message (1, default) or not (0).

    Attributes:
        nan_detected: bool, whether training was stopped by a bad loss.
        restored_epoch: the 1-based epoch whose weights were restored, or None.
    """

    def __init__(self, checkpoint_path, verbose=1):
        super().__init__()
        if not checkpoint_path.endswith(".weights.h5"):
            raise ValueError(f"`checkpoint_path` must end in .weights.h5, got {checkpoint_path!r}.")
        self.checkpoint_path = checkpoint_path
        self.verbose = verbose
        self.nan_detected = False
        self.bad_position = None
        self.good_epoch = None
        self.restored_epoch = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.nan_detected = True
            self.bad_position = (self._epoch + 1, batch + 1)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_detected:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.nan_detected = True
            self.bad_position = (epoch + 1, None)
            self.model.stop_training = True
            return
        if all(np.all(np.isfinite(w)) for w in self.model.get_weights()):
            os.makedirs(os.path.dirname(os.path.abspath(self.checkpoint_path)), exist_ok=True)
            self.model.save_weights(self.checkpoint_path, overwrite=True)
            self.good_epoch = epoch + 1

    def on_train_end(self, logs=None):
        if not self.nan_detected:
            return
        epoch, batch = self.bad_position
        where = f"epoch {epoch}" + (f", batch {batch}" if batch else "")
        if self.good_epoch is not None and os.path.exists(self.checkpoint_path):
            self.model.load_weights(self.checkpoint_path)
            self.restored_epoch = self.good_epoch
            msg = (
                f"Non-finite loss at {where}: training stopped and the weights "
                f"of the last good epoch ({self.good_epoch}) were restored from "
                f"{self.checkpoint_path}."
            )
        else:
            msg = (
                f"Non-finite loss at {where}: training stopped; no good "
                "checkpoint existed yet, so the weights are the last ones."
            )
        if self.verbose:
            print(msg, flush=True)
