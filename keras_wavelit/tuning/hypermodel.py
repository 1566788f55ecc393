"""`WaveLiTHyperModel`: the WaveLiT search space under a parameter budget.

`BudgetedHyperModel` holds what the WaveLiT and WaveLiT-FM hypermodels share.
"""

import json
import zlib

import keras
import keras_tuner
import numpy as np

from keras_wavelit.training.interrupt import StopOnCtrlC
from keras_wavelit.tuning.budget import ParameterCounter
from keras_wavelit.tuning.budget import wavelit_argument_names
from keras_wavelit.tuning.objectives import OBJECTIVES
from keras_wavelit.tuning.objectives import RolloutVRMSE
from keras_wavelit.tuning.search_space import DEFAULT_SPACE
from keras_wavelit.tuning.search_space import NON_STRUCTURAL_KEYS
from keras_wavelit.tuning.search_space import RECIPE_KEYS
from keras_wavelit.tuning.search_space import Range
from keras_wavelit.tuning.search_space import is_fixed
from keras_wavelit.tuning.search_space import merge_space
from keras_wavelit.tuning.search_space import sample_spec
from keras_wavelit.tuning.search_space import spec_values
from keras_wavelit.tuning.search_space import valid_num_heads

_HP_SCALARS = (bool, int, float, str)
_RECIPE_DEFAULTS = {
    "loss_alpha": 1.0,
    "loss_beta": 1.0,
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
}


def _declare(hp, name, spec):
    """Registers one spec in `hp` and returns its current value."""
    if isinstance(spec, list):
        return hp.Choice(name, spec)
    if isinstance(spec, Range):
        if spec.is_int:
            return hp.Int(name, spec.low, spec.high, step=int(spec.step or 1))
        return hp.Float(
            name,
            float(spec.low),
            float(spec.high),
            step=spec.step,
            sampling="log" if spec.log else "linear",
        )
    if isinstance(spec, _HP_SCALARS):
        return hp.Fixed(name, spec)
    return spec


def _values_hash(values):
    text = json.dumps({k: repr(v) for k, v in sorted(values.items())})
    return zlib.crc32(text.encode("utf-8"))


