"""Saving under a multi-process distribution: every process saves, one writes.

Keras's saving code may run JAX operations that are collective under a
multi-process distribution (saving a model creates a reference optimizer
variable, which is placed on every device of the job). If only process 0
called `model.save`, it would wait forever for the others. So every
process calls `save_model`; process 0 writes the file and the others write
to a scratch directory that is removed at once (`docs/distributed.md`).
"""

import os
import shutil
import tempfile

from keras_wavelit.distributed.multi_host import process_index


def _save(save_fn, filepath, chief):
    if chief:
        save_fn(filepath)
        return filepath
    scratch = tempfile.mkdtemp(prefix="wavelit_scratch_")
    try:
        save_fn(os.path.join(scratch, os.path.basename(filepath)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return None


def save_model(model, filepath, is_chief=None):
    """`model.save(filepath)` by every process; only the chief writes `filepath`.

    Args:
        model: a Keras model.
        filepath: the `.keras` file.
        is_chief: whether this process writes; defaults to process 0.

    Returns:
        `filepath` on the chief, None elsewhere.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw
    from keras_wavelit.distributed import save_model

    model = kw.models.WaveLiT(dim=16, depth=1, num_heads=2)
    model.build((1, 1, 16, 16, 2))
    print(save_model(model, "model.keras"))  # model.keras
    ```
    """
    chief = process_index() == 0 if is_chief is None else bool(is_chief)
    return _save(model.save, filepath, chief)


def save_weights(model, filepath, is_chief=None):
    """`model.save_weights(filepath)` by every process; only the chief writes.

    Args, Returns: as for `save_model` (`filepath` ends in `.weights.h5`).

    Example:

    ```python
    import keras_wavelit as kw
    from keras_wavelit.distributed import save_weights

    model = kw.models.WaveLiT(dim=16, depth=1, num_heads=2)
    model.build((1, 1, 16, 16, 2))
    print(save_weights(model, "model.weights.h5"))  # model.weights.h5
    ```
    """
    chief = process_index() == 0 if is_chief is None else bool(is_chief)
    return _save(model.save_weights, filepath, chief)
