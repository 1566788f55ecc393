"""Ctrl-C stops training even when its first KeyboardInterrupt is swallowed."""

import gc
import signal

import keras
import numpy as np
import pytest

from keras_wavelit.training.interrupt import StopOnCtrlC
from keras_wavelit.training.interrupt import caused_by_ctrl_c
from keras_wavelit.training.interrupt import ctrl_c_pending
from keras_wavelit.training.interrupt import ctrl_c_stays_an_interrupt
from keras_wavelit.training.interrupt import watch_ctrl_c


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler, as in a foreground process."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches == 2:
            # Ctrl-C lands inside a garbage-collector callback, where Python
            # prints "Exception ignored" and drops the KeyboardInterrupt.
            def swallowing_callback(phase, info):
                try:
                    signal.raise_signal(signal.SIGINT)
                except KeyboardInterrupt:
                    pass

            gc.callbacks.append(swallowing_callback)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(swallowing_callback)


def _tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_a_swallowed_ctrl_c_stops_fit_at_the_next_batch(default_sigint):
    x = np.zeros((40, 3), "float32")
    y = np.zeros((40, 1), "float32")
    counter = CountBatches()
    with watch_ctrl_c():
        with pytest.raises(KeyboardInterrupt):
            _tiny_model().fit(
                x, y, batch_size=2, epochs=3, callbacks=[counter, StopOnCtrlC()], verbose=0
            )
        assert ctrl_c_pending()
    # 20 batches an epoch: fit stopped right after the batch that saw Ctrl-C.
    assert counter.batches == 2
    assert not ctrl_c_pending()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_ctrl_c_the_callback_does_nothing(default_sigint):
    x = np.zeros((8, 3), "float32")
    with watch_ctrl_c():
        history = _tiny_model().fit(
            x, x[:, :1], batch_size=2, epochs=2, callbacks=[StopOnCtrlC()], verbose=0
        )
    assert len(history.history["loss"]) == 2


def test_an_ignored_sigint_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with watch_ctrl_c():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)  # ignored: nothing happens
            assert not ctrl_c_pending()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_cli_reports_a_swallowed_ctrl_c_as_an_interruption(default_sigint, monkeypatch, capsys):
    from keras_wavelit import cli
    from keras_wavelit.cli import generate

    def command_that_swallows_ctrl_c(args):
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass
        return 0

    monkeypatch.setattr(generate, "run", command_that_swallows_ctrl_c)
    assert cli.main(["generate", "--list"]) == 130
    assert "interrupted" in capsys.readouterr().err


class InterruptedInAStep(keras.Sequential):
    """Ctrl-C lands inside the first training step of the second epoch."""

    def make_train_function(self, force=False):
        super().make_train_function(force)
        step, calls = self.train_function, [0]

        def interrupted(*args):
            calls[0] += 1
            if calls[0] == 5:  # 4 steps an epoch
                raise KeyboardInterrupt
            return step(*args)

        self.train_function = interrupted
        return interrupted


def test_ctrl_c_in_the_first_step_of_an_epoch_reaches_the_caller():
    # On JAX, Keras detaches the variables at an epoch's first step; the EMA
    # cleanup at the end of `fit` then fails with a TypeError that hides the
    # interrupt. Inside `ctrl_c_stays_an_interrupt` the caller sees Ctrl-C.
    model = InterruptedInAStep([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(use_ema=True), loss="mse")
    x = np.ones((8, 3), "float32")
    y = np.ones((8, 1), "float32")
    with pytest.raises(KeyboardInterrupt) as raised:
        with ctrl_c_stays_an_interrupt(model):
            model.fit(x, y, batch_size=2, epochs=3, validation_data=(x, y), verbose=0)
    detached = any(v._value is None for v in model.variables)
    assert ("load its weights again" in str(raised.value)) == detached
    if keras.backend.backend() == "jax":
        assert detached and isinstance(raised.value.__cause__, TypeError)


def test_failures_after_a_swallowed_ctrl_c_count_as_interrupts(default_sigint):
    def cleanup_that_fails():
        try:
            raise KeyboardInterrupt
        finally:
            raise RuntimeError("cleanup failed")

    with pytest.raises(RuntimeError) as raised:
        cleanup_that_fails()
    assert caused_by_ctrl_c(raised.value)
    assert not caused_by_ctrl_c(RuntimeError("unrelated"))
    with pytest.raises(ValueError):  # no Ctrl-C: errors pass through unchanged
        with watch_ctrl_c(), ctrl_c_stays_an_interrupt():
            raise ValueError("bad input")
    with pytest.raises(KeyboardInterrupt):
        with watch_ctrl_c(), ctrl_c_stays_an_interrupt():
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass  # swallowed, as in a garbage-collector callback
            raise RuntimeError("a step failed after the press")
