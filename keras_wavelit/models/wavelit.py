"""The bespoke WaveLiT model (paper sections 3 and 4.1, Appendix E)."""

import keras
import numpy as np
from keras import ops

from keras_wavelit.layers.ridge_mila_block import RidgeMILABlock
from keras_wavelit.layers.shared_fpn import SharedFPN
from keras_wavelit.layers.wavelet_tokenizer import WaveletTokenizer
from keras_wavelit.models.recipe import paper_compile_kwargs

#: Architecture presets. Parameter counts are for C=4 fields, T_in=4 input
#: steps and no constant fields (see docs/models.md for the exact counts).
PRESETS = {
    "1.2M": {"dim": 96, "depth": 9, "num_heads": 4, "fpn_levels": 1, "levels": 1},
    "9.5M": {"dim": 256, "depth": 10, "num_heads": 8, "fpn_levels": 1, "levels": 1},
}

_ARCH_DEFAULTS = {"dim": 96, "depth": 9, "num_heads": 4, "fpn_levels": 1, "levels": 1}


def _split_inputs(inputs):
    if isinstance(inputs, dict):
        unknown = set(inputs) - {"fields", "constants"}
        if unknown or "fields" not in inputs:
            raise ValueError(
                "WaveLiT dict inputs must have the key 'fields' and optionally "
                f"'constants'; got keys {sorted(inputs)}."
            )
        return inputs["fields"], inputs.get("constants")
    if isinstance(inputs, (list, tuple)):
        if len(inputs) != 2:
            raise ValueError(
                "WaveLiT takes `fields` or `(fields, constants)`; got a "
                f"sequence of {len(inputs)} inputs."
            )
        return inputs[0], inputs[1]
    return inputs, None


