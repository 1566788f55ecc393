"""Callbacks that keep long training runs safe: a NaN guard and a resumable backup."""

import csv
import json
import math
import os
import shutil
import sys

import keras
import numpy as np


def _all_finite(weights):
    return all(np.all(np.isfinite(w)) for w in weights)


class NaNGuard(keras.callbacks.Callback):
    """Stops training on a non-finite loss and restores the last finite weights.

    The weights are saved to `checkpoint_path` when training begins and at
    the end of every epoch whose loss and weights are finite. When a batch
    reports a NaN or infinite loss, training stops; at the end of training
    the last finite weights are loaded back (those from before training when
    the very first epoch fails) and a message names the epoch and batch.
    Used by `wavelit train` and `wavelit finetune` (`docs/design.md` §2.6).

    Args:
        checkpoint_path: path of a `.weights.h5` file.
        verbose: int, print the message (1, default) or not (0).

    Attributes:
        nan_detected: bool, whether training was stopped by a bad loss.
        bad_position: `(epoch, batch)` (1-based; batch None when only the
            epoch's mean loss was seen) of the first non-finite loss.
        good_epoch: the last 1-based epoch with finite weights, 0 for the
            weights from before training, None if none were saved.
        restored_epoch: `good_epoch` once restored, else None.
        message: the message about the stop, or None.

    Example:

    ```python
    import os
    import tempfile

    import keras
    import numpy as np

    import keras_wavelit as kw

    x = np.ones((4, 3), "float32")
    y = np.full((4, 1), np.nan, "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    path = os.path.join(tempfile.mkdtemp(), "good.weights.h5")
    guard = kw.training.NaNGuard(path, verbose=0)
    model.fit(x, y, epochs=2, callbacks=[guard], verbose=0)
    assert guard.nan_detected and guard.restored_epoch == 0
    assert np.all(np.isfinite(model.get_weights()[0]))
    ```
    """

    def __init__(self, checkpoint_path, verbose=1):
        super().__init__()
        if not str(checkpoint_path).endswith(".weights.h5"):
            raise ValueError(f"`checkpoint_path` must end in .weights.h5, got {checkpoint_path!r}.")
        self.checkpoint_path = checkpoint_path
        self.verbose = verbose
        self.nan_detected = False
        self.bad_position = None
        self.good_epoch = None
        self.restored_epoch = None
        self.message = None
        self._epoch = 0
        self._batch = 0

    def _save_good(self, epoch):
        if not _all_finite(self.model.get_weights()):
            return
        os.makedirs(os.path.dirname(os.path.abspath(self.checkpoint_path)), exist_ok=True)
        self.model.save_weights(self.checkpoint_path, overwrite=True)
        self.good_epoch = epoch

    def on_train_begin(self, logs=None):
        self.nan_detected = False
        self.bad_position = None
        self.restored_epoch = None
        self.message = None
        if self.model.built:
            self._save_good(int(getattr(self.model, "_initial_epoch", None) or 0))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._batch = batch

    @property
    def position(self):
        """`(epoch, batch)`, 1-based, of the batch being trained (or last trained)."""
        return (self._epoch + 1, self._batch + 1)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)) and not self.nan_detected:
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
        self._save_good(epoch + 1)

    def on_train_end(self, logs=None):
        if not self.nan_detected:
            return
        epoch, batch = self.bad_position
        where = f"epoch {epoch}" + (f", batch {batch}" if batch else "")
        if self.good_epoch is not None and os.path.exists(self.checkpoint_path):
            self.model.load_weights(self.checkpoint_path)
            self.restored_epoch = self.good_epoch
            which = (
                "from before training"
                if self.good_epoch == 0
                else f"of the last good epoch ({self.good_epoch})"
            )
            self.message = (
                f"Non-finite loss at {where}: training stopped and the weights {which} "
                f"were restored from {self.checkpoint_path}."
            )
        else:
            self.message = (
                f"Non-finite loss at {where}: training stopped; no finite weights were "
                "saved before, so the weights are the last ones."
            )
        if self.verbose:
            print(self.message, flush=True)


