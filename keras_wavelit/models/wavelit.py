"""The WaveLiT forecaster (paper sections 3 and 4.1, Appendix E).

`docs/design.md` §2.6: the task around `WaveLiTBackbone`.
"""

import warnings

import keras
import numpy as np
from keras import ops

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.inputs import shift_window
from keras_wavelit.inputs import split_input_shape
from keras_wavelit.inputs import split_inputs
from keras_wavelit.layers.relative_noise import add_relative_noise
from keras_wavelit.layers.relative_noise import attach_seed_generator
from keras_wavelit.layers.relative_noise import check_noise_scale
from keras_wavelit.layers.ridge_linear_attention import legacy_attention_config
from keras_wavelit.layers.wavelet_decoder import WaveletDecoder
from keras_wavelit.layers.wavelet_encoder import WaveletEncoder
from keras_wavelit.losses.wavelet_loss import WaveletLoss
from keras_wavelit.models.recipe import SCHEDULES
from keras_wavelit.models.recipe import NonFiniteGuard
from keras_wavelit.models.recipe import paper_optimizer
from keras_wavelit.models.recipe import recipe_defaults
from keras_wavelit.models.recipe import steps_per_epoch_of
from keras_wavelit.models.wavelit_backbone import WaveLiTBackbone
from keras_wavelit.models.wavelit_backbone import check_architecture
from keras_wavelit.models.wavelit_presets import DEFAULT_PRESET
from keras_wavelit.models.wavelit_presets import WAVELIT_PRESETS
from keras_wavelit.models.wavelit_presets import preset_config
from keras_wavelit.optimizers.warmup_exponential_decay import PAPER_WARMUP_STEPS
from keras_wavelit.optimizers.warmup_exponential_decay import WarmupExponentialDecay

#: Recipe settings that older releases kept in the model's config.
_RECIPE_ARGUMENTS = ("learning_rate", "warmup_steps", "weight_decay")
#: Configuration keys of release 0.1 and their current names.
_RENAMED_CONFIG_KEYS = {
    "levels": "wavelet_levels",
    "fpn_levels": "pyramid_levels",
    "mode": "boundary",
    "fpn_upsample": "pyramid_upsample",
    "fpn_combine": "pyramid_combine",
}
#: Weight paths of release 0.1 (one `WaveletTokenizer`, the blocks and the
#: final norm directly on the model) for the current ones.
_LEGACY_WEIGHT_PATHS = (
    ("backbone/final_norm", "final_norm"),
    ("backbone/layers/", "layers/"),
    ("encoder/projection", "layers/wavelet_tokenizer/encoder"),
    ("encoder/dwt", "layers/wavelet_tokenizer/dwt"),
    ("decoder/projection", "layers/wavelet_tokenizer/decoder"),
    ("decoder/idwt", "layers/wavelet_tokenizer/idwt"),
    # The optimizer's variables were ordered differently: it restarts.
    ("optimizer", "optimizer of release 0.1 (not loaded)"),
)


def _shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else tuple(x)


def _legacy_path(path):
    for new, old in _LEGACY_WEIGHT_PATHS:
        if (
            path == new
            or path.startswith(new + "/")
            or (new.endswith("/") and path.startswith(new))
        ):
            return old + path[len(new) :]
    return path


