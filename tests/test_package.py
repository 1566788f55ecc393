"""The package itself: a light import, saved models that load after it, plot_model."""

import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_wavelit

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..")


def _python(code, *args, timeout=300):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def test_import_keras_wavelit_imports_neither_keras_nor_a_backend():
    out = _python(
        "import sys, time; t = time.perf_counter(); import keras_wavelit; "
        "dt = time.perf_counter() - t; "
        "heavy = [m for m in ('keras', 'jax', 'tensorflow', 'torch') if m in sys.modules]; "
        "print(heavy, keras_wavelit.__version__, f'{dt:.3f}')"
    )
    heavy, version, seconds = out.split()
    assert heavy == "[]" and version == keras_wavelit.__version__
    assert float(seconds) < 1.0  # about 0.02 s here


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny compiled WaveLiT (model, trunk, layers, loss, metric, optimizer,
    schedule) saved to a .keras file, with its prediction."""
    from keras_wavelit.models import WaveLiT

    keras.utils.set_random_seed(0)
    model = WaveLiT(dim=16, depth=1, num_heads=2, pyramid_levels=1)
    x = np.random.default_rng(0).standard_normal((1, 2, 16, 16, 2)).astype("float32")
    model.build(x.shape)
    path = os.path.join(str(tmp_path_factory.mktemp("saved")), "model.keras")
    model.save(path)
    keras_wavelit.register_all()
    names = sorted(n for n in keras.saving.get_custom_objects() if n.startswith("keras_wavelit>"))
    return path, names, model


def test_saved_models_load_after_a_bare_import(saved):
    path, names, model = saved
    out = _python(
        "import sys; import keras_wavelit; import keras; "
        "assert 'keras_wavelit.models' not in sys.modules; "
        "m = keras.saving.load_model(sys.argv[1]); "
        "print(type(m).__name__, type(m.loss).__name__, type(m.optimizer).__name__, "
        "m.count_params()); "
        "missing = [n for n in sys.argv[2:] if keras.saving.get_registered_object(n) is None]; "
        "print('MISSING', missing)",
        path,
        *names,
    )
    first, second = out.strip().splitlines()[-2:]
    assert first.split() == [
        "WaveLiT",
        "WaveletLoss",
        type(model.optimizer).__name__,
        str(model.count_params()),
    ]
    assert second == "MISSING []"
    for expected in ("WaveLiT", "WaveletLoss", "VRMSE", "SharedFPN", "RidgeMILABlock", "DWT2D"):
        assert f"keras_wavelit>{expected}" in names


def test_plot_model_of_a_tiny_wavelit(saved, tmp_path):
    _, _, model = saved
    import pydot  # the `viz` extra

    assert pydot.__version__
    target = os.path.join(str(tmp_path), "wavelit.png")
    if shutil.which("dot") is None:
        # Without graphviz's `dot`, Keras says what to install.
        with pytest.raises(ImportError, match="graphviz"):
            keras.utils.plot_model(model, to_file=target)
        return
    keras.utils.plot_model(model, to_file=target, show_shapes=True, expand_nested=True)
    with open(target, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(target) > 1000