def trim_history(path, first_epoch):
    """Drops the rows of a `CSVLogger` file from 0-based `first_epoch` on.

    A resumed run logs its epochs again from `first_epoch`; rows that an
    interrupted process wrote for those epochs would otherwise appear twice.

    Args:
        path: the `history.csv` path (nothing happens when it is missing).
        first_epoch: int, 0-based epoch of the first row to drop.

    Returns:
        The number of rows dropped.

    Example:

    ```python
    import csv
    import os
    import tempfile

    from keras_wavelit.training import trim_history

    path = os.path.join(tempfile.mkdtemp(), "history.csv")
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["epoch", "loss"], [0, 1.0], [1, 0.5], [2, 0.4]])
    assert trim_history(path, 2) == 1  # epoch 2 will run again
    ```
    """
    if not os.path.exists(path):
        return 0
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return 0
    header, body = rows[0], rows[1:]
    if "epoch" not in header:
        return 0
    col = header.index("epoch")
    keep = [r for r in body if r and r[col].strip() and int(float(r[col])) < first_epoch]
    dropped = len(body) - len(keep)
    if dropped:
        tmp = path + ".tmp"
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerows([header] + keep)
        os.replace(tmp, path)
    return dropped


class RunBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` for resumable runs: the epoch follows the restored weights.

    Keras writes `latest.weights.h5` (weights and optimizer state) and
    `training_metadata.json` (the epoch) one after the other, and its
    fallback to the previous backup (`double_checkpoint=True`) copies the
    two `.bkp` files, each of which a killed process can leave one epoch
    behind the other. The restored epoch and the restored optimizer then
    disagree by one epoch: the run retrains or skips an epoch, and its
    optimizer's `iterations` (which drives the learning-rate schedule) ends
    one epoch's steps away from `epochs * steps_per_epoch`. This callback
    takes the epoch from the restored optimizer itself,
    `iterations // steps_per_epoch`, falls back to the `.bkp` pair also when
    the latest file is missing or a file reads as invalid (not only on an
    `OSError`), drops `history.csv` rows of the epochs that
    will run again, and says where it resumes ("resuming from epoch 3 of 8").

    Args:
        backup_dir: directory of the backup (deleted when training ends).
        steps_per_epoch: int, optimizer steps per epoch of this run.
        epochs: int, the run's total epochs (for the message).
        history_path: optional `CSVLogger` file to trim on resume.
        verbose: int, print the resume message (to stderr) when 1.

    Attributes:
        resumed_epoch: 0-based epoch the run continues from (0 for a new run).

    Example:

    ```python
    import os
    import tempfile

    import keras
    import numpy as np

    from keras_wavelit.training import RunBackup

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    backup = RunBackup(os.path.join(tempfile.mkdtemp(), "backup"), steps_per_epoch=2, epochs=2)
    x = np.ones((4, 3), "float32")
    model.fit(x, x[:, :1], batch_size=2, epochs=2, callbacks=[backup], verbose=0)
    assert backup.resumed_epoch == 0  # a new run; an interrupted one resumes
    ```
    """

    def __init__(self, backup_dir, steps_per_epoch, epochs, history_path=None, verbose=1):
        super().__init__(backup_dir, save_freq="epoch", double_checkpoint=True)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        self.history_path = history_path
        self.verbose = verbose
        self.resumed_epoch = 0

    def on_train_begin(self, logs=None):
        has_backup = os.path.exists(self._weights_path)
        if not has_backup and os.path.exists(self._prev_weights_path):
            shutil.copy(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copy(self._prev_training_metadata_path, self._training_metadata_path)
            has_backup = True
        try:
            super().on_train_begin(logs)
        except ValueError:
            # A file cut short by a kill can read as a wrong file (h5) or bad
            # JSON, not only as an OSError (which Keras handles itself).
            if not os.path.exists(self._prev_weights_path):
                raise
            shutil.copy(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copy(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()
        epoch = int(getattr(self.model, "_initial_epoch", None) or 0)
        optimizer = getattr(self.model, "optimizer", None)
        if has_backup and optimizer is not None and self.steps_per_epoch > 0:
            iterations = int(keras.ops.convert_to_numpy(optimizer.iterations))
            epoch = iterations // self.steps_per_epoch
            self.model._initial_epoch = epoch
            self._write_metadata(epoch)
        self.resumed_epoch = epoch
        if has_backup and self.history_path:
            trim_history(self.history_path, epoch)
        if has_backup and self.verbose:
            if epoch < self.epochs:
                msg = f"resuming from epoch {epoch + 1} of {self.epochs}"
            else:
                msg = f"resuming after the last epoch ({epoch} of {self.epochs})"
            print(f"{msg} ({self.backup_dir})", file=sys.stderr, flush=True)

    def _write_metadata(self, epoch):
        with open(self._training_metadata_path, "w") as f:
            json.dump({"epoch": epoch, "batch": 0}, f)
