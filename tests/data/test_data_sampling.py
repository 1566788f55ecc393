"""Dataset sampling of the foundation model: the paper's Table 8 and the adaptive rule."""

import numpy as np
import pytest

from keras_wavelit.data.sampling import PAPER_TABLE_7
from keras_wavelit.data.sampling import DatasetSampler
from keras_wavelit.data.sampling import adaptive_probabilities
from keras_wavelit.data.sampling import kl_divergence
from keras_wavelit.data.sampling import sampling_probabilities
from keras_wavelit.data.sampling import token_shares

COUNTS = [n * t for n, t in PAPER_TABLE_7.values()]

# Paper Table 8, columns in Table 7's dataset order (AM, GS, RB, SF, TRL2D, VI, ASM, HS).
TABLE_8 = {
    "proportional": [0.0106, 0.1813, 0.2105, 0.2694, 0.0041, 0.0196, 0.2430, 0.0616],
    "uniform": [0.125] * 8,
    "temperature": [0.0617, 0.1448, 0.1676, 0.2250, 0.0597, 0.0645, 0.1971, 0.0796],
    "sqrt": [0.0420, 0.1737, 0.1871, 0.2117, 0.0261, 0.0571, 0.2011, 0.1012],
}
TABLE_8_KL = {"proportional": 0.0, "uniform": 0.766, "temperature": 0.214, "sqrt": 0.099}


@pytest.mark.parametrize("method", sorted(TABLE_8))
def test_reproduces_table_8(method):
    p = sampling_probabilities(COUNTS, method=method, temperature=0.2)
    np.testing.assert_allclose(p, TABLE_8[method], atol=1e-3)
    assert p.sum() == pytest.approx(1.0)
    kl = kl_divergence(p, token_shares(COUNTS))
    assert kl == pytest.approx(TABLE_8_KL[method], abs=1e-2)


def test_temperature_limits_and_errors():
    q = token_shares(COUNTS)
    hot = sampling_probabilities(COUNTS, "temperature", temperature=1e6)
    np.testing.assert_allclose(hot, 1 / 8, atol=1e-6)
    cold = sampling_probabilities(COUNTS, "temperature", temperature=1e-4)
    assert cold.argmax() == q.argmax() and cold.max() > 0.99
    with pytest.raises(ValueError, match="sampling method"):
        sampling_probabilities(COUNTS, "softmax")
    with pytest.raises(ValueError, match="token_counts"):
        sampling_probabilities([1.0, 0.0])
    with pytest.raises(ValueError, match="temperature"):
        sampling_probabilities(COUNTS, "temperature", temperature=0.0)
    # adaptive starts from the paper's default
    np.testing.assert_allclose(
        sampling_probabilities(COUNTS, "adaptive"), sampling_probabilities(COUNTS, "sqrt")
    )


def test_adaptive_rule_moves_toward_lagging_dataset_with_floor():
    base = np.array([0.7, 0.2, 0.1])
    # every dataset at its best: the base mix (after floor mixing)
    p = adaptive_probabilities(base, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], floor=0.0)
    np.testing.assert_allclose(p, base)
    # dataset 2 lags its best by a factor 4: its weight 0.1 * 4 = 0.4 of 1.3
    p = adaptive_probabilities(base, [1.0, 2.0, 12.0], [1.0, 2.0, 3.0], floor=0.0)
    np.testing.assert_allclose(p, np.array([0.7, 0.2, 0.4]) / 1.3)
    # the floor: a dataset never falls below it
    p = adaptive_probabilities([0.999, 0.0005, 0.0005], [1, 1, 1], [1, 1, 1], floor=0.05)
    assert p.min() >= 0.05 - 1e-12 and p.sum() == pytest.approx(1.0)
    # a non-finite loss counts as the worst finite lag, never NaN probabilities
    p = adaptive_probabilities(base, [np.nan, 2.0, 6.0], [1.0, 2.0, 3.0], floor=0.01)
    assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="floor"):
        adaptive_probabilities(base, [1, 1, 1], [1, 1, 1], floor=0.5)


def test_sampler_is_deterministic_and_follows_probabilities():
    names = list(PAPER_TABLE_7)
    a = DatasetSampler(names, COUNTS, "sqrt", seed=3)
    b = DatasetSampler(names, COUNTS, "sqrt", seed=3)
    np.testing.assert_array_equal(a.draw(500, epoch=2), b.draw(500, epoch=2))
    assert not np.array_equal(a.draw(500, epoch=2), a.draw(500, epoch=3))
    draws = a.draw(40000, epoch=0)
    freq = np.bincount(draws, minlength=8) / draws.size
    np.testing.assert_allclose(freq, a.probabilities, atol=0.01)


def test_sampler_adaptive_update():
    s = DatasetSampler(["a", "b"], [100, 100], "adaptive", floor=0.1)
    np.testing.assert_allclose(s.probabilities, [0.5, 0.5])
    s.update({"a": 1.0, "b": 1.0})
    s.update({"a": 0.5, "b": 3.0})  # b lags its best (1.0) by 3x
    assert s.probabilities[1] > s.probabilities[0] >= 0.1
    np.testing.assert_allclose(s.best_losses, [0.5, 1.0])
    fixed = DatasetSampler(["a", "b"], [100, 300], "proportional")
    fixed.update([1.0, 9.0])
    np.testing.assert_allclose(fixed.probabilities, [0.25, 0.75])
    with pytest.raises(ValueError, match="no validation loss"):
        s.update({"a": 1.0})
