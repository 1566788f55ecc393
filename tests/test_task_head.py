"""TaskHead: per-dataset linear heads and the inverse DWT (paper section 3.5)."""

import numpy as np
import pywt
from layer_contract import check_layer
from layer_contract import to_numpy

from keras_wavelit.layers import TaskHead


def test_layer_contract(tmp_path):
    check_layer(lambda: TaskHead(output_channels=[2, 3]), (2, 4, 4, 8), tmp_path)


def test_each_task_gets_its_own_head_and_padded_slots_are_zero():
    rng = np.random.default_rng(0)
    head = TaskHead(output_channels=[2, 3], boundary="periodic")
    x = rng.standard_normal((2, 4, 4, 8)).astype("float32")
    head.build(x.shape)
    head.bias.assign(rng.standard_normal(head.bias.shape).astype("float32"))
    out = to_numpy(head(x, task_index=np.array([0, 1])))
    assert out.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(out[0, ..., 2], 0.0)  # task 0 has 2 channels
    kernel, bias = to_numpy(head.kernel), to_numpy(head.bias)
    for b, task in ((0, 0), (1, 1)):
        coeffs = (x[b] @ kernel[task] + bias[task]).reshape(4, 4, 3, 4)
        for c in range(head.output_channels[task]):
            ll, lh, hl, hh = (coeffs[..., c, s] for s in range(4))
            ref = pywt.idwt2((ll, (lh, hl, hh)), "bior2.2", mode="periodization")
            np.testing.assert_allclose(out[b, ..., c], ref, atol=1e-4)
    # a different task index changes only which head is used
    out_t1 = to_numpy(head(x[:1], task_index=1))
    assert not np.allclose(out_t1[0, ..., :2], out[0, ..., :2])