class BudgetedHyperModel(keras_tuner.HyperModel):
    """Search space, parameter budget and recipe shared by the WaveLiT hypermodels.

    Subclasses say which model they build (`_new_model`), how its size is
    counted (`_make_counter`), which arguments it takes (`_argument_names`)
    and which callbacks compute the objective (`_callbacks`); see
    `WaveLiTHyperModel` for the arguments.
    """

    model_name = "model"
    default_space = DEFAULT_SPACE

    def __init__(
        self,
        space=None,
        max_params=None,
        boundary="reflect",
        objective="val_vrmse",
        warmup_steps=5000,
        max_resamples=200,
        seed=0,
        compile_kwargs=None,
        name=None,
        tunable=True,
    ):
        super().__init__(name=name, tunable=tunable)
        self.compile_kwargs = dict(compile_kwargs or {})
        self.max_params = None if max_params is None else int(max_params)
        self.boundary = boundary
        self.objective_name = objective
        self.warmup_steps = int(warmup_steps)
        self.max_resamples = int(max_resamples)
        self.seed = int(seed)
        self.counter = self._make_counter()
        self.space = merge_space(space, base=self.default_space)
        self.trained = []  # (config, count_params()) of every model trained
        self._check_space()

    def _make_counter(self):
        raise NotImplementedError

    def _argument_names(self):
        raise NotImplementedError

    def _grid(self):
        """`(H, W)` the model must accept, or None."""
        return None

    def _new_model(self, model_config):
        raise NotImplementedError

    def _callbacks(self):
        return []

    # -- the space ---------------------------------------------------------
    @property
    def objective(self):
        """The `keras_tuner.Objective` to give the tuner (minimised)."""
        return keras_tuner.Objective(self.objective_name, direction="min")

    @property
    def _rope(self):
        return self.space.get("rope", True) is not False

    def _head_candidates(self):
        spec = self.space.get("num_heads")
        return spec_values(spec) if spec is not None else None

    def _check_space(self):
        allowed = self._argument_names() | set(RECIPE_KEYS)
        unknown = sorted(set(self.space) - allowed)
        if unknown:
            raise ValueError(
                f"Unknown search space entries {unknown}: entries are {self.model_name} "
                f"arguments or one of {list(RECIPE_KEYS)}."
            )
        for key in ("dim", "depth"):
            if key not in self.space:
                raise ValueError(f"The search space needs a `{key}` entry.")
            if spec_values(self.space[key]) is None:
                raise ValueError(f"`{key}` must be a choice, an integer range or a fixed value.")
        heads = self._head_candidates()
        if heads is not None:
            dim_values = spec_values(self.space["dim"])
            dims = [d for d in dim_values if valid_num_heads(d, heads, self._rope)]
            if not dims:
                raise ValueError(
                    f"No `dim` in {dim_values} admits a `num_heads` in {heads} (the head "
                    "dimension dim / num_heads must be a multiple of 4 with RoPE)."
                )
            if len(dims) != len(dim_values):
                self.space["dim"] = dims if len(dims) > 1 else dims[0]
        smallest = self.smallest_config()
        problem = self._problem(smallest)
        if problem:
            raise ValueError(
                f"Even the smallest configuration of the search space does not fit: {problem}. "
                "Raise max_params or narrow the space."
            )

    def smallest_config(self):
        """The configuration of the space with the fewest parameters (a lower bound)."""
        config = {}
        for key, spec in self.space.items():
            if key in RECIPE_KEYS:
                continue
            values = spec_values(spec)
            if key in ("dim", "depth", "pyramid_levels", "wavelet_levels", "mlp_ratio"):
                config[key] = min(values) if values else spec.low
            elif values:
                config[key] = values[0]
            else:
                config[key] = spec.low
        heads = self._head_candidates()
        if heads is not None:
            config["num_heads"] = max(valid_num_heads(config["dim"], heads, self._rope) or [1])
        return self._model_config(config)

    def _model_config(self, values):
        config = {
            k: v for k, v in values.items() if k not in RECIPE_KEYS and not k.startswith("tuner/")
        }
        config.setdefault("boundary", self.boundary)
        return config

    def _problem(self, config):
        """Why a model configuration is not allowed, or None."""
        heads = config.get("num_heads")
        if heads is not None and not valid_num_heads(config["dim"], [heads], self._rope):
            return (
                f"num_heads={heads} does not divide dim={config['dim']} into heads of a "
                "dimension divisible by 4"
            )
        levels = int(config.get("wavelet_levels", 1)) + int(config.get("pyramid_levels", 1))
        grid = self._grid()
        h, w = grid if grid is not None else (0, 0)
        if h % 2**levels or w % 2**levels:
            return (
                f"a {h}x{w} grid is not a multiple of 2**(wavelet_levels + pyramid_levels) = "
                f"{2**levels}"
            )
        if self.max_params is not None:
            n = self.counter.count(config)
            if n > self.max_params:
                return f"{n} parameters > max_params={self.max_params}"
        return None

    def count_params(self, model_config):
        """Exact parameter count of the model of `model_config`."""
        return self.counter.count(self._model_config(model_config))

    def declare(self, hp):
        """Registers the space in `hp`; returns the current values by name."""
        return {name: _declare(hp, name, spec) for name, spec in self.space.items()}

    def _repair_heads(self, values):
        """`values` with `num_heads` moved to the nearest count that suits `dim`."""
        heads = self._head_candidates()
        h = values.get("num_heads")
        if heads is None or h is None or valid_num_heads(values["dim"], [h], self._rope):
            return values
        ok = valid_num_heads(values["dim"], heads, self._rope)
        if not ok:
            return values
        return dict(values, num_heads=min(ok, key=lambda c: (abs(c - h), c)))

    def resolve(self, values):
        """A configuration within the constraints and budget, from proposed values.

        Returns `values` itself when it is allowed (after moving an
        unsuitable `num_heads` to the nearest suitable one); otherwise the
        architecture entries (those that change the parameter count) are
        drawn anew from the space, with a generator seeded by `seed` and the
        proposal, until a configuration fits. Recipe entries and
        `ridge_lambda` keep their proposed values.

        Args:
            values: dict of hyperparameter values by name.

        Returns:
            `(values, changed)`: the allowed values and the sorted names of
            the entries that were redrawn.
        """
        values = dict(values)
        repaired = self._repair_heads(values)
        if self._problem(self._model_config(repaired)) is None:
            return repaired, sorted(k for k in repaired if repaired[k] != values.get(k))
        rng = np.random.default_rng([self.seed, _values_hash(values)])
        tunable = [
            k
            for k, spec in self.space.items()
            if k not in RECIPE_KEYS
            and k not in NON_STRUCTURAL_KEYS
            and k not in ("num_heads", "depth")
            and not is_fixed(spec)
        ]
        heads = self._head_candidates()
        depths = spec_values(self.space["depth"])
        for _ in range(self.max_resamples):
            cand = dict(values)
            for k in tunable:
                cand[k] = sample_spec(self.space[k], rng)
            if heads is not None:
                if is_fixed(self.space["num_heads"]):
                    cand["num_heads"] = self.space["num_heads"]
                else:
                    ok = valid_num_heads(cand["dim"], heads, self._rope)
                    if not ok:
                        continue
                    cand["num_heads"] = ok[int(rng.integers(0, len(ok)))]
            config = self._model_config(cand)
            cand_depth = dict(config, depth=min(depths))
            if self._problem(cand_depth) is not None:
                continue
            top = self.counter.max_depth(config, self.max_params) if self.max_params else 10**6
            feasible = [d for d in depths if d <= top]
            if not feasible:
                continue
            cand["depth"] = feasible[int(rng.integers(0, len(feasible)))]
            changed = sorted(k for k in cand if cand[k] != values.get(k))
            return cand, changed
        raise keras_tuner.errors.FatalValueError(
            f"No configuration within max_params={self.max_params} found in "
            f"{self.max_resamples} draws from the search space; narrow the space."
        )

    def config_from_values(self, values):
        """The configuration that trial values stand for, in `best.json`'s layout.

        Args:
            values: dict of hyperparameter values (e.g. `trial.hyperparameters.values`).

        Returns:
            dict with `"model"` (`WaveLiT` constructor arguments), `"optimizer"`
            (`learning_rate`, `weight_decay` and the hypermodel's
            `warmup_steps`) and `"loss"` (`alpha`, `beta`).
        """
        space_values = {}
        for key, spec in self.space.items():
            if key in values:
                space_values[key] = values[key]
            elif is_fixed(spec):
                space_values[key] = spec
        if "num_heads" in values:
            space_values["num_heads"] = values["num_heads"]
        resolved, _ = self.resolve(space_values)
        recipe = {k: resolved.get(k, _RECIPE_DEFAULTS[k]) for k in RECIPE_KEYS}
        return {
            "model": self._model_config(resolved),
            "optimizer": {
                "learning_rate": float(recipe["learning_rate"]),
                "weight_decay": float(recipe["weight_decay"]),
                "warmup_steps": self.warmup_steps,
            },
            "loss": {"alpha": float(recipe["loss_alpha"]), "beta": float(recipe["loss_beta"])},
        }

    # -- KerasTuner --------------------------------------------------------
    def build(self, hp):
        """Builds and compiles the model of one trial.

        Over-budget or invalid proposals are replaced first (see `resolve`),
        and `hp.values` is updated to what is built.

        Returns:
            A compiled model, its weights not yet created.
        """
        values = self.declare(hp)
        resolved, changed = self.resolve(values)
        for key in changed:
            if key in hp.values:
                hp.values[key] = resolved[key]
        config = self.config_from_values(resolved)
        keras.utils.set_random_seed(self.seed)
        return self.build_model(config)

    def build_model(self, config):
        """A compiled model from a configuration in `best.json`'s layout.

        The model's own `compile` gives the paper's recipe (AdamW with
        warm-up, decay, clipping and EMA; VRMSE) at the configuration's
        learning rate, weight decay and warm-up, with a `WaveletLoss` of the
        configuration's weights.
        """
        from keras_wavelit.losses import WaveletLoss

        model_config = dict(config["model"])
        model = self._new_model(model_config)
        optimizer = config["optimizer"]
        loss = WaveletLoss(
            config["loss"]["alpha"],
            config["loss"]["beta"],
            wavelet=model_config.get("wavelet", "bior2.2"),
            wavelet_levels=model_config.get("wavelet_levels", 1),
            boundary=model_config.get("boundary", self.boundary),
        )
        model.compile(
            loss=loss,
            learning_rate=optimizer["learning_rate"],
            warmup_steps=optimizer.get("warmup_steps", self.warmup_steps),
            weight_decay=optimizer["weight_decay"],
            **self.compile_kwargs,
        )
        return model

    def fit(self, hp, model, *args, **kwargs):
        """`model.fit`, with the objective's callbacks first."""
        callbacks = self._callbacks() + list(kwargs.pop("callbacks", None) or [])
        callbacks.append(_RecordSize(self))
        callbacks.append(StopOnCtrlC())
        kwargs["callbacks"] = callbacks
        return model.fit(*args, **kwargs)


