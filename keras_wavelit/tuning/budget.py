"""Exact parameter counts of WaveLiT configurations, without training them."""

import inspect

from keras_wavelit.tuning.search_space import NON_STRUCTURAL_KEYS


def wavelit_argument_names():
    """Names of the `WaveLiT(...)` constructor arguments."""
    from keras_wavelit.models import WaveLiT

    return set(inspect.signature(WaveLiT.__init__).parameters) - {"self", "kwargs"}


class ParameterCounter:
    """Counts the parameters of `WaveLiT(**config)` for one input shape.

    Every mixer block of a WaveLiT holds the same weights, so the count is
    affine in `depth`: `count(depth) = count(1) + (depth - 1) * block`. The
    counter builds the model (weights only, nothing runs) at depths 1 and 2
    for each distinct architecture and caches the two numbers, so a
    configuration of any depth costs two small builds the first time and
    nothing afterwards. The result equals `model.count_params()` of the
    model built on `input_shape` (all weights, trainable or not).

    Args:
        input_shape: `(T_in, H, W, C)` of one sample's fields.
        constants_channels: int, number of constant fields. Defaults to 0.

    Example:

    ```python
    from keras_wavelit.tuning import ParameterCounter

    counter = ParameterCounter((2, 16, 16, 3))
    n = counter.count({"dim": 16, "depth": 3, "num_heads": 2})
    assert n > 0
    ```
    """

    def __init__(self, input_shape, constants_channels=0):
        if len(tuple(input_shape)) != 4:
            raise ValueError(
                f"input_shape must be (T_in, H, W, C) of one sample; got {tuple(input_shape)}."
            )
        self.input_shape = tuple(int(s) for s in input_shape)
        self.constants_channels = int(constants_channels)
        self._cache = {}

    def _key(self, config):
        items = []
        for key, value in sorted(config.items()):
            if key in NON_STRUCTURAL_KEYS or key == "depth":
                continue
            items.append((key, repr(value)))
        return tuple(items)

    def affine(self, config):
        """`(count at depth 1, parameters per extra block)` of an architecture."""
        key = self._key(config)
        if key not in self._cache:
            base = {k: v for k, v in config.items() if k not in NON_STRUCTURAL_KEYS}
            n1 = int(self.build(dict(base, depth=1)).count_params())
            n2 = int(self.build(dict(base, depth=2)).count_params())
            self._cache[key] = (n1, n2 - n1)
        return self._cache[key]

    def build(self, config):
        """`WaveLiT(**config)` with its weights created for this input shape."""
        from keras_wavelit.models import WaveLiT

        model = WaveLiT(**config, auto_compile=False)
        fields = (1,) + self.input_shape
        if self.constants_channels:
            constants = (1,) + self.input_shape[1:3] + (self.constants_channels,)
            model.build({"fields": fields, "constants": constants})
        else:
            model.build(fields)
        return model

    def count(self, config):
        """Number of parameters of `WaveLiT(**config)` on this input shape."""
        depth = int(config["depth"])
        if depth < 1:
            raise ValueError(f"depth must be >= 1; got {depth}.")
        n1, block = self.affine(config)
        return n1 + (depth - 1) * block

    def max_depth(self, config, max_params):
        """Largest depth of this architecture within `max_params` (0 if none)."""
        n1, block = self.affine(config)
        if n1 > max_params:
            return 0
        if block <= 0:
            return 10**6
        return 1 + int((max_params - n1) // block)
