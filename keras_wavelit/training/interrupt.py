"""Ctrl-C that always stops training, even when its first `KeyboardInterrupt` is lost.

Python turns Ctrl-C (SIGINT) into a `KeyboardInterrupt` raised wherever the
main thread happens to be. When that is inside a garbage-collector callback
or a `__del__` method (JAX and TensorFlow both register such callbacks), the
exception is printed as "Exception ignored in ..." and dropped: training then
runs on as if the key had never been pressed. `watch_ctrl_c` records every
Ctrl-C in a flag as well, and `StopOnCtrlC` raises `KeyboardInterrupt` again
at the next batch or epoch boundary when the flag is set, so an interrupted
`wavelit train`, `finetune` or `tune` stops within one batch and resumes from
its last finished epoch (`docs/training.md`, "Runs that survive interruption").
"""

import contextlib
import signal
import threading

import keras

_PENDING = [False]


def ctrl_c_pending():
    """Whether Ctrl-C was pressed inside the current `watch_ctrl_c` block."""
    return _PENDING[0]


def _on_sigint(signum, frame):
    _PENDING[0] = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def watch_ctrl_c():
    """Records each Ctrl-C while the block runs (see `ctrl_c_pending`).

    Ctrl-C still raises `KeyboardInterrupt` at once, as Python's own handler
    does. The handler is installed only in the main thread and only where
    SIGINT has Python's default handler: a process started with SIGINT
    ignored (a job run in the background) or with a handler of its own
    keeps it. The flag is cleared on entry and on exit.

    Example:

    ```python
    import keras
    import numpy as np
    from keras_wavelit.training import StopOnCtrlC, watch_ctrl_c

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((8, 3), "float32")
    with watch_ctrl_c():  # Ctrl-C now stops `fit` within one batch
        model.fit(x, x[:, :1], epochs=2, callbacks=[StopOnCtrlC()], verbose=0)
    ```
    """
    install = threading.current_thread() is threading.main_thread() and signal.getsignal(
        signal.SIGINT
    ) in (signal.default_int_handler, signal.SIG_DFL)
    previous = signal.signal(signal.SIGINT, _on_sigint) if install else None
    _PENDING[0] = False
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGINT, previous)
        _PENDING[0] = False


def caused_by_ctrl_c(error):
    """Whether `error` was raised while a `KeyboardInterrupt` was handled.

    Code that cleans up after an interrupt (a `finally` block in `fit`) can
    fail in turn; the exception that reaches the caller is then that
    failure, with the `KeyboardInterrupt` as its context.
    """
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@contextlib.contextmanager
def ctrl_c_stays_an_interrupt(model=None):
    """Re-raises a failure caused by Ctrl-C as `KeyboardInterrupt`.

    On JAX, Keras detaches a model's variables at the start of each epoch
    and attaches the trained values at its end; a Ctrl-C during the first
    step of an epoch leaves them detached, and the cleanup at the end of
    `fit` then fails with an unrelated `TypeError`. Inside this block such a
    failure reaches the caller as the `KeyboardInterrupt` it is, saying
    whether `model`'s variables were left without values (reload the
    weights, e.g. from the run's backup, before using the model again).
    """
    try:
        yield
    except Exception as err:
        if not (caused_by_ctrl_c(err) or _PENDING[0]):
            raise
        message = "Ctrl-C"
        if model is not None and any(getattr(v, "_value", 0) is None for v in model.variables):
            message = (
                "Ctrl-C inside a training step left the model's variables without "
                "values; load its weights again before using it"
            )
        raise KeyboardInterrupt(message) from err


class StopOnCtrlC(keras.callbacks.Callback):
    """Raises `KeyboardInterrupt` at the next batch or epoch end after a Ctrl-C.

    Does nothing unless Ctrl-C was pressed inside `watch_ctrl_c`; then the
    interrupt reaches the caller even if its first `KeyboardInterrupt` was
    swallowed. Put it last in the callback list so that callbacks saving
    state at the end of an epoch (`RunBackup`) run first.
    """

    def _check(self, *args, **kwargs):
        if _PENDING[0]:
            raise KeyboardInterrupt("Ctrl-C")

    on_train_batch_end = _check
    on_test_batch_end = _check
    on_predict_batch_end = _check
    on_epoch_end = _check