def _first_batch_inputs(data):
    """The model inputs of the first batch of `data`, or None if unknown."""
    if isinstance(data, keras.utils.PyDataset):
        if len(data) == 0:
            return None
        batch = data[0]
    elif hasattr(data, "take") and hasattr(data, "element_spec"):  # tf.data
        spec = data.element_spec
        batch = spec[0] if isinstance(spec, tuple) else spec
        return batch
    else:
        return data
    return batch[0] if isinstance(batch, tuple) else batch


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveLiT(keras.Model):
    """WaveLiT: wavelet tokens, ridge MILA mixers and a shared pyramid.

    The one-step forecaster of paper section 3 (`docs/design.md` §2.6):
    `x (B, T_in, H, W, C)` (plus optional constant fields
    `(B, H, W, C_const)`) -> input steps folded into channels ->
    `WaveletEncoder` (lossless DWT tokens) -> `WaveLiTBackbone`
    (`depth` x `SharedFPN(RidgeMILABlock)` and a LayerNorm) ->
    `WaveletDecoder` (inverse DWT) -> `(B, 1, H, W, C)`, the next step of
    the same fields. The model builds lazily from its first batch.

    Input contract (`keras_wavelit.inputs`): `fields` alone, a dict
    `{"fields": x, "constants": c}` or a tuple `(x, c)`. Constant fields
    (The Well's `constant_fields`, e.g. density and speed of sound) are
    concatenated to the folded channels. `H` and `W` must be multiples of
    `2 ** (wavelet_levels + pyramid_levels)`. Shapes are checked before
    Keras's compiled `fit`, `evaluate` and `predict` run, so a wrong shape
    raises a clear `ValueError` and leaves the model usable.

    Unless `auto_compile=False`, the model compiles itself with
    `compile()`: the paper's recipe (Appendix E) with a warm-up that adapts
    to the run, input noise for long-rollout stability (section 5; the
    paper's plain recipe is `compile(recipe="paper")`), a `WaveletLoss`
    with the model's own wavelet, levels and boundary mode, the VRMSE
    metric, and a guard that stops training on a non-finite loss and
    restores the last finite weights.

    Args:
        size: a preset name (`"1.2M"`, `"1.2M-fast"`, `"9.5M"`, see `WaveLiT.presets`) or
            None for the `"1.2M"` architecture; explicit arguments override
            the preset's `dim`, `depth`, `num_heads`, `pyramid_levels` and
            `wavelet_levels`.
        dim: int, token dimension.
        depth: int >= 1, number of mixer blocks.
        num_heads: int >= 1, attention heads (`dim / num_heads` divisible by
            4 with RoPE).
        pyramid_levels: int >= 0, coarser levels of every `SharedFPN`
            (0 = no pyramid; paper Table 13). Old name `fpn_levels`.
        wavelet_levels: int >= 1, DWT levels of the tokenizer. Old name
            `levels`.
        wavelet: str, PyWavelets name (paper Table 2). Defaults to
            `"bior2.2"`.
        boundary: boundary mode of the DWT, the depthwise convolutions and
            the default loss: `"reflect"` (default) or `"periodic"`. Old
            name `mode`.
        tokenizer: `"wavelet"` (default) or `"conv"` (Table 13 baseline).
        mlp_ratio: float > 0. Defaults to 4.
        drop_path: float in [0, 1), maximal stochastic-depth rate (linearly
            increasing over depth).
        attention: `"linear"` (default) or `"softmax"` (Appendix B).
        attention_state, ridge, ridge_lambda, min_ridge_lambda, rope,
            kernel_gate, lepe, cpe, mila, value_projection, solver: mixer
            switches, see `RidgeMILABlock` (Table 14; `attention_state`
            picks the ridge, vanilla, MLLA, least-squares or fixed-lambda
            state of Appendix A, `ridge=False` is the vanilla state).
        pyramid_upsample: see `SharedFPN` (old name `fpn_upsample`); None:
            its default.
        pyramid_combine: see `SharedFPN` (old name `fpn_combine`); None: its
            default, the paper's Eq. 3. Models saved before the argument
            existed load as `"output"`.
        predict_residual: bool, predict `x_last + f(x)` instead of `f(x)`.
            Defaults to False.
        auto_compile: bool, call `compile()` (the recipe) at construction.
        **kwargs: `keras.Model` keyword arguments (`name`, `dtype`).
            `learning_rate`, `warmup_steps` and `weight_decay` are still
            accepted here (deprecated; pass them to `compile`).

    Call arguments:
        inputs: fields `(B, T_in, H, W, C)`, or a dict / tuple with
            constant fields.
        training: bool.

    Returns:
        Tensor `(B, 1, H, W, C)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    model = kw.models.WaveLiT(dim=16, depth=1, num_heads=2)
    x = np.random.rand(4, 2, 16, 16, 3).astype("float32")
    y = np.random.rand(4, 1, 16, 16, 3).astype("float32")
    model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    trajectory = model.rollout(x[:1], steps=2)
    assert trajectory.shape == (1, 2, 16, 16, 3)
    ```
    """

    #: The presets (`WaveLiT.from_preset(name)`), see `wavelit_presets.py`.
    presets = WAVELIT_PRESETS

    def __init__(
        self,
        size=None,
        dim=None,
        depth=None,
        num_heads=None,
        pyramid_levels=None,
        wavelet_levels=None,
        wavelet="bior2.2",
        boundary=None,
        tokenizer="wavelet",
        mlp_ratio=4.0,
        drop_path=0.0,
        attention="linear",
        attention_state=None,
        ridge=None,
        ridge_lambda=1.0,
        min_ridge_lambda=1e-3,
        rope=True,
        kernel_gate=True,
        lepe=True,
        cpe=True,
        mila=True,
        value_projection=False,
        solver="auto",
        pyramid_upsample=None,
        pyramid_combine=None,
        predict_residual=False,
        auto_compile=True,
        **kwargs,
    ):
        owner = "WaveLiT"
        pyramid_levels = renamed_argument(
            owner, kwargs, "fpn_levels", "pyramid_levels", pyramid_levels, None
        )
        wavelet_levels = renamed_argument(
            owner, kwargs, "levels", "wavelet_levels", wavelet_levels, None
        )
        boundary = renamed_argument(owner, kwargs, "mode", "boundary", boundary, "reflect")
        pyramid_upsample = renamed_argument(
            owner, kwargs, "fpn_upsample", "pyramid_upsample", pyramid_upsample, None
        )
        pyramid_combine = renamed_argument(
            owner, kwargs, "fpn_combine", "pyramid_combine", pyramid_combine, None
        )
        recipe = {k: kwargs.pop(k) for k in _RECIPE_ARGUMENTS if k in kwargs}
        if recipe:
            warnings.warn(
                f"WaveLiT: {sorted(recipe)} in the constructor are deprecated and will be "
                "removed in the next release; pass them to `compile()`.",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(**kwargs)
        arch = preset_config(DEFAULT_PRESET if size is None else size)
        given = {
            "dim": dim,
            "depth": depth,
            "num_heads": num_heads,
            "pyramid_levels": pyramid_levels,
            "wavelet_levels": wavelet_levels,
        }
        arch.update({k: v for k, v in given.items() if v is not None})
        check_architecture(
            owner,
            dim=arch["dim"],
            depth=arch["depth"],
            num_heads=arch["num_heads"],
            pyramid_levels=arch["pyramid_levels"],
            mlp_ratio=mlp_ratio,
            drop_path=drop_path,
            ridge_lambda=ridge_lambda,
        )
        wl = arch["wavelet_levels"]
        if isinstance(wl, bool) or not isinstance(wl, int) or wl < 1:
            raise ValueError(f"WaveLiT: `wavelet_levels` must be an integer >= 1, got {wl!r}.")
        self.size = size
        self.dim = arch["dim"]
        self.depth = arch["depth"]
        self.num_heads = arch["num_heads"]
        self.pyramid_levels = arch["pyramid_levels"]
        self.wavelet_levels = wl
        self.wavelet = wavelet
        self.boundary = boundary
        self.tokenizer = tokenizer
        self.predict_residual = predict_residual
        self.auto_compile = auto_compile
        self._recipe_arguments = recipe
        self.guard_non_finite = False
        self.input_noise = 0.0
        self.input_noise_seed_generator = None  # created by the first compile with noise

        policy = self.dtype_policy
        self.encoder = WaveletEncoder(
            self.dim,
            wavelet=wavelet,
            wavelet_levels=wl,
            boundary=boundary,
            kind=tokenizer,
            dtype=policy,
            name="encoder",
        )
        self.backbone = WaveLiTBackbone(
            dim=self.dim,
            depth=self.depth,
            num_heads=self.num_heads,
            pyramid_levels=self.pyramid_levels,
            boundary=boundary,
            mlp_ratio=mlp_ratio,
            drop_path=drop_path,
            attention=attention,
            attention_state=attention_state,
            ridge=ridge,
            ridge_lambda=ridge_lambda,
            min_ridge_lambda=min_ridge_lambda,
            rope=rope,
            kernel_gate=kernel_gate,
            lepe=lepe,
            cpe=cpe,
            mila=mila,
            value_projection=value_projection,
            solver=solver,
            pyramid_upsample=pyramid_upsample,
            pyramid_combine=pyramid_combine,
            dtype=policy,
            name="backbone",
        )
        self.decoder = None  # built with the number of fields
        self.n_steps_input = None
        self.n_fields = None
        self.n_constants = 0
        if auto_compile:
            self.compile()

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """A WaveLiT with a preset's architecture, or a saved `.keras` model.

        Args:
            preset: a preset name (`"1.2M"`, `"1.2M-fast"`, `"9.5M"`; see
                `WaveLiT.presets`) or the path of a `.keras` file.
            **kwargs: constructor arguments overriding the preset (not
                allowed with a file).

        Returns:
            A `WaveLiT` (compiled unless `auto_compile=False`).

        Example:

        ```python
        import keras_wavelit as kw

        model = kw.models.WaveLiT.from_preset("1.2M", auto_compile=False)
        assert (model.dim, model.depth, model.num_heads) == (96, 9, 4)
        ```
        """
        if isinstance(preset, str) and preset.endswith(".keras"):
            if kwargs:
                raise ValueError(
                    f"WaveLiT.from_preset({preset!r}) loads a saved model; it takes no "
                    f"other arguments, got {sorted(kwargs)}."
                )
            model = keras.saving.load_model(preset)
            if not isinstance(model, cls):
                raise ValueError(
                    f"{preset!r} holds a {type(model).__name__}, not a {cls.__name__}."
                )
            return model
        preset_config(preset)  # a clear error for an unknown name
        return cls(size=preset, **kwargs)

    # -- recipe ---------------------------------------------------------------
    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        schedule=None,
        learning_rate=None,
        warmup_steps=None,
        weight_decay=None,
        guard_non_finite=True,
        input_noise=None,
        recipe="wavelit",
        **kwargs,
    ):
        """Compiles the model; `"auto"` arguments give the library's recipe.

        The default `recipe="wavelit"` is the paper's recipe (Appendix E)
        with an adaptive warm-up and input noise of 0.1 for long-rollout
        stability (paper section 5; measured in `docs/evaluation.md`);
        `recipe="paper"` is the paper's plain recipe (5,000 warm-up steps, no
        input noise). Explicit arguments override the recipe's.

        Args:
            optimizer: `"auto"` (AdamW with warm-up and exponential decay,
                global clipping at 1 and an EMA of the weights, paper
                Appendix E; see `paper_optimizer`) or any Keras optimizer.
            loss: `"auto"` (`WaveletLoss(1, 1)` with the model's `wavelet`,
                `wavelet_levels` and `boundary`) or any Keras loss.
            metrics: `"auto"` (`[VRMSE()]`) or a list of metrics.
            schedule: the learning-rate schedule of `optimizer="auto"`:
                `"auto"` (the `"wavelit"` recipe's) warms up linearly over a tenth of the
                steps the first `fit` will run, at most 5,000 (the whole run
                visibly trains, also when it is shorter than the paper's
                warm-up); `"paper"` (the `"paper"` recipe's) warms up over
                5,000 steps as the paper does. Both then decay by 0.99 every 2,000 steps.
            learning_rate: peak learning rate of `optimizer="auto"`.
                Defaults to 1e-3.
            warmup_steps: int, a fixed warm-up length (overrides
                `schedule`).
            weight_decay: AdamW weight decay of `optimizer="auto"`. Defaults
                to 1e-4.
            guard_non_finite: bool, add a `NonFiniteGuard` to every `fit`.
                Defaults to True.
            input_noise: float >= 0, Walrus-style input noise for
                long-rollout stability (paper section 5): whenever the model
                is called with `training=True` (`fit`, `train_on_batch`,
                the unroll of a `RolloutFinetuner`), Gaussian noise is added
                to every input frame, with a per-sample, per-field standard
                deviation of `input_noise` times the RMS one-step change of
                that sample's window (`x_t - x_{t-1}` over the window's
                frames; for a one-frame window, the field's spatial standard
                deviation; see
                `keras_wavelit.layers.relative_noise.one_step_change_rms`).
                Constant fields are not perturbed, and the targets stay
                clean. With `predict_residual=True` the residual is added to
                the perturbed last frame, so the model learns to undo the
                perturbation. Inference is unaffected. Saved with the
                compile configuration. Defaults to the recipe's: 0.1
                (`DEFAULT_INPUT_NOISE`) for `"wavelit"`, 0 (off, no cost)
                for `"paper"`.
            recipe: `"wavelit"` (default) or `"paper"`: the defaults of
                `schedule` and `input_noise` (see above and `RECIPES`).
            **kwargs: other `keras.Model.compile` arguments. `jit_compile`
                applies to this session only: it is not saved, so a loaded
                model uses the loading backend's default.
        """
        defaults = recipe_defaults(recipe, "WaveLiT.compile")
        if input_noise is None:
            input_noise = defaults["input_noise"]
        # Recipe settings given to the constructor (deprecated, release 0.1).
        constructor = getattr(self, "_recipe_arguments", {})
        if optimizer == "auto":
            schedule = defaults["schedule"] if schedule is None else schedule
            if schedule not in SCHEDULES:
                raise ValueError(
                    f"WaveLiT.compile: `schedule` must be one of {SCHEDULES}, got {schedule!r}."
                )
            if warmup_steps is None:
                warmup_steps = constructor.get("warmup_steps")
            if warmup_steps is None:
                warmup_steps = "auto" if schedule == "auto" else PAPER_WARMUP_STEPS
            optimizer = paper_optimizer(
                learning_rate=constructor.get("learning_rate", 1e-3)
                if learning_rate is None
                else learning_rate,
                warmup_steps=warmup_steps,
                weight_decay=constructor.get("weight_decay", 1e-4)
                if weight_decay is None
                else weight_decay,
            )
        else:
            given = {
                "schedule": schedule,
                "learning_rate": learning_rate,
                "warmup_steps": warmup_steps,
                "weight_decay": weight_decay,
            }
            given = sorted(k for k, v in given.items() if v is not None)
            if given:
                raise ValueError(
                    f"WaveLiT.compile: {given} apply to optimizer='auto' only; configure "
                    f"the optimizer {optimizer!r} itself."
                )
        if isinstance(loss, str) and loss == "auto":
            loss = WaveletLoss(
                1.0,
                1.0,
                wavelet=self.wavelet,
                wavelet_levels=self.wavelet_levels,
                boundary=self.boundary,
            )
        if isinstance(metrics, str) and metrics == "auto":
            from keras_wavelit.metrics import VRMSE

            metrics = [VRMSE()]
        check_noise_scale("WaveLiT.compile", "input_noise", input_noise)
        self.input_noise = float(input_noise)
        if self.input_noise > 0 and self.input_noise_seed_generator is None:
            attach_seed_generator(self, "input_noise_seed_generator")
        self.guard_non_finite = bool(guard_non_finite)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            # A compile setting of this session, not of the model: a file saved
            # under JAX (jit_compile=True) must not torch.compile on PyTorch.
            config.pop("jit_compile", None)
            config["guard_non_finite"] = self.guard_non_finite
            config["input_noise"] = self.input_noise
        return config

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        config.pop("jit_compile", None)
        # Files saved before `input_noise` existed trained without it.
        config.setdefault("input_noise", 0.0)
        self.compile(**config)
        if self.built and self.optimizer is not None:
            self.optimizer.build(self.trainable_variables)

    # -- shapes -----------------------------------------------------------
    @property
    def spatial_multiple(self):
        """Height and width must be multiples of this number."""
        return 2 ** (self.wavelet_levels + self.pyramid_levels)

    def _check_fields_shape(self, shape, constants_shape=None):
        shape = tuple(shape)
        if len(shape) != 5:
            hint = " (3D data is not supported: 2D only)" if len(shape) == 6 else ""
            raise ValueError(
                f"WaveLiT expects fields of shape (B, T_in, H, W, C); got shape {shape}{hint}."
            )
        _, t, h, w, c = shape
        m = self.spatial_multiple
        for n, name in ((h, "height"), (w, "width")):
            if n is not None and n % m:
                raise ValueError(
                    f"WaveLiT(wavelet_levels={self.wavelet_levels}, pyramid_levels="
                    f"{self.pyramid_levels}) needs a {name} that is a multiple of {m}; got "
                    f"fields of shape {shape}."
                )
        if self.n_fields is not None and (c != self.n_fields or t != self.n_steps_input):
            raise ValueError(
                f"This WaveLiT was built for T_in={self.n_steps_input} steps of "
                f"C={self.n_fields} fields; got fields of shape {shape}."
            )
        if constants_shape is not None:
            constants_shape = tuple(constants_shape)
            if len(constants_shape) != 4 or tuple(constants_shape[1:3]) != (h, w):
                raise ValueError(
                    "Constant fields must have shape (B, H, W, C_const) on the same grid as "
                    f"the fields {shape}; got {constants_shape}."
                )
        n_const = 0 if constants_shape is None else constants_shape[-1]
        if self.n_fields is not None and n_const != self.n_constants:
            raise ValueError(
                f"This WaveLiT was built with {self.n_constants} constant field(s); got {n_const}."
            )

    def check_inputs(self, inputs):
        """Raises a clear `ValueError` if `inputs` do not fit this model.

        Args:
            inputs: model inputs (see the input contract) or their shapes'
                holders (anything with `.shape`).
        """
        fields, constants = split_inputs(inputs)
        if not hasattr(fields, "shape"):
            return
        constants_shape = None if constants is None else _shape_of(constants)
        self._check_fields_shape(_shape_of(fields), constants_shape)

    def _check_data(self, data):
        inputs = _first_batch_inputs(data)
        if inputs is not None:
            self.check_inputs(inputs)

    def build(self, input_shape):
        fields_shape, const_shape = split_input_shape(input_shape)
        self._check_fields_shape(fields_shape, const_shape)
        b, t, h, w, c = fields_shape
        self.n_steps_input = t
        self.n_fields = c
        self.n_constants = 0 if const_shape is None else const_shape[-1]
        c_in = t * c + self.n_constants
        self.encoder.build((b, h, w, c_in))
        token_shape = self.encoder.compute_output_shape((b, h, w, c_in))
        self.backbone.build(token_shape)
        self.decoder = WaveletDecoder(
            c,
            wavelet=self.wavelet,
            wavelet_levels=self.wavelet_levels,
            boundary=self.boundary,
            kind=self.tokenizer,
            dtype=self.dtype_policy,
            name="decoder",
        )
        self.decoder.build(token_shape)
        self.built = True

    # -- forward ----------------------------------------------------------
    def _fold(self, fields, constants):
        t, h, w, c = fields.shape[1:]
        x = ops.transpose(fields, (0, 2, 3, 1, 4))
        x = ops.reshape(x, (-1, h, w, t * c))
        if constants is not None:
            x = ops.concatenate([x, ops.cast(constants, x.dtype)], axis=-1)
        return x

    def call(self, inputs, training=None):
        fields, constants = split_inputs(inputs)
        self._check_fields_shape(
            _shape_of(fields), None if constants is None else _shape_of(constants)
        )
        fields = ops.cast(fields, self.compute_dtype)
        if training and self.input_noise > 0:
            fields = add_relative_noise(
                fields, self.input_noise, seed=self.input_noise_seed_generator
            )
        tokens = self.encoder(self._fold(fields, constants))
        tokens = self.backbone(tokens, training=training)
        y = self.decoder(tokens)[:, None]
        if self.predict_residual:
            y = y + fields[:, -1:]
        return y

    def compute_output_shape(self, input_shape):
        fields_shape, _ = split_input_shape(input_shape)
        b, _, h, w, c = fields_shape
        return (b, 1, h, w, c)

    # -- training and inference -------------------------------------------
    def _resolve_schedule(self, x, batch_size, epochs, initial_epoch, steps_per_epoch, split):
        optimizer = getattr(self, "optimizer", None)
        schedule = getattr(optimizer, "_learning_rate", None)
        if not isinstance(schedule, WarmupExponentialDecay) or not schedule.is_adaptive:
            return
        steps = steps_per_epoch or steps_per_epoch_of(x, batch_size, split)
        total = None if steps is None else steps * max(int(epochs) - int(initial_epoch), 1)
        schedule.resolve_warmup(total)

    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose="auto",
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        **kwargs,
    ):
        """`keras.Model.fit`, with the checks and the recipe's run-time parts.

        Before training: the shapes of the first batch are checked (a clear
        `ValueError` for a wrong shape), and an adaptive warm-up
        (`compile(schedule="auto")`) is fixed to a tenth of the steps this
        call will run, at most 5,000. During training: a `NonFiniteGuard`
        (unless compiled with `guard_non_finite=False`). Afterwards the
        weights are the EMA weights when the optimizer uses an EMA (the
        paper's recipe).
        """
        self._check_data(x)
        if isinstance(validation_data, tuple):
            self.check_inputs(validation_data[0])
        elif validation_data is not None:
            self._check_data(validation_data)
        self._resolve_schedule(
            x, batch_size, epochs, initial_epoch, steps_per_epoch, validation_split
        )
        if self.guard_non_finite and not isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks = list(callbacks or [])
            if not any(isinstance(c, NonFiniteGuard) for c in callbacks):
                callbacks.append(NonFiniteGuard(verbose=0 if verbose == 0 else 1))
        # Imported here: the training package imports this module.
        from keras_wavelit.training.interrupt import ctrl_c_stays_an_interrupt

        with ctrl_c_stays_an_interrupt(self):
            history = super().fit(
                x,
                y,
                batch_size=batch_size,
                epochs=epochs,
                verbose=verbose,
                callbacks=callbacks,
                validation_split=validation_split,
                validation_data=validation_data,
                shuffle=shuffle,
                class_weight=class_weight,
                sample_weight=sample_weight,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch,
                **kwargs,
            )
        self._detach_weight_buffers()
        return history

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate` after checking the first batch's shapes."""
        self._check_data(x)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict` after checking the first batch's shapes."""
        self._check_data(x)
        return super().predict(x, *args, **kwargs)

    def train_on_batch(self, x, *args, **kwargs):
        self.check_inputs(x)
        return super().train_on_batch(x, *args, **kwargs)

    def test_on_batch(self, x, *args, **kwargs):
        self.check_inputs(x)
        return super().test_on_batch(x, *args, **kwargs)

    def predict_on_batch(self, x):
        self.check_inputs(x)
        return super().predict_on_batch(x)

    def _detach_weight_buffers(self):
        # With `use_ema=True`, the end of `fit` assigns the moving averages
        # to the weights, so a weight and its average can share one buffer.
        # JAX's predict/train functions donate (free) the weight buffers, which
        # would then free the optimizer's averages too. Copies keep them apart.
        for v in self.trainable_variables:
            v.assign(ops.copy(v.value))

    # -- autoregressive rollout ----------------------------------------------
    def rollout(self, x0, steps, batch_size=None):
        """Autoregressive rollout from an initial window.

        The model predicts one step, the window drops its oldest frame and
        appends the prediction (`keras_wavelit.inputs.shift_window`),
        `steps` times. Each step runs the compiled predict function on a
        fixed-size window, so memory does not grow with `steps` beyond the
        output array.

        Args:
            x0: initial window `(B, T_in, H, W, C)`, or a dict
                `{"fields": x0, "constants": c}` (constants stay fixed).
            steps: int >= 1, number of steps to predict.
            batch_size: optional int, rollout in chunks of this many samples.

        Returns:
            NumPy array `(B, steps, H, W, C)`.
        """
        fields, constants = split_inputs(x0)
        fields = np.asarray(ops.convert_to_numpy(fields), dtype="float32")
        if constants is not None:
            constants = np.asarray(ops.convert_to_numpy(constants), dtype="float32")
        if int(steps) < 1:
            raise ValueError(f"`steps` must be >= 1, got {steps}.")
        self._check_fields_shape(fields.shape, None if constants is None else constants.shape)
        n = fields.shape[0]
        batch_size = batch_size or n
        out = np.empty((n, int(steps)) + fields.shape[2:], dtype="float32")
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            window = fields[sl]
            const = None if constants is None else constants[sl]
            for s in range(int(steps)):
                inp = window if const is None else {"fields": window, "constants": const}
                pred = super().predict_on_batch(inp)
                pred = np.asarray(ops.convert_to_numpy(pred), dtype="float32")
                out[sl, s] = pred[:, 0]
                window = shift_window(window, pred)
        return out

    # -- saving -------------------------------------------------------------
    def load_own_variables(self, store):
        h5 = getattr(store, "h5_file", None)
        if (
            h5 is not None
            and "layers/wavelet_tokenizer" in h5
            and "backbone" not in h5
            and not getattr(store, "_wavelit_legacy_paths", False)
        ):
            # A file of release 0.1: read its weights under their old paths.
            get = store.get
            store.get = lambda path: get(_legacy_path(path))
            store._wavelit_legacy_paths = True
        super().load_own_variables(store)

    def get_config(self):
        config = super().get_config()
        backbone = self.backbone.get_config()
        config.update(
            {
                "size": self.size,
                "dim": self.dim,
                "depth": self.depth,
                "num_heads": self.num_heads,
                "pyramid_levels": self.pyramid_levels,
                "wavelet_levels": self.wavelet_levels,
                "wavelet": self.wavelet,
                "boundary": self.boundary,
                "tokenizer": self.tokenizer,
                "predict_residual": self.predict_residual,
                "auto_compile": self.auto_compile,
            }
        )
        for key in (
            "mlp_ratio",
            "drop_path",
            "attention",
            "attention_state",
            "ridge_lambda",
            "min_ridge_lambda",
            "rope",
            "kernel_gate",
            "lepe",
            "cpe",
            "mila",
            "value_projection",
            "solver",
            "pyramid_upsample",
            "pyramid_combine",
        ):
            config[key] = backbone[key]
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Release 0.1: old argument names, recipe settings in the config, and
        # (before `fpn_combine` existed) the "output" pyramid.
        if "fpn_combine" not in config and "pyramid_combine" not in config:
            config["pyramid_combine"] = "output"
        for old, new in _RENAMED_CONFIG_KEYS.items():
            if old in config:
                config.setdefault(new, config.pop(old))
        # Before `attention_state`: `ridge=False` meant MLLA's attention, no floor on lambda.
        config = legacy_attention_config(config)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return cls(**config)
