"""The WaveLiT mixer block: ridge linear attention in a MILA block.

Paper section 3.2 and Appendix I.2 (Table 14); `docs/design.md` §2.3.
"""

import keras
from keras import ops

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.layers.boundary_depthwise_conv import BoundaryDepthwiseConv2D
from keras_wavelit.layers.drop_path import DropPath
from keras_wavelit.layers.ridge_linear_attention import RidgeLinearAttention
from keras_wavelit.layers.ridge_linear_attention import legacy_attention_config
from keras_wavelit.layers.ridge_linear_attention import resolve_attention_state
from keras_wavelit.ops.boundary import BOUNDARY_MODES
from keras_wavelit.ops.boundary import check_boundary
from keras_wavelit.ops.fusion_barrier import gradient_fusion_barrier


def _exact_gelu(x):
    """`x * Phi(x)` (exact, not the tanh approximation) through `erf`.

    `keras.ops.gelu(x, approximate=False)` goes through `erfc` on the XLA
    backends, a two-branch expansion; `erf` is one polynomial. Same function
    (they agree to 5e-7 in float32); the TensorFlow training step of
    `WaveLiT(size="1.2M")` at 64x64 went from 2.84 s to 2.61 s on one CPU
    thread (`benchmarks/model_throughput.py`).
    """
    return 0.5 * x * (1.0 + ops.erf(x * 0.7071067811865476))


