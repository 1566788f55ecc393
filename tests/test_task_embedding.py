"""TaskEmbedding: one learned vector per dataset (paper section 3.5)."""

import numpy as np
import pytest
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import TaskEmbedding


def test_layer_contract(tmp_path):
    check_layer(lambda: TaskEmbedding(num_tasks=3, dim=8), (2, 4, 4, 8), tmp_path)


def test_adds_the_vector_of_each_samples_task():
    layer = TaskEmbedding(num_tasks=3, dim=4)
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 4)).astype("float32")
    out = to_numpy(layer(x, task_index=np.array([2, 0, 2])))
    table = to_numpy(layer.embeddings)
    np.testing.assert_allclose(out[0], x[0] + table[2], atol=1e-6)
    np.testing.assert_allclose(out[1], x[1] + table[0], atol=1e-6)
    np.testing.assert_allclose(to_numpy(layer(x, task_index=1)), x + table[1], atol=1e-6)
    np.testing.assert_allclose(to_numpy(layer(x)), x + table[0], atol=1e-6)
    with pytest.raises(ValueError, match="num_tasks"):
        TaskEmbedding(num_tasks=0, dim=4)
    with pytest.raises(ValueError, match="dim=4"):
        layer(np.zeros((1, 2, 2, 5), "float32"))
