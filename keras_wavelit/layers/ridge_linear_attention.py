"""Ridge-corrected linear attention over a 2D token grid.

Paper section 3.2 and Appendix A; `docs/design.md` §2.2.
"""

import keras
import numpy as np
from keras import ops

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.layers.boundary_depthwise_conv import BoundaryDepthwiseConv2D
from keras_wavelit.layers.rotary_embedding_2d import RotaryEmbedding2D
from keras_wavelit.ops.boundary import BOUNDARY_MODES
from keras_wavelit.ops.boundary import check_boundary
from keras_wavelit.ops.fusion_barrier import fusion_barrier
from keras_wavelit.ops.fusion_barrier import gradient_fusion_barrier
from keras_wavelit.ops.spd_solve import SOLVERS
from keras_wavelit.ops.spd_solve import spd_solve

ATTENTION_KINDS = ("linear", "softmax")

#: The linear-attention states of paper Appendix A (Table of regimes).
ATTENTION_STATES = ("ridge", "vanilla", "mlla", "least_squares", "fixed_ridge")

#: The states that solve a regularised least-squares problem.
SOLVED_STATES = ("ridge", "least_squares", "fixed_ridge")


def _softplus_inverse(y):
    # log(exp(y) - 1), stable for large y
    return float(y + np.log(-np.expm1(-y)))


def resolve_attention_state(attention_state="ridge", ridge=None, owner="RidgeLinearAttention"):
    """The state that `attention_state` and the boolean shorthand `ridge` mean.

    `ridge=True` means `"ridge"` and `ridge=False` the paper's vanilla linear
    attention (`"vanilla"`, Eq. 5), unless `attention_state` names another
    state of the same kind (`"least_squares"`/`"fixed_ridge"` with
    `ridge=True`, `"mlla"` with `ridge=False`).

    Raises:
        ValueError: for an unknown state or a contradiction.
    """
    if attention_state not in ATTENTION_STATES:
        raise ValueError(
            f"{owner}: `attention_state` must be one of {ATTENTION_STATES}, "
            f"got {attention_state!r}."
        )
    if ridge is None:
        return attention_state
    if bool(ridge) == (attention_state in SOLVED_STATES):
        return attention_state
    if attention_state == "ridge":  # the default: `ridge=False` alone means vanilla
        return "vanilla"
    raise ValueError(
        f"{owner}: `ridge={ridge!r}` contradicts `attention_state={attention_state!r}`; "
        "pass only `attention_state`."
    )


