"""keras-wavelit: WaveLiT neural PDE surrogates for Keras 3.

Wavelet tokenization, ridge-corrected linear attention in a MILA block,
shared-weight multiscale pyramids and a wavelet-domain loss, on JAX,
TensorFlow or PyTorch (`KERAS_BACKEND`).

Submodules load on first use (`keras_wavelit.layers`, `.models`, ...), so
`import keras_wavelit` itself imports neither Keras nor a backend. Saved
models still load after `import keras_wavelit` alone:
`keras.saving.load_model("model.keras")` finds every `keras_wavelit>` class,
because the first look-up of such a name imports the submodules that
register them (see `_LazyRegistry` below).
"""

import importlib
import sys

__version__ = "0.1.0"

_SUBMODULES = (
    "data",
    "distributed",
    "evaluation",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "training",
    "tuning",
)

# The submodules whose classes are registered with
# `keras.saving.register_keras_serializable(package="keras_wavelit")`.
_REGISTERING_SUBMODULES = ("layers", "losses", "metrics", "optimizers", "models", "training")
_REGISTRY_PREFIX = "keras_wavelit>"
_KERAS_REGISTRY_MODULE = "keras.src.saving.object_registration"

__all__ = list(_SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"keras_wavelit.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'keras_wavelit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))


def register_all():
    """Imports every submodule that registers serializable classes.

    After this, `keras.saving.get_registered_object("keras_wavelit>NAME")`
    returns each class. Loading a saved model calls this on its own; call it
    yourself only to list the registered classes.
    """
    for name in _REGISTERING_SUBMODULES:
        importlib.import_module(f"keras_wavelit.{name}")


class _LazyRegistry(dict):
    """Keras's global custom-object dict that registers keras_wavelit on demand.

    Keras looks up a saved class by its registered name (`"keras_wavelit>WaveLiT"`)
    in `object_registration.GLOBAL_CUSTOM_OBJECTS`. This dict stands in for
    it: the first look-up of a `keras_wavelit>` name that is not there yet
    imports the registering submodules (which add themselves to this same
    dict) and answers again. Nothing else changes.
    """

    _loading = False

    def _load(self, key):
        if (
            isinstance(key, str)
            and key.startswith(_REGISTRY_PREFIX)
            and not dict.__contains__(self, key)
            and not _LazyRegistry._loading
        ):
            _LazyRegistry._loading = True
            try:
                register_all()
            finally:
                _LazyRegistry._loading = False

    def __contains__(self, key):
        self._load(key)
        return dict.__contains__(self, key)

    def __getitem__(self, key):
        self._load(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._load(key)
        return dict.get(self, key, default)


def _install_lazy_registry(module):
    registry = getattr(module, "GLOBAL_CUSTOM_OBJECTS", None)
    if isinstance(registry, dict) and not isinstance(registry, _LazyRegistry):
        module.GLOBAL_CUSTOM_OBJECTS = _LazyRegistry(registry)


class _InstallAfterExec:
    """Runs a module with its own loader, then installs the lazy registry in it.

    (Loader and finder below follow `importlib`'s protocols without
    subclassing `importlib.abc`, whose import would cost more than the rest
    of the package.)
    """

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _install_lazy_registry(module)


class _KerasRegistryHook:
    """Waits for Keras's registry module to be imported, without importing it."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _KERAS_REGISTRY_MODULE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _KerasRegistryHook)]
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _InstallAfterExec(spec.loader)
        return spec


if _KERAS_REGISTRY_MODULE in sys.modules:
    _install_lazy_registry(sys.modules[_KERAS_REGISTRY_MODULE])
elif not any(isinstance(f, _KerasRegistryHook) for f in sys.meta_path):
    sys.meta_path.insert(0, _KerasRegistryHook())
