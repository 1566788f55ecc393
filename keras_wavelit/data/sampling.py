"""Which dataset the next mini-batch comes from (paper Appendix F, `docs/foundation.md`).

A foundation model trains on several datasets; every mini-batch comes from
one dataset `i`, drawn with probability `p_i`. With `N_i` training
examples of `T_i` tokens each (`T_i = (H/2)(W/2)` after one wavelet level),
the token share of dataset `i` is `q_i = N_i T_i / sum_j N_j T_j`, and

- `"uniform"`: `p_i = 1 / K`;
- `"proportional"`: `p_i = q_i`;
- `"temperature"`: `p_i = exp(q_i / T) / sum_j exp(q_j / T)` (paper
  Eq. 8, `T = 0.2`);
- `"sqrt"` (the paper's choice, Eq. 9): `p_i = sqrt(q_i) / sum_j sqrt(q_j)`;
- `"adaptive"`: starts from `"sqrt"` and follows the validation losses
  (`adaptive_probabilities`).

This module is NumPy only (no Keras import).
"""

import numpy as np

#: Sampling methods understood by `sampling_probabilities`.
SAMPLING_METHODS = ("uniform", "proportional", "temperature", "sqrt", "adaptive")

#: The paper's Table 7: training examples `N_i` and tokens per example `T_i`
#: of The Well's eight 2D datasets (one wavelet level).
PAPER_TABLE_7 = {
    "active_matter": (14000, 16384),
    "gray_scott_reaction_diffusion": (960000, 4096),
    "rayleigh_benard": (278600, 16384),
    "shear_flow": (178304, 32768),
    "turbulent_radiative_layer_2D": (7200, 12288),
    "viscoelastic_instability": (6487, 65536),
    "acoustic_scattering_maze": (321600, 16384),
    "helmholtz_staircase": (20384, 65536),
}


def _check_counts(token_counts):
    counts = np.asarray(token_counts, dtype=np.float64).reshape(-1)
    if counts.size == 0:
        raise ValueError("`token_counts` is empty: give one count per dataset.")
    if not np.all(np.isfinite(counts)) or np.any(counts <= 0):
        raise ValueError(
            f"`token_counts` must be positive and finite (N_i * T_i per dataset); got "
            f"{counts.tolist()}."
        )
    return counts


def token_shares(token_counts):
    """`q_i = c_i / sum_j c_j` for token counts `c_i = N_i T_i`."""
    counts = _check_counts(token_counts)
    return counts / counts.sum()


def sampling_probabilities(token_counts, method="sqrt", temperature=0.2):
    """Probability of drawing the next mini-batch from each dataset.

    Implements the three schemes of the paper's Appendix F (Eqs. 8 and 9)
    and the plain proportional share. `"adaptive"` returns its starting
    point, the `"sqrt"` probabilities (see `adaptive_probabilities` for the
    update).

    Args:
        token_counts: sequence of `N_i * T_i` per dataset (training examples
            times tokens per example).
        method: one of `"uniform"`, `"proportional"`, `"temperature"`,
            `"sqrt"` (default, the paper's choice) or `"adaptive"`.
        temperature: float > 0, the `T` of `"temperature"`. Defaults to 0.2
            (the paper's value).

    Returns:
        float64 NumPy array of probabilities summing to 1.

    Example:

    ```python
    from keras_wavelit.data import PAPER_TABLE_7, sampling_probabilities

    counts = [n * t for n, t in PAPER_TABLE_7.values()]
    p = sampling_probabilities(counts, method="sqrt")
    print(p.round(4))  # [0.042 0.1737 0.1871 0.2117 0.0261 0.0571 0.2011 0.1012]
    ```
    """
    if method not in SAMPLING_METHODS:
        raise ValueError(f"Unknown sampling method {method!r}; expected one of {SAMPLING_METHODS}.")
    q = token_shares(token_counts)
    if method == "uniform":
        return np.full_like(q, 1.0 / q.size)
    if method == "proportional":
        return q
    if method == "temperature":
        if not temperature > 0:
            raise ValueError(f"`temperature` must be > 0, got {temperature!r}.")
        z = q / float(temperature)
        z = np.exp(z - z.max())
        return z / z.sum()
    p = np.sqrt(q)
    return p / p.sum()


