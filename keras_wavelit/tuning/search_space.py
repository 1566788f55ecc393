"""The default WaveLiT search space and how a user fixes or narrows it."""

import dataclasses
import math

#: Keys of the space that are not `WaveLiT` constructor arguments: they set
#: the training recipe (`WaveletLoss` weights and the AdamW optimizer).
RECIPE_KEYS = ("loss_alpha", "loss_beta", "learning_rate", "weight_decay")

#: Model arguments that only set an initial value or a regularisation rate:
#: they never change the number of parameters, so the budget ignores them.
NON_STRUCTURAL_KEYS = ("ridge_lambda", "drop_path")


@dataclasses.dataclass(frozen=True)
class Range:
    """A numeric range of a search space, both ends included.

    Integer ends give an integer range (`keras_tuner.HyperParameters.Int`);
    float ends a float range (`HyperParameters.Float`), sampled uniformly in
    the logarithm when `log` is True.

    Args:
        low: smallest value.
        high: largest value.
        log: bool, sample log-uniformly. Defaults to True for float ranges
            with `low > 0`, False otherwise.
        step: optional spacing of the values.

    Example:

    ```python
    import keras_wavelit as kw

    kw.tuning.Range(1e-4, 3e-3)         # log-uniform learning rates
    kw.tuning.Range(2, 8)               # depths 2, 3, ..., 8
    kw.tuning.Range(0.0, 0.2, log=False)
    ```
    """

    low: float
    high: float
    log: bool = None
    step: float = None

    def __post_init__(self):
        if not self.low <= self.high:
            raise ValueError(f"Range needs low <= high; got low={self.low!r}, high={self.high!r}.")
        if self.log is None:
            object.__setattr__(self, "log", not self.is_int and self.low > 0)
        if self.log and self.low <= 0:
            raise ValueError(f"A log range needs low > 0; got low={self.low!r}.")

    @property
    def is_int(self):
        return isinstance(self.low, int) and isinstance(self.high, int)

    def sample(self, rng):
        """One value drawn with the NumPy generator `rng`."""
        if self.is_int:
            step = int(self.step or 1)
            return int(self.low + step * rng.integers(0, (self.high - self.low) // step + 1))
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def values(self):
        """All values of an integer range (None for a float range)."""
        if not self.is_int:
            return None
        return list(range(self.low, self.high + 1, int(self.step or 1)))


#: The default search space (paper sections 3 and 4.1, Appendix E): the
#: architecture of `WaveLiT`, the `WaveletLoss` weights and the optimizer.
#: A list is a choice, a `Range` (or a 2-tuple `(low, high)`) a range and
#: any other value a fixed setting. `num_heads` lists candidate head counts;
#: a trial uses only one dividing its `dim` with a head dimension divisible
#: by 4 (the 2D rotary embedding's constraint), the nearest to the proposal.
DEFAULT_SPACE = {
    "dim": [32, 48, 64, 96, 128],
    "depth": Range(2, 12),
    "num_heads": [1, 2, 4, 8],
    "pyramid_levels": Range(0, 2),
    "wavelet_levels": 1,
    "wavelet": ["haar", "bior2.2", "bior4.4"],
    "ridge_lambda": Range(0.1, 10.0),
    "loss_alpha": Range(0.5, 2.0),
    "loss_beta": Range(0.1, 10.0),
    "learning_rate": Range(1e-4, 3e-3),
    "weight_decay": Range(1e-6, 1e-2),
}


def as_spec(name, value):
    """Normalises one entry of a space: a list, a `Range`, a tuple or a value.

    Args:
        name: str, the entry's name (for error messages).
        value: a list or tuple of more than two values (a choice), a
            `Range` or a 2-tuple `(low, high)` of numbers (a range), or a
            single value (fixed).

    Returns:
        A `list` (choice), a `Range` or the fixed value.
    """
    if isinstance(value, Range):
        return value
    if isinstance(value, tuple) and len(value) == 2 and all(_is_number(v) for v in value):
        return Range(value[0], value[1])
    if isinstance(value, (list, tuple)):
        values = list(value)
        if not values:
            raise ValueError(f"Search space entry {name!r} is an empty choice.")
        return values
    return value


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_fixed(spec):
    return not isinstance(spec, (list, Range))


def spec_values(spec):
    """The finite values of a spec, or None for a float range."""
    if isinstance(spec, list):
        return list(spec)
    if isinstance(spec, Range):
        return spec.values()
    return [spec]


def sample_spec(spec, rng):
    """One value of a spec drawn with `rng` (a fixed value is returned as is)."""
    if isinstance(spec, list):
        return spec[int(rng.integers(0, len(spec)))]
    if isinstance(spec, Range):
        return spec.sample(rng)
    return spec


def valid_num_heads(dim, candidates, rope=True):
    """Head counts among `candidates` that suit a token dimension `dim`.

    A head count must divide `dim`; with the 2D rotary embedding (`rope`,
    the default) the head dimension `dim // num_heads` must also be a
    multiple of 4 (paper section 3.2; see `RotaryEmbedding2D`).

    Example:

    ```python
    from keras_wavelit.tuning import valid_num_heads

    assert valid_num_heads(48, [1, 2, 4, 8]) == [1, 2, 4]
    ```
    """
    out = []
    for h in candidates:
        h = int(h)
        if h >= 1 and dim % h == 0 and (not rope or (dim // h) % 4 == 0):
            out.append(h)
    return out


def merge_space(space=None, base=None):
    """The default space (or `base`) updated with the user's entries.

    Args:
        space: dict of entries that replace or extend the defaults. A value
            of None removes an entry (then `WaveLiT`'s own default is used).
        base: the space to start from. Defaults to `DEFAULT_SPACE`.

    Returns:
        dict name -> normalised spec (see `as_spec`).
    """
    merged = dict(DEFAULT_SPACE if base is None else base)
    for key, value in (space or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return {k: as_spec(k, v) for k, v in merged.items()}


def parse_space_item(text):
    """Parses a command-line space entry `KEY=VALUE`.

    `KEY=a,b,c` is a choice, `KEY=low:high` a range and `KEY=value` a fixed
    value; numbers, `true`/`false` and strings are recognised.

    Example:

    ```python
    from keras_wavelit.tuning import parse_space_item

    assert parse_space_item("dim=32,64") == ("dim", [32, 64])
    assert parse_space_item("wavelet=haar") == ("wavelet", "haar")
    ```
    """
    if "=" not in text:
        raise ValueError(f"Expected KEY=VALUE for a search space entry, got {text!r}.")
    key, value = (s.strip() for s in text.split("=", 1))
    if not key:
        raise ValueError(f"Missing the name in search space entry {text!r}.")
    if "," in value:
        return key, [_parse_scalar(v) for v in value.split(",")]
    if ":" in value:
        low, high = (_parse_scalar(v) for v in value.split(":", 1))
        if not (_is_number(low) and _is_number(high)):
            raise ValueError(f"Range {text!r} needs numeric ends.")
        if isinstance(low, int) != isinstance(high, int):
            low, high = float(low), float(high)
        return key, Range(low, high)
    return key, _parse_scalar(value)


def _parse_scalar(v):
    v = v.strip()
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    if v.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return v
