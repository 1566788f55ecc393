"""Tuning objectives: validation VRMSE of one step or over a rollout window."""

import keras
import numpy as np

#: Objective names understood by the hypermodels (both minimised).
OBJECTIVES = ("val_vrmse", "val_rollout_vrmse")


def rollout_vrmse(y_true, y_pred, window):
    """Median over trajectories of the VRMSE averaged over a rollout window.

    The Well's protocol (paper section 4, Appendix J): the VRMSE of every
    predicted step and field, averaged over the steps `start..end` (1-based,
    inclusive) and the fields of each trajectory, then the median over
    trajectories.

    Args:
        y_true: `(B, T, H, W, C)` true trajectories.
        y_pred: `(B, T', H, W, C)` rollouts with `T' >= end`.
        window: `(start, end)`, 1-based and inclusive.

    Returns:
        float.

    Example:

    ```python
    import numpy as np
    from keras_wavelit.tuning import rollout_vrmse

    y = np.random.rand(3, 4, 8, 8, 2).astype("float32")
    assert rollout_vrmse(y, y, (1, 4)) == 0.0
    ```
    """
    from keras_wavelit.metrics import vrmse

    start, end = (int(w) for w in window)
    if not 1 <= start <= end:
        raise ValueError(f"window must be (start, end) with 1 <= start <= end; got {window}.")
    if y_true.shape[1] < end or y_pred.shape[1] < end:
        raise ValueError(
            f"window {window} needs {end} rollout steps; got targets of shape "
            f"{tuple(y_true.shape)} and predictions of shape {tuple(y_pred.shape)}."
        )
    sl = slice(start - 1, end)
    per = keras.ops.convert_to_numpy(vrmse(y_true[:, sl], y_pred[:, sl]))  # (B, steps, C)
    return float(np.median(np.mean(per, axis=(1, 2))))


class RolloutVRMSE(keras.callbacks.Callback):
    """Adds the rollout VRMSE of validation trajectories to the epoch logs.

    At the end of every epoch the model rolls out autoregressively from the
    first `T_in` steps of each trajectory (`model.rollout`) and the callback
    writes `rollout_vrmse` over `window` to `logs[name]`, where KerasTuner,
    `EarlyStopping` and the history see it like any validation metric.

    Args:
        x0: initial windows `(B, T_in, H, W, C)`, or a dict
            `{"fields": x0, "constants": c}`.
        y: the following true steps `(B, T, H, W, C)` with `T >= window[1]`.
        window: `(start, end)`, 1-based and inclusive. Defaults to The
            Well's `(6, 12)`.
        name: log key. Defaults to `"val_rollout_vrmse"`.
        batch_size: optional int, trajectories rolled out at once.
    """

    def __init__(self, x0, y, window=(6, 12), name="val_rollout_vrmse", batch_size=None):
        super().__init__()
        self.x0 = x0
        self.y = np.asarray(y, dtype="float32")
        self.window = (int(window[0]), int(window[1]))
        self.name = name
        self.batch_size = batch_size
        if self.y.ndim != 5 or self.y.shape[1] < self.window[1]:
            raise ValueError(
                f"RolloutVRMSE needs targets (B, T, H, W, C) with T >= {self.window[1]} "
                f"for window {self.window}; got shape {self.y.shape}."
            )

    def score(self, model):
        """The rollout VRMSE of `model` on the stored trajectories."""
        pred = model.rollout(self.x0, steps=self.window[1], batch_size=self.batch_size)
        return rollout_vrmse(self.y, pred, self.window)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = self.score(self.model)
