"""Every ```python example in a public docstring runs as written.

The docstrings follow keras-hub's style (docs/design.md section 3): Markdown
prose, `Args:` / `Call arguments:` / `Returns:` / `Example:` sections, and
examples as fenced ```python blocks. This test collects the blocks from the
public classes, their public methods and the public functions of every
subpackage and executes each one in a fresh namespace under the current
backend, so an example that drifts from the code fails here.
"""

import importlib
import inspect
import os
import re

import pytest

SUBPACKAGES = (
    "keras_wavelit.layers",
    "keras_wavelit.losses",
    "keras_wavelit.metrics",
    "keras_wavelit.models",
    "keras_wavelit.ops",
    "keras_wavelit.optimizers",
    "keras_wavelit.training",
    "keras_wavelit.evaluation",
    "keras_wavelit.data",
    "keras_wavelit.tuning",
    "keras_wavelit.distributed",
)

BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _public_objects():
    """(qualified name, object) of every public class, method and function."""
    seen = set()
    for package in SUBPACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:  # an optional subpackage whose extra is missing
            continue
        names = getattr(module, "__all__", None) or [n for n in dir(module) if not n[0] == "_"]
        for name in names:
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("keras_wavelit"):
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{obj.__module__}.{obj.__qualname__}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr != "__call__":
                        continue
                    func = (
                        member.__func__
                        if isinstance(member, (classmethod, staticmethod))
                        else member
                    )
                    if inspect.isfunction(func) and id(func) not in seen:
                        seen.add(id(func))
                        yield f"{obj.__module__}.{func.__qualname__}", func


def _own_doc(obj):
    """The object's own docstring (not one inherited from Keras), dedented."""
    return inspect.cleandoc(obj.__doc__ or "")


def _examples():
    examples = []
    for qualname, obj in _public_objects():
        doc = _own_doc(obj)
        for i, block in enumerate(BLOCK.findall(doc)):
            examples.append(pytest.param(block, id=f"{qualname}[{i}]"))
    return examples


EXAMPLES = _examples()


def test_examples_were_found():
    # The layers and models document themselves with runnable examples.
    ids = [p.id for p in EXAMPLES]
    assert any(".layers." in i for i in ids), ids
    assert any(".models." in i for i in ids), ids


def test_no_doctest_prompts_in_public_docstrings():
    """One example style: fenced ```python blocks, not `>>>` prompts."""
    offenders = [q for q, obj in _public_objects() if ">>>" in _own_doc(obj)]
    assert offenders == []


@pytest.mark.parametrize("source", EXAMPLES)
def test_docstring_example_runs(source, tmp_path):
    cwd = os.getcwd()
    os.chdir(tmp_path)  # examples that write files write them here
    try:
        exec(compile(source, "<docstring example>", "exec"), {"__name__": "__example__"})
    finally:
        os.chdir(cwd)
