"""`--mixed-precision`: parsing, the `auto` rule, the policy it sets, and a
model saved under `mixed_bfloat16` loading in a float32 session."""

import argparse

import keras
import numpy as np
import pytest

from keras_wavelit.cli.precision import AUTO_RULE
from keras_wavelit.cli.precision import add_precision_args
from keras_wavelit.cli.precision import apply_precision
from keras_wavelit.cli.precision import auto_policy
from keras_wavelit.cli.precision import cpu_has_avx512_bf16
from keras_wavelit.cli.precision import float32_copy
from keras_wavelit.cli.precision import resolve_precision


@pytest.fixture(autouse=True)
def restore_policy():
    before = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(before)


def parse(argv):
    return add_precision_args(argparse.ArgumentParser(prog="wavelit train")).parse_args(argv)


def test_flag_parsing():
    assert parse([]).mixed_precision == "off"
    for value in ("auto", "on", "off"):
        assert parse(["--mixed-precision", value]).mixed_precision == value


def test_bad_flag_value_is_a_clear_error(capsys):
    with pytest.raises(SystemExit):
        parse(["--mixed-precision", "bf16"])
    err = capsys.readouterr().err
    assert "--mixed-precision" in err and "'bf16'" in err and "auto" in err
    with pytest.raises(ValueError, match="'yes'"):
        resolve_precision("yes")
    with pytest.raises(ValueError, match="'fp16'"):
        apply_precision(argparse.Namespace(mixed_precision="fp16"))


def test_cpu_flag_detection(tmp_path):
    with_flag = tmp_path / "with"
    with_flag.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n")
    without = tmp_path / "without"
    without.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16x avx512_vnni\n")
    assert cpu_has_avx512_bf16(str(with_flag)) is True
    assert cpu_has_avx512_bf16(str(without)) is False
    assert cpu_has_avx512_bf16(str(tmp_path / "missing")) is False


def test_auto_rule():
    pairs = [(b, d) for b in ("jax", "tensorflow", "torch") for d in ("cpu", "gpu", "tpu")]
    for backend, device in pairs:
        for flag in (False, True):
            policy, reason = auto_policy(backend, device, flag)
            needs = AUTO_RULE.get((backend, device), "absent")
            expected = (
                "mixed_bfloat16"
                if needs is None or (needs == "avx512_bf16" and flag)
                else "float32"
            )
            assert policy == expected, (backend, device, flag, reason)
            assert reason.startswith("auto: ") and backend in reason and device in reason
    # The measured rule: PyTorch on a CPU with AVX512-BF16 only.
    assert auto_policy("torch", "cpu", True)[0] == "mixed_bfloat16"
    assert auto_policy("torch", "cpu", False)[0] == "float32"
    assert auto_policy("jax", "cpu", True)[0] == "float32"
    assert auto_policy("tensorflow", "cpu", True)[0] == "float32"
    # `on` and `off` ignore the machine.
    assert resolve_precision("on", "torch", "gpu", False)[0] == "mixed_bfloat16"
    assert resolve_precision("off", "jax", "cpu", True)[0] == "float32"


@pytest.mark.parametrize("value", ["on", "off", "auto"])
def test_apply_precision_sets_the_policy(value, capsys):
    policy = apply_precision(argparse.Namespace(mixed_precision=value))
    expected = {"on": "mixed_bfloat16", "off": "float32"}.get(value) or auto_policy()[0]
    assert policy == expected
    assert keras.config.dtype_policy().name == expected
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith(f"dtype policy: {expected} (")
    layer = keras.layers.Dense(2)
    assert layer.compute_dtype == ("bfloat16" if expected == "mixed_bfloat16" else "float32")
    assert layer.variable_dtype == "float32"


def test_apply_precision_without_the_attribute_is_float32(capsys):
    keras.config.set_dtype_policy("mixed_bfloat16")
    assert apply_precision(argparse.Namespace(), verbose=False) == "float32"
    assert keras.config.dtype_policy().name == "float32"
    assert capsys.readouterr().out == ""


def test_mixed_precision_model_saves_loads_and_predicts_in_float32(tmp_path):
    from keras_wavelit.models import WaveLiT

    x = np.random.default_rng(0).standard_normal((2, 1, 16, 16, 2)).astype("float32")
    apply_precision(argparse.Namespace(mixed_precision="on"), verbose=False)
    # Compiled with the recipe, so the file holds a compile configuration too.
    model = WaveLiT(dim=8, depth=1, num_heads=2, pyramid_levels=0, wavelet_levels=1)
    assert model.compute_dtype == "bfloat16"
    model.build(x.shape)
    path = str(tmp_path / "mixed.keras")
    model.save(path)

    # A float32 session (e.g. `wavelit evaluate` without the flag).
    keras.config.set_dtype_policy("float32")
    loaded = keras.saving.load_model(path)
    assert {v.dtype for v in loaded.weights} == {"float32"}
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    # The saved policy, whatever the session's: the same weights and the same
    # computation as the model that was saved.
    assert loaded.compute_dtype == "bfloat16"
    pred = loaded(x)
    assert keras.backend.standardize_dtype(pred.dtype) == "bfloat16"
    pred = keras.ops.convert_to_numpy(keras.ops.cast(pred, "float32"))
    assert pred.shape == (2, 1, 16, 16, 2) and np.all(np.isfinite(pred))

    full = float32_copy(loaded)
    assert full.compute_dtype == "float32" and full is not loaded
    out = full(x)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    out = keras.ops.convert_to_numpy(out)
    # The same weights: bfloat16 rounding apart (8 significant bits).
    scale = np.max(np.abs(out))
    assert 0 < np.max(np.abs(out - pred)) < 0.05 * scale
    assert float32_copy(full) is full