def _shape_of(x):
    return tuple(x.shape) if hasattr(x, "shape") else tuple(x)


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveLiT(keras.Model):
    """WaveLiT: wavelet tokens, ridge MILA mixers and a shared pyramid.

    ``x (B, T_in, H, W, C)`` (plus optional constant fields
    ``(B, H, W, C_const)``) -> input steps folded into channels ->
    :class:`WaveletTokenizer` encode -> ``depth`` x
    ``SharedFPN(RidgeMILABlock)`` -> LayerNorm -> decode ->
    ``(B, 1, H, W, C)``, the next step of the same fields. The model builds
    lazily from its first batch and compiles itself with the paper's recipe
    (Appendix E; see :func:`keras_wavelit.models.paper_compile_kwargs`)
    unless ``auto_compile=False`` or the user calls ``compile``.

    Input contract: ``fields`` alone, a dict ``{"fields": x, "constants": c}``
    or a tuple ``(x, c)``. Constant fields (the Well's ``constant_fields``,
    e.g. density and speed of sound) are concatenated to the folded channels.
    ``H`` and ``W`` must be multiples of ``2 ** (levels + fpn_levels)``.

    Args:
        size: ``"1.2M"``, ``"9.5M"`` or None. A preset of ``dim``,
            ``depth``, ``num_heads``, ``fpn_levels`` and ``levels``; explicit
            arguments override it.
        dim: int, token dimension.
        depth: int, number of mixer blocks.
        num_heads: int, attention heads (``dim / num_heads`` divisible by 4
            with RoPE).
        fpn_levels: int, coarser levels of every :class:`SharedFPN`
            (0 = no pyramid; paper Table 13).
        levels: int, wavelet levels of the tokenizer.
        wavelet: str, PyWavelets name (paper Table 2). Defaults to
            ``"bior2.2"``.
        mode: boundary mode of the DWT and the depthwise convolutions,
            ``"reflect"`` (default) or ``"periodic"``.
        tokenizer: ``"wavelet"`` (default) or ``"conv"`` (Table 13 baseline).
        mlp_ratio: float. Defaults to 4.
        drop_path: float, maximal stochastic-depth rate (linearly increasing
            over depth).
        attention: ``"linear"`` (default) or ``"softmax"`` (Appendix B).
        ridge, ridge_lambda, rope, kernel_gate, lepe, cpe, mila,
            value_projection, solver: mixer switches, see
            :class:`RidgeMILABlock` (Table 14).
        fpn_upsample: ``"bilinear"`` (default) or ``"nearest"``.
        fpn_combine: ``"residual"`` (default) or ``"output"``: how the
            pyramid levels are combined, see :class:`SharedFPN`. Models
            saved before this argument existed load as ``"output"``.
        predict_residual: bool, predict ``x_last + f(x)`` instead of
            ``f(x)``. Defaults to False.
        auto_compile: bool, compile with the paper's recipe at construction.
        learning_rate, warmup_steps, weight_decay: recipe settings used by the
            automatic compile.
        **kwargs: ``keras.Model`` keyword arguments (``name``, ``dtype``).

    Call arguments:
        inputs: fields ``(B, T_in, H, W, C)``, or a dict / tuple with
            constant fields.
        training: bool.

    Returns:
        Tensor ``(B, 1, H, W, C)``.

    Example:

    >>> model = WaveLiT(size="1.2M")
    >>> x = np.random.rand(8, 4, 64, 64, 4).astype("float32")
    >>> y = np.random.rand(8, 1, 64, 64, 4).astype("float32")
    >>> model.fit(x, y, batch_size=4, epochs=1)
    >>> traj = model.rollout(x[:2], steps=10)   # (2, 10, 64, 64, 4)
    """

    def __init__(
        self,
        size=None,
        dim=None,
        depth=None,
        num_heads=None,
        fpn_levels=None,
        levels=None,
        wavelet="bior2.2",
        mode="reflect",
        tokenizer="wavelet",
        mlp_ratio=4.0,
        drop_path=0.0,
        attention="linear",
        ridge=True,
        ridge_lambda=1.0,
        rope=True,
        kernel_gate=True,
        lepe=True,
        cpe=True,
        mila=True,
        value_projection=False,
        solver="auto",
        fpn_upsample="bilinear",
        fpn_combine="residual",
        predict_residual=False,
        auto_compile=True,
        learning_rate=1e-3,
        warmup_steps=5000,
        weight_decay=1e-4,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if size is not None and size not in PRESETS:
            raise ValueError(
                f"Unknown size {size!r}; presets are {sorted(PRESETS)} "
                "(or give dim/depth/num_heads explicitly)."
            )
        arch = dict(_ARCH_DEFAULTS)
        if size is not None:
            arch.update(PRESETS[size])
        given = {
            "dim": dim,
            "depth": depth,
            "num_heads": num_heads,
            "fpn_levels": fpn_levels,
            "levels": levels,
        }
        arch.update({k: v for k, v in given.items() if v is not None})
        self.size = size
        self.dim = arch["dim"]
        self.depth = arch["depth"]
        self.num_heads = arch["num_heads"]
        self.fpn_levels = arch["fpn_levels"]
        self.levels = arch["levels"]
        self.wavelet = wavelet
        self.mode = mode
        self.tokenizer_kind = tokenizer
        self.mlp_ratio = mlp_ratio
        self.drop_path = drop_path
        self.attention = attention
        self.ridge = ridge
        self.ridge_lambda = ridge_lambda
        self.rope = rope
        self.kernel_gate = kernel_gate
        self.lepe = lepe
        self.cpe = cpe
        self.mila = mila
        self.value_projection = value_projection
        self.solver = solver
        self.fpn_upsample = fpn_upsample
        self.fpn_combine = fpn_combine
        self.predict_residual = predict_residual
        self.auto_compile = auto_compile
        self.learning_rate = learning_rate
        self.warmup_steps = warmup_steps
        self.weight_decay = weight_decay

        policy = self.dtype_policy
        self.tokenizer = WaveletTokenizer(
            self.dim,
            wavelet=wavelet,
            levels=self.levels,
            mode=mode,
            kind=tokenizer,
            dtype=policy,
            name="tokenizer",
        )
        conv_mode = "periodic" if mode == "periodic" else "reflect"
        self.mixers = []
        for i in range(self.depth):
            rate = drop_path * i / max(self.depth - 1, 1)
            block = RidgeMILABlock(
                num_heads=self.num_heads,
                mlp_ratio=mlp_ratio,
                drop_path=rate,
                attention=attention,
                ridge=ridge,
                ridge_lambda=ridge_lambda,
                rope=rope,
                kernel_gate=kernel_gate,
                lepe=lepe,
                cpe=cpe,
                mila=mila,
                value_projection=value_projection,
                mode=conv_mode,
                solver=solver,
                dtype=policy,
                name=f"block_{i}",
            )
            self.mixers.append(
                SharedFPN(
                    block,
                    levels=self.fpn_levels,
                    upsample=fpn_upsample,
                    combine=fpn_combine,
                    dtype=policy,
                    name=f"fpn_{i}",
                )
            )
        self.final_norm = keras.layers.LayerNormalization(
            epsilon=1e-6, dtype=policy, name="final_norm"
        )
        self.n_steps_input = None
        self.n_fields = None
        self.n_constants = 0
        if auto_compile:
            self.compile(
                **paper_compile_kwargs(
                    learning_rate=learning_rate,
                    warmup_steps=warmup_steps,
                    weight_decay=weight_decay,
                    wavelet=wavelet,
                    mode=mode,
                )
            )

    # -- shapes -----------------------------------------------------------
    @property
    def spatial_multiple(self):
        """Height and width must be multiples of this number."""
        return 2 ** (self.levels + self.fpn_levels)

    def _check_fields_shape(self, shape, constants_shape=None):
        if len(shape) != 5:
            hint = " (3D data is not supported: 2D only)" if len(shape) == 6 else ""
            raise ValueError(
                "WaveLiT expects fields of shape (B, T_in, H, W, C); got shape "
                f"{tuple(shape)}{hint}."
            )
        _, t, h, w, c = shape
        m = self.spatial_multiple
        for n, name in ((h, "height"), (w, "width")):
            if n is not None and n % m:
                raise ValueError(
                    f"WaveLiT(levels={self.levels}, fpn_levels={self.fpn_levels}) "
                    f"needs a {name} that is a multiple of {m}; got fields of "
                    f"shape {tuple(shape)}."
                )
        if self.n_fields is not None:
            if c != self.n_fields or t != self.n_steps_input:
                raise ValueError(
                    f"This WaveLiT was built for T_in={self.n_steps_input} steps "
                    f"of C={self.n_fields} fields; got fields of shape "
                    f"{tuple(shape)}."
                )
        if constants_shape is not None:
            if len(constants_shape) != 4 or tuple(constants_shape[1:3]) != (h, w):
                raise ValueError(
                    "Constant fields must have shape (B, H, W, C_const) on the "
                    f"same grid as the fields {tuple(shape)}; got "
                    f"{tuple(constants_shape)}."
                )
        n_const = 0 if constants_shape is None else constants_shape[-1]
        if self.n_fields is not None and n_const != self.n_constants:
            raise ValueError(
                f"This WaveLiT was built with {self.n_constants} constant field(s); got {n_const}."
            )

    def build(self, input_shape):
        if isinstance(input_shape, dict):
            fields_shape = input_shape.get("fields", input_shape.get("fields_shape"))
            const_shape = input_shape.get("constants", input_shape.get("constants_shape"))
        elif (
            isinstance(input_shape, (list, tuple))
            and len(input_shape) == 2
            and isinstance(input_shape[0], (list, tuple))
        ):
            fields_shape, const_shape = input_shape
        else:
            fields_shape, const_shape = input_shape, None
        fields_shape = tuple(fields_shape)
        const_shape = None if const_shape is None else tuple(const_shape)
        self._check_fields_shape(fields_shape, const_shape)
        b, t, h, w, c = fields_shape
        self.n_steps_input = t
        self.n_fields = c
        self.n_constants = 0 if const_shape is None else const_shape[-1]
        c_in = t * c + self.n_constants
        self.tokenizer.output_channels = c
        self.tokenizer.build((b, h, w, c_in))
        f = 2**self.levels
        token_shape = (b, h // f, w // f, self.dim)
        for mixer in self.mixers:
            mixer.build(token_shape)
        self.final_norm.build(token_shape)
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
        fields, constants = _split_inputs(inputs)
        self._check_fields_shape(
            _shape_of(fields), None if constants is None else _shape_of(constants)
        )
        fields = ops.cast(fields, self.compute_dtype)
        x = self.tokenizer.encode(self._fold(fields, constants))
        for mixer in self.mixers:
            x = mixer(x, training=training)
        x = self.final_norm(x)
        y = self.tokenizer.decode(x)[:, None]
        if self.predict_residual:
            y = y + fields[:, -1:]
        return y

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict):
            input_shape = input_shape["fields"]
        elif isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            input_shape = input_shape[0]
        b, _, h, w, c = input_shape
        return (b, 1, h, w, c)

    def fit(self, *args, **kwargs):
        """``keras.Model.fit``; afterwards the weights are the EMA weights
        when the optimizer uses EMA (the paper's recipe)."""
        history = super().fit(*args, **kwargs)
        self._detach_weight_buffers()
        return history

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
        appends the prediction, ``steps`` times. Each step runs the compiled
        (jit on JAX and TensorFlow) predict function on a fixed-size window,
        so memory does not grow with ``steps`` beyond the output array.

        Args:
            x0: initial window ``(B, T_in, H, W, C)``, or a dict
                ``{"fields": x0, "constants": c}`` (constants stay fixed).
            steps: int >= 1, number of steps to predict.
            batch_size: optional int, rollout in chunks of this many samples.

        Returns:
            NumPy array ``(B, steps, H, W, C)``.
        """
        fields, constants = _split_inputs(x0)
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
                pred = self.predict_on_batch(inp)
                pred = np.asarray(ops.convert_to_numpy(pred), dtype="float32")
                out[sl, s] = pred[:, 0]
                window = np.concatenate([window[:, 1:], pred], axis=1)
        return out

    # -- configuration ----------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "size": self.size,
                "dim": self.dim,
                "depth": self.depth,
                "num_heads": self.num_heads,
                "fpn_levels": self.fpn_levels,
                "levels": self.levels,
                "wavelet": self.wavelet,
                "mode": self.mode,
                "tokenizer": self.tokenizer_kind,
                "mlp_ratio": self.mlp_ratio,
                "drop_path": self.drop_path,
                "attention": self.attention,
                "ridge": self.ridge,
                "ridge_lambda": self.ridge_lambda,
                "rope": self.rope,
                "kernel_gate": self.kernel_gate,
                "lepe": self.lepe,
                "cpe": self.cpe,
                "mila": self.mila,
                "value_projection": self.value_projection,
                "solver": self.solver,
                "fpn_upsample": self.fpn_upsample,
                "fpn_combine": self.fpn_combine,
                "predict_residual": self.predict_residual,
                "auto_compile": self.auto_compile,
                "learning_rate": self.learning_rate,
                "warmup_steps": self.warmup_steps,
                "weight_decay": self.weight_decay,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Saved before `fpn_combine` existed: keep the pyramid they were trained with.
        config.setdefault("fpn_combine", "output")
        return cls(**config)