@keras.saving.register_keras_serializable(package="keras_wavelit")
class RidgeMILABlock(keras.layers.Layer):
    """Ridge-corrected linear attention mixer with RoPE, CPE, LePE and MILA.

    The mixer block of paper section 3.2 (`docs/design.md` §2.3). On tokens
    `x (B, h, w, dim)`:

    1. CPE (`cpe`): `x = x + DWConv3x3(x)`; `shortcut = x`.
    2. `u = LayerNorm(x)`.
    3. MILA gate (`mila`): `g = SiLU(Dense(u))`;
       `u = SiLU(DWConv3x3(Dense(u)))`.
    4. `a = RidgeLinearAttention(u)`;
       `x = shortcut + DropPath(Dense(a * g))` (`Dense(a)` without MILA).
    5. CPE again (`cpe`): `x = x + DWConv3x3(x)`.
    6. `x = x + DropPath(MLP(LayerNorm(x)))`, MLP = Dense(r dim), GELU,
       Dense(dim).

    Each switch is a constructor argument, so every row of the paper's
    Table 14 is one configuration (`ridge=False` is the vanilla state of
    Eq. 5, `attention_state="vanilla"`):

    | row | ridge | kernel_gate | lepe | cpe | mila |
    |-----|-------|-------------|------|-----|------|
    | A1  | F     | F           | F    | F   | F    |
    | A2  | T     | F           | F    | F   | F    |
    | A3  | T     | T           | F    | F   | F    |
    | A4  | T     | T           | T    | F   | F    |
    | A5  | T     | T           | T    | T   | F    |
    | B1  | F     | F           | T    | F   | T    |
    | B2  | T     | F           | T    | F   | T    |
    | B3  | T     | F           | T    | T   | T    |
    | C1  | T     | T           | T    | T   | T    |

    Args:
        num_heads: int. Defaults to 4.
        mlp_ratio: float > 0, hidden width of the MLP relative to `dim`.
        drop_path: float in `[0, 1)`, stochastic-depth rate of both residual
            branches.
        attention: `"linear"` (default) or `"softmax"`.
        attention_state: `"ridge"` (default), `"vanilla"`, `"mlla"`,
            `"least_squares"` or `"fixed_ridge"`; see
            `RidgeLinearAttention`.
        ridge: optional bool shorthand for `attention_state` (`False`: the
            vanilla state).
        ridge_lambda: float, see `RidgeLinearAttention`.
        min_ridge_lambda: float, lower bound of `lambda`, see
            `RidgeLinearAttention`.
        rope: bool, 2D RoPE on queries and keys.
        kernel_gate: bool, the attention's output gate.
        lepe: bool, the attention's LePE convolution.
        cpe: bool, conditional positional encoding. Defaults to True.
        mila: bool, MILA gating and input convolution. Defaults to True.
        value_projection: bool, see `RidgeLinearAttention`.
        boundary: boundary mode of every depthwise convolution: `"reflect"`
            (default), `"periodic"` (wraps, for periodic data), `"symmetric"`
            or `"zeros"`. (Deprecated name: `mode`.)
        solver: see `RidgeLinearAttention`.
        layer_norm_epsilon: float. Defaults to 1e-6.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tokens `(B, h, w, dim)`; any grid.
        training: bool, enables DropPath.

    Returns:
        Tensor `(B, h, w, dim)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    block = kw.layers.RidgeMILABlock(num_heads=2)
    y = block(np.random.rand(2, 8, 8, 16).astype("float32"))  # (2, 8, 8, 16)
    ```
    """

    def __init__(
        self,
        num_heads=4,
        mlp_ratio=4.0,
        drop_path=0.0,
        attention="linear",
        attention_state="ridge",
        ridge=None,
        ridge_lambda=1.0,
        min_ridge_lambda=1e-3,
        rope=True,
        kernel_gate=True,
        lepe=True,
        cpe=True,
        mila=True,
        value_projection=False,
        boundary="reflect",
        solver="auto",
        layer_norm_epsilon=1e-6,
        **kwargs,
    ):
        boundary = renamed_argument(
            "RidgeMILABlock",
            kwargs,
            "mode",
            "boundary",
            None if boundary == "reflect" else boundary,
            "reflect",
        )
        super().__init__(**kwargs)
        if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(
                f"RidgeMILABlock: `num_heads` must be an integer >= 1, got {num_heads!r}."
            )
        if not mlp_ratio > 0:
            raise ValueError(f"RidgeMILABlock: `mlp_ratio` must be > 0, got {mlp_ratio!r}.")
        if not 0.0 <= drop_path < 1.0:
            raise ValueError(f"RidgeMILABlock: `drop_path` must be in [0, 1), got {drop_path!r}.")
        check_boundary(boundary, BOUNDARY_MODES, "RidgeMILABlock")
        attention_state = resolve_attention_state(attention_state, ridge, "RidgeMILABlock")
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.drop_path = drop_path
        self.attention = attention
        self.attention_state = attention_state
        self.ridge = attention_state in ("ridge", "least_squares", "fixed_ridge")
        self.ridge_lambda = ridge_lambda
        self.min_ridge_lambda = min_ridge_lambda
        self.rope = rope
        self.kernel_gate = kernel_gate
        self.lepe = lepe
        self.cpe = cpe
        self.mila = mila
        self.value_projection = value_projection
        self.boundary = boundary
        self.solver = solver
        self.layer_norm_epsilon = layer_norm_epsilon
        policy = self.dtype_policy

        def conv(name):
            return BoundaryDepthwiseConv2D(3, boundary=boundary, dtype=policy, name=name)

        self.cpe1 = conv("cpe_1") if cpe else None
        self.cpe2 = conv("cpe_2") if cpe else None
        self.norm1 = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="norm_1"
        )
        self.norm2 = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="norm_2"
        )
        self.attn = RidgeLinearAttention(
            num_heads=num_heads,
            attention=attention,
            attention_state=attention_state,
            ridge_lambda=ridge_lambda,
            min_ridge_lambda=min_ridge_lambda,
            rope=rope,
            kernel_gate=kernel_gate,
            lepe=lepe,
            value_projection=value_projection,
            boundary=boundary,
            solver=solver,
            dtype=policy,
            name="attention",
        )
        self.input_conv = conv("mila_conv") if mila else None
        self.drop_path_1 = DropPath(drop_path, dtype=policy, name="drop_path_1")
        self.drop_path_2 = DropPath(drop_path, dtype=policy, name="drop_path_2")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        dim = input_shape[-1]
        self.dim = dim
        policy = self.dtype_policy

        def dense(units, name, activation=None):
            layer = keras.layers.Dense(units, activation=activation, dtype=policy, name=name)
            layer.build(input_shape[:-1] + (dim,))
            return layer

        if self.cpe:
            self.cpe1.build(input_shape)
            self.cpe2.build(input_shape)
        self.norm1.build(input_shape)
        self.norm2.build(input_shape)
        if self.mila:
            self.gate_dense = dense(dim, "mila_gate")
            self.input_dense = dense(dim, "mila_in")
            self.input_conv.build(input_shape)
        else:
            self.gate_dense = self.input_dense = None
        self.attn.build(input_shape)
        self.out_dense = dense(dim, "attention_out")
        hidden = int(round(self.mlp_ratio * dim))
        self.mlp_in = dense(hidden, "mlp_in")
        self.mlp_out = keras.layers.Dense(dim, dtype=policy, name="mlp_out")
        self.mlp_out.build(input_shape[:-1] + (hidden,))

    def call(self, inputs, training=None):
        h, w = inputs.shape[1], inputs.shape[2]

        # The Dense layers and LayerNorms see the tokens as one (B*h*w, dim)
        # matrix and only the depthwise convolutions see the grid: the
        # gradients of their biases and scales are then reductions over one
        # axis, which XLA compiles to much faster CPU code than reductions
        # over (B, h, w) (benchmarks/profile_step.py). Reshapes are free.
        def grid(t):
            return ops.reshape(t, (-1, h, w, t.shape[-1]))

        def flat(t):
            return ops.reshape(t, (-1, t.shape[-1]))

        # Each Dense output's gradient is materialized once before the
        # weight-gradient reductions read it (a no-op on PyTorch).
        def dense(layer, t):
            return gradient_fusion_barrier(layer(t))

        x = inputs
        if self.cpe:
            x = x + self.cpe1(x)
        shortcut = flat(x)
        u = self.norm1(shortcut)
        if self.mila:
            g = ops.silu(dense(self.gate_dense, u))
            u = ops.silu(self.input_conv(grid(dense(self.input_dense, u))))
            a = flat(self.attn(u)) * g
        else:
            a = flat(self.attn(grid(u)))
        branch = self.drop_path_1(grid(dense(self.out_dense, a)), training=training)
        x = grid(shortcut) + branch
        if self.cpe:
            x = x + self.cpe2(x)
        hidden = dense(self.mlp_in, self.norm2(flat(x)))
        m = dense(self.mlp_out, _exact_gelu(hidden))
        return x + self.drop_path_2(grid(m), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "mlp_ratio": self.mlp_ratio,
                "drop_path": self.drop_path,
                "attention": self.attention,
                "attention_state": self.attention_state,
                "ridge_lambda": self.ridge_lambda,
                "min_ridge_lambda": self.min_ridge_lambda,
                "rope": self.rope,
                "kernel_gate": self.kernel_gate,
                "lepe": self.lepe,
                "cpe": self.cpe,
                "mila": self.mila,
                "value_projection": self.value_projection,
                "boundary": self.boundary,
                "solver": self.solver,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        # Saved before `attention_state`: `ridge=False` was MLLA's attention.
        return cls(**legacy_attention_config(config))