@keras.saving.register_keras_serializable(package="keras_wavelit")
class RidgeLinearAttention(keras.layers.Layer):
    """Multi-head linear attention with a ridge-regression state.

    Per head, with `phi = elu + 1`, `q = phi(x W_q)`, `k = phi(x W_k)` and
    `v = x` (no value projection unless `value_projection=True`), `~` marking
    2D RoPE (applied to the positive `q`, `k`) and `N` tokens, the state `S`
    is one of the regimes of paper Appendix A (`attention_state`):

    - `"ridge"` (WaveLiT, default): the minimiser of
      `sum_n ||S^T k~_n - v_n||^2 / N + lambda ||S||^2`,
      `S = (K~^T K~ / N + lambda I)^-1 (K~^T V / N)`, `o_n = q~_n^T S`, with
      `lambda = min_ridge_lambda + softplus(w)` learned per head (initial
      value `ridge_lambda`). The solve runs in float32 even under mixed
      precision (`keras_wavelit.ops.spd_solve`). Cost `O(N d^2 + d^3)` per
      head: linear in the number of tokens.
    - `"fixed_ridge"`: the same with a constant `lambda = ridge_lambda`.
    - `"least_squares"`: the `lambda -> 0` limit, regularised only by the
      floor `lambda = min_ridge_lambda` (> 0).
    - `"vanilla"`: the paper's vanilla linear attention (Eq. 5), the
      large-`lambda` limit of the ridge state with `1 / lambda` absorbed in
      the output projection: `S = K~^T V / N`, `o_n = q~_n^T S`.
    - `"mlla"`: vanilla with MLLA's normaliser,
      `o_n = z_n q~_n^T S`, `z_n = 1 / (q_n . mean_m k_m + 1e-6)` on the
      un-rotated `q`, `k`.

    `min_ridge_lambda` bounds `lambda` from below, so the system stays
    positive definite also where the Gram matrix is singular: a coarse
    pyramid level with fewer tokens than the head dimension (`N < d`).
    `attention="softmax"` is scaled dot-product attention of `x W_q`,
    `x W_k` (RoPE'd) over `v` instead (quadratic in `N`; the baseline of
    paper Appendix B). Then, optionally, the kernel gate
    `o <- o * sigmoid(x W_g)` and LePE `o <- o + DWConv3x3(v)`.

    Args:
        num_heads: int, number of heads; the input dimension must divide by
            it and the head dimension by 4 when `rope=True`.
        attention: `"linear"` (default) or `"softmax"`.
        attention_state: one of `"ridge"` (default), `"vanilla"`, `"mlla"`,
            `"least_squares"`, `"fixed_ridge"`, see above.
        ridge: optional bool shorthand: `True` is `"ridge"`, `False` the
            vanilla state (Eq. 5). Layers saved with `ridge=False` before
            `attention_state` existed load as `"mlla"`, what they were
            trained with.
        ridge_lambda: float > 0, initial (`"ridge"`) or fixed
            (`"fixed_ridge"`) `lambda`. Defaults to 1.0.
        min_ridge_lambda: float >= 0, lower bound of `lambda` (and the
            `lambda` of `"least_squares"`, where it must be > 0). Defaults
            to 1e-3.
        rope: bool, apply 2D RoPE to queries and keys. Defaults to True.
        kernel_gate: bool, output modulation by `sigmoid(x W_g)`.
        lepe: bool, add `DWConv3x3(v)` to the output. Defaults to True.
        value_projection: bool, use `v = x W_v` instead of `v = x`.
        boundary: boundary mode of the LePE convolution, one of
            `"reflect"` (default), `"periodic"`, `"symmetric"`, `"zeros"`.
            (Deprecated name: `mode`.)
        solver: `"auto"` (default: Gauss-Jordan elimination in `keras.ops`
            where the CPU fast path is on, `keras.ops.linalg.solve`
            elsewhere), `"gauss_jordan"` or `"linalg"`; see
            `keras_wavelit.ops.spd_solve`.
        use_bias: bool, biases of the projections. Defaults to True.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tokens `(B, h, w, dim)`; the grid `(h, w)` is read from the
            shape, so any resolution works.

    Returns:
        Tensor `(B, h, w, dim)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    attn = kw.layers.RidgeLinearAttention(num_heads=2)
    y = attn(np.random.rand(2, 8, 8, 16).astype("float32"))  # (2, 8, 8, 16)
    vanilla = kw.layers.RidgeLinearAttention(num_heads=2, attention_state="vanilla")
    ```
    """

    def __init__(
        self,
        num_heads=4,
        attention="linear",
        attention_state="ridge",
        ridge=None,
        ridge_lambda=1.0,
        min_ridge_lambda=1e-3,
        rope=True,
        kernel_gate=True,
        lepe=True,
        value_projection=False,
        boundary="reflect",
        solver="auto",
        use_bias=True,
        **kwargs,
    ):
        boundary = renamed_argument(
            "RidgeLinearAttention",
            kwargs,
            "mode",
            "boundary",
            None if boundary == "reflect" else boundary,
            "reflect",
        )
        super().__init__(**kwargs)
        if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(
                f"RidgeLinearAttention: `num_heads` must be an integer >= 1, got {num_heads!r}."
            )
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"`attention` must be one of {ATTENTION_KINDS}, got {attention!r}.")
        attention_state = resolve_attention_state(attention_state, ridge)
        if not ridge_lambda > 0:
            raise ValueError(f"`ridge_lambda` must be > 0, got {ridge_lambda}.")
        if not min_ridge_lambda >= 0:
            raise ValueError(f"`min_ridge_lambda` must be >= 0, got {min_ridge_lambda}.")
        if attention_state == "least_squares" and not min_ridge_lambda > 0:
            raise ValueError(
                "`attention_state='least_squares'` needs `min_ridge_lambda` > 0 (its "
                f"lambda; 0 would solve a singular system when N < d), got {min_ridge_lambda}."
            )
        if attention_state == "ridge" and not ridge_lambda > min_ridge_lambda:
            raise ValueError(
                f"`ridge_lambda` ({ridge_lambda}) must exceed `min_ridge_lambda` "
                f"({min_ridge_lambda}): it is the initial lambda."
            )
        if solver not in SOLVERS:
            raise ValueError(f"Unknown solver {solver!r}; expected one of {SOLVERS}.")
        check_boundary(boundary, BOUNDARY_MODES, "RidgeLinearAttention")
        self.num_heads = num_heads
        self.attention = attention
        self.attention_state = attention_state
        self.ridge = attention_state in SOLVED_STATES
        self.ridge_lambda = ridge_lambda
        self.min_ridge_lambda = min_ridge_lambda
        self.rope = rope
        self.kernel_gate = kernel_gate
        self.lepe = lepe
        self.value_projection = value_projection
        self.boundary = boundary
        self.solver = solver
        self.use_bias = use_bias

        self.rotary = RotaryEmbedding2D(dtype=self.dtype_policy, name="rope")
        self.lepe_conv = (
            BoundaryDepthwiseConv2D(3, boundary=boundary, dtype=self.dtype_policy, name="lepe")
            if lepe
            else None
        )

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        dim = input_shape[-1]
        if dim % self.num_heads:
            raise ValueError(
                f"Token dimension {dim} is not divisible by num_heads={self.num_heads}."
            )
        head_dim = dim // self.num_heads
        if self.rope and head_dim % 4:
            raise ValueError(
                f"2D RoPE needs head_dim = dim / num_heads divisible by 4; got "
                f"dim={dim}, num_heads={self.num_heads} (head_dim={head_dim})."
            )
        self.dim = dim
        self.head_dim = head_dim

        def make(name):
            layer = keras.layers.Dense(
                dim, use_bias=self.use_bias, dtype=self.dtype_policy, name=name
            )
            layer.build(input_shape)
            return layer

        self.query_dense = make("query")
        self.key_dense = make("key")
        self.value_dense = make("value") if self.value_projection else None
        self.gate_dense = make("gate") if self.kernel_gate else None
        if self.lepe_conv is not None:
            self.lepe_conv.build(input_shape)
        if self.attention == "linear" and self.attention_state == "ridge":
            init = _softplus_inverse(self.ridge_lambda - self.min_ridge_lambda)
            self.ridge_raw = self.add_weight(
                name="ridge_raw",
                shape=(self.num_heads,),
                initializer=keras.initializers.Constant(init),
                dtype="float32",
                autocast=False,
            )

    def ridge_lambdas(self):
        """The `lambda` of every head, a float32 tensor `(num_heads,)`.

        `min_ridge_lambda + softplus(w)` for `"ridge"`, `ridge_lambda` for
        `"fixed_ridge"` and `min_ridge_lambda` for `"least_squares"`.
        """
        if self.attention_state == "ridge":
            return self.min_ridge_lambda + ops.softplus(self.ridge_raw)
        value = self.ridge_lambda if self.attention_state == "fixed_ridge" else 0.0
        value = max(value, self.min_ridge_lambda)
        return ops.full((self.num_heads,), value, dtype="float32")

    def _heads(self, t, n):
        return ops.reshape(t, (-1, n, self.num_heads, t.shape[-1] // self.num_heads))

    def call(self, inputs):
        h, w, dim = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        n = h * w
        # Dense layers on a (B*n, dim) matrix: their bias gradients are then
        # one-axis reductions, much faster on XLA's CPU backend.
        tokens = ops.reshape(inputs, (-1, dim))
        if self.value_dense is not None:
            v_in = ops.reshape(self.value_dense(tokens), (-1, h, w, dim))
        else:
            v_in = inputs
        v = self._heads(ops.reshape(v_in, (-1, n, dim)), n)
        q = self._heads(gradient_fusion_barrier(self.query_dense(tokens)), n)
        k = self._heads(gradient_fusion_barrier(self.key_dense(tokens)), n)
        if self.attention == "softmax":
            if self.rope:
                q = self.rotary(q, grid=(h, w))
                k = self.rotary(k, grid=(h, w))
            o = ops.dot_product_attention(q, k, v)
        else:
            q = ops.elu(q) + 1.0
            k = ops.elu(k) + 1.0
            qr = self.rotary(q, grid=(h, w)) if self.rope else q
            kr = self.rotary(k, grid=(h, w)) if self.rope else k
            # Materialized (with their gradients) before the head-major
            # transposes of the einsums read them (XLA CPU, see
            # keras_wavelit.ops.fusion_barrier).
            qr, kr = fusion_barrier(qr, kr)
            if self.attention_state in SOLVED_STATES:
                o = self._ridge(qr, kr, v, n)
            else:
                o = self._vanilla(q, k, qr, kr, v, n)
        o = ops.reshape(o, (-1, h, w, dim))
        if self.gate_dense is not None:
            gate = ops.sigmoid(gradient_fusion_barrier(self.gate_dense(tokens)))
            o = o * ops.reshape(gate, (-1, h, w, dim))
        if self.lepe_conv is not None:
            o = o + self.lepe_conv(v_in)
        return o

    def _ridge(self, qr, kr, v, n):
        out_dtype = v.dtype
        kr = ops.cast(kr, "float32")
        v32 = ops.cast(v, "float32")
        inv_n = 1.0 / n
        gram = ops.einsum("bnhd,bnhe->bhde", kr, kr) * inv_n
        rhs = ops.einsum("bnhd,bnhe->bhde", kr, v32) * inv_n
        eye = ops.eye(self.head_dim, dtype="float32")
        lam = ops.reshape(self.ridge_lambdas(), (1, self.num_heads, 1, 1))
        state = spd_solve(gram + lam * eye, rhs, solver=self.solver)
        o = ops.einsum("bnhd,bhde->bnhe", ops.cast(qr, "float32"), state)
        return ops.cast(o, out_dtype)

    def _vanilla(self, q, k, qr, kr, v, n):
        state = ops.einsum("bnhd,bnhe->bhde", kr, v) * (1.0 / n)
        o = ops.einsum("bnhd,bhde->bnhe", qr, state)
        if self.attention_state == "vanilla":
            return o
        k_mean = ops.mean(k, axis=1, keepdims=True)  # (B, 1, H, d)
        z = 1.0 / (ops.sum(q * k_mean, axis=-1, keepdims=True) + 1e-6)
        return z * o

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "attention": self.attention,
                "attention_state": self.attention_state,
                "ridge_lambda": self.ridge_lambda,
                "min_ridge_lambda": self.min_ridge_lambda,
                "rope": self.rope,
                "kernel_gate": self.kernel_gate,
                "lepe": self.lepe,
                "value_projection": self.value_projection,
                "boundary": self.boundary,
                "solver": self.solver,
                "use_bias": self.use_bias,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**legacy_attention_config(config))


def legacy_attention_config(config):
    """A saved attention configuration, with what older releases meant.

    Configurations saved before `attention_state` existed had `ridge` (a
    bool: `False` meant MLLA's normalised attention) and no floor under
    `lambda`; they load as `"ridge"` or `"mlla"` with `min_ridge_lambda=0`,
    so their predictions do not change.
    """
    config = dict(config)
    if "attention_state" not in config:
        config["attention_state"] = "ridge" if config.pop("ridge", True) else "mlla"
        config.setdefault("min_ridge_lambda", 0.0)
    return config