def kl_divergence(p, q):
    """`KL(p || q) = sum_i p_i log(p_i / q_i)` in nats (paper Table 8, last row)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def adaptive_probabilities(base, losses, best_losses, power=1.0, floor=0.02):
    """The adaptive sampler's rule: more batches for datasets that lag their best.

    With base probabilities `b_i` (the `"sqrt"` ones), the latest validation
    loss `L_i` of every dataset and the best validation loss `B_i` it has
    reached so far, the lag `r_i = L_i / B_i >= 1` says how far a dataset
    has fallen behind its own best (1: at its best). Then

    `w_i = b_i * r_i ** power`, `p_i = floor + (1 - K * floor) * w_i / sum_j w_j`

    so every dataset keeps at least `floor` (no dataset starves) and, when
    every dataset is at its best, `p = b` up to the floor mixing. Losses of
    different datasets are never compared with each other, only with their
    own history, so the rule does not depend on the datasets' scales.

    Args:
        base: base probabilities `b` (sum 1).
        losses: latest validation loss per dataset.
        best_losses: best validation loss per dataset so far (same order).
        power: float >= 0, how strongly the lag moves the mix (0: `b`).
        floor: float in `[0, 1 / K)`, the smallest probability of any
            dataset.

    Returns:
        float64 NumPy array of probabilities summing to 1.
    """
    b = np.asarray(base, dtype=np.float64).reshape(-1)
    k = b.size
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    best = np.asarray(best_losses, dtype=np.float64).reshape(-1)
    if losses.size != k or best.size != k:
        raise ValueError(
            f"adaptive_probabilities: {k} base probabilities but {losses.size} losses and "
            f"{best.size} best losses."
        )
    if not 0 <= floor < 1.0 / k:
        raise ValueError(f"`floor` must be in [0, 1/K) = [0, {1.0 / k:.4g}); got {floor!r}.")
    if power < 0:
        raise ValueError(f"`power` must be >= 0, got {power!r}.")
    ok = np.isfinite(losses) & np.isfinite(best) & (best > 0)
    lag = np.where(ok, np.maximum(losses / np.where(ok, best, 1.0), 1.0), 1.0)
    # A non-finite validation loss is a dataset in trouble: the largest finite lag.
    lag = np.where(np.isfinite(losses), lag, lag[ok].max() if ok.any() else 1.0)
    w = b * lag**power
    w = w / w.sum()
    return floor + (1.0 - k * floor) * w


class DatasetSampler:
    """Draws the dataset of every mini-batch of an epoch, deterministically.

    Holds the probabilities of one sampling method over named datasets and
    draws, for epoch `e`, the dataset index of every step from the NumPy
    generator seeded with `(seed, e)`: the same seed gives the same schedule
    on every backend and every run. With `method="adaptive"`, `update`
    moves the probabilities after each epoch (`adaptive_probabilities`).

    Args:
        names: dataset names, in index order.
        token_counts: `N_i * T_i` per dataset.
        method: one of `SAMPLING_METHODS`.
        temperature: the `T` of `"temperature"`.
        seed: int seed of the draws.
        floor: smallest probability of the adaptive rule.
        power: strength of the adaptive rule.
    """

    def __init__(
        self,
        names,
        token_counts,
        method="sqrt",
        temperature=0.2,
        seed=0,
        floor=0.02,
        power=1.0,
    ):
        self.names = [str(n) for n in names]
        self.token_counts = _check_counts(token_counts)
        if len(self.names) != self.token_counts.size:
            raise ValueError(
                f"{len(self.names)} dataset names but {self.token_counts.size} token counts."
            )
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"Dataset names must be unique; got {self.names}.")
        self.method = method
        self.temperature = float(temperature)
        self.seed = int(seed)
        self.floor = float(floor)
        self.power = float(power)
        self.base = sampling_probabilities(self.token_counts, method, temperature)
        if method == "adaptive" and not 0 <= self.floor < 1.0 / len(self.names):
            raise ValueError(
                f"`floor` must be in [0, 1/K) = [0, {1.0 / len(self.names):.4g}); got {floor!r}."
            )
        self.probabilities = self.base.copy()
        self.best_losses = np.full(len(self.names), np.inf)
        self.history = []

    def draw(self, n_steps, epoch):
        """Dataset index of each of `n_steps` steps of epoch `epoch` (int array)."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        return rng.choice(len(self.names), size=int(n_steps), p=self.probabilities)

    def update(self, losses):
        """Adaptive rule: new probabilities from the latest validation losses.

        Args:
            losses: dict name -> validation loss, or a sequence in `names`
                order. Other methods record the losses and keep their
                probabilities.

        Returns:
            The probabilities for the next epoch.
        """
        if isinstance(losses, dict):
            missing = [n for n in self.names if n not in losses]
            if missing:
                raise ValueError(f"update: no validation loss for dataset(s) {missing}.")
            losses = [losses[n] for n in self.names]
        losses = np.asarray(losses, dtype=np.float64).reshape(-1)
        if losses.size != len(self.names):
            raise ValueError(f"update: {losses.size} losses for {len(self.names)} datasets.")
        finite = np.isfinite(losses)
        self.best_losses = np.where(finite, np.minimum(self.best_losses, losses), self.best_losses)
        if self.method == "adaptive":
            self.probabilities = adaptive_probabilities(
                self.base, losses, self.best_losses, self.power, self.floor
            )
        return self.probabilities

    def reset(self):
        """Back to the method's initial probabilities, with no losses seen."""
        self.probabilities = self.base.copy()
        self.best_losses = np.full(len(self.names), np.inf)
        return self.probabilities

    def as_dict(self):
        """The current probabilities by dataset name."""
        return {n: float(p) for n, p in zip(self.names, self.probabilities)}