class WaveLiTHyperModel(BudgetedHyperModel):
    """A KerasTuner hypermodel over `WaveLiT` and its training recipe.

    Each trial builds a `keras_wavelit.models.WaveLiT` (paper sections 3 and
    4.1) compiled with the paper's recipe (Appendix E: AdamW with warm-up,
    clipping and EMA, `WaveletLoss`, VRMSE) at the trial's values. The
    default space, `keras_wavelit.tuning.DEFAULT_SPACE`, covers `dim`,
    `depth`, `num_heads`, `pyramid_levels`, `wavelet` in
    `{haar, bior2.2, bior4.4}`, the ridge strength `ridge_lambda`, the loss
    weights `loss_alpha` / `loss_beta`, the peak `learning_rate` and the
    `weight_decay`; docs/tuning.md lists the ranges. `space` fixes, narrows
    or extends any entry (any `WaveLiT` constructor argument may be added).

    A trial's `num_heads` must divide its `dim` into heads whose dimension
    is a multiple of 4 (the 2D rotary embedding); a proposal that does not
    is moved to the nearest head count of the space that does. With
    `max_params`, a configuration over the budget is never built or
    trained: the exact count (`ParameterCounter`,
    equal to `model.count_params()`) is checked first, and an over-budget
    proposal is replaced, within the same trial, by a configuration whose
    architecture entries are drawn anew from the space until one fits
    (deterministically, from the proposal and `seed`). The trial's
    hyperparameters are overwritten with what was trained, so the oracle
    learns from the real configuration and no trial fails, which
    KerasTuner's own `max_model_size` (0 for an unbuilt subclassed model,
    a failed trial otherwise) cannot offer.

    Args:
        input_shape: `(T_in, H, W, C)` of one sample's fields.
        constants_channels: int, number of constant fields. Defaults to 0.
        space: dict of search space entries replacing or extending the
            defaults: a list is a choice, a `Range` or `(low, high)` a range,
            another value fixes the entry and None removes it.
        max_params: optional int, the parameter budget (e.g. `1.2e6`).
        boundary: boundary mode of the model and loss, `"reflect"` or
            `"periodic"` (use `keras_wavelit.data.boundary_mode` for a
            dataset). Defaults to `"reflect"`.
        objective: `"val_vrmse"` (default, one-step validation VRMSE) or
            `"val_rollout_vrmse"` (median rollout VRMSE over `rollout_window`
            of `rollout_data`, computed after every epoch).
        rollout_data: `(x0, y)` validation trajectories for the rollout
            objective: `x0` the first `T_in` steps (or a dict with
            constants), `y` `(B, T, H, W, C)` the following steps.
        rollout_window: `(start, end)`, 1-based and inclusive. Defaults to
            The Well's `(6, 12)`.
        warmup_steps: int, warm-up of the learning rate schedule. Defaults
            to 5000 (the paper's); a short trial wants about a tenth of its
            steps (what `wavelit tune` uses).
        max_resamples: int, draws allowed to find a configuration within the
            budget. Defaults to 200.
        seed: int, seeds weight initialisation and resampling.
        compile_kwargs: optional dict of further `compile` arguments of
            every model (e.g. `{"jit_compile": False}`).
        name, tunable: as for `keras_tuner.HyperModel`.

    Example:

    ```python
    import keras_tuner
    import keras_wavelit as kw

    hypermodel = kw.tuning.WaveLiTHyperModel(
        (2, 16, 16, 3),
        space={"dim": [8, 16], "depth": (1, 2), "pyramid_levels": 1},
        max_params=20_000,
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    config = hypermodel.config_from_values(hp.values)
    assert hypermodel.count_params(config["model"]) <= 20_000
    ```
    """

    def __init__(
        self,
        input_shape,
        constants_channels=0,
        space=None,
        max_params=None,
        boundary="reflect",
        objective="val_vrmse",
        rollout_data=None,
        rollout_window=(6, 12),
        warmup_steps=5000,
        max_resamples=200,
        seed=0,
        compile_kwargs=None,
        name=None,
        tunable=True,
    ):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}; got {objective!r}.")
        if objective == "val_rollout_vrmse" and rollout_data is None:
            raise ValueError("objective='val_rollout_vrmse' needs rollout_data=(x0, y).")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.constants_channels = int(constants_channels)
        self.rollout_data = rollout_data
        self.rollout_window = tuple(int(w) for w in rollout_window)
        if objective == "val_rollout_vrmse":
            y = np.asarray(rollout_data[1])
            if y.ndim != 5 or y.shape[1] < self.rollout_window[1]:
                raise ValueError(
                    f"rollout_data targets must be (B, T, H, W, C) with T >= "
                    f"{self.rollout_window[1]} for rollout_window {self.rollout_window}; "
                    f"got shape {y.shape}."
                )
        super().__init__(
            space=space,
            max_params=max_params,
            boundary=boundary,
            objective=objective,
            warmup_steps=warmup_steps,
            max_resamples=max_resamples,
            seed=seed,
            compile_kwargs=compile_kwargs,
            name=name,
            tunable=tunable,
        )

    # -- what is WaveLiT-specific ----------------------------------------------
    model_name = "WaveLiT"

    def _make_counter(self):
        return ParameterCounter(self.input_shape, self.constants_channels)

    def _argument_names(self):
        return wavelit_argument_names()

    def _grid(self):
        return self.input_shape[1:3]

    def _new_model(self, model_config):
        from keras_wavelit.models import WaveLiT

        return WaveLiT(**model_config, auto_compile=False)

    def _callbacks(self):
        if self.objective_name == "val_rollout_vrmse":
            x0, y = self.rollout_data
            return [RolloutVRMSE(x0, y, self.rollout_window, self.objective_name)]
        return []


class _RecordSize(keras.callbacks.Callback):
    """Records the size of every trained model and stops one over the budget."""

    def __init__(self, hypermodel):
        super().__init__()
        self.hypermodel = hypermodel

    def on_train_batch_end(self, batch, logs=None):
        if batch == 0 and not getattr(self, "_checked", False):
            self._checked = True
            n = int(self.model.count_params())
            hm = self.hypermodel
            hm.trained.append((dict(getattr(self.model, "get_config", dict)()), n))
            if hm.max_params is not None and n > hm.max_params:
                raise RuntimeError(
                    f"A model of {n} parameters is training under max_params={hm.max_params}."
                )
