"""Ridge-corrected linear attention over a 2D token grid.

Paper section 3.2 and Appendix A; DESIGN 2.2.
"""

import keras
import numpy as np
from keras import ops

from keras_wavelit.layers.boundary_depthwise_conv import BoundaryDepthwiseConv2D
from keras_wavelit.layers.rotary_embedding_2d import RotaryEmbedding2D
from keras_wavelit.ops.fusion_barrier import fusion_barrier
from keras_wavelit.ops.fusion_barrier import gradient_fusion_barrier
from keras_wavelit.ops.spd_solve import SOLVERS
from keras_wavelit.ops.spd_solve import spd_solve

ATTENTION_KINDS = ("linear", "softmax")


def _softplus_inverse(y):
    # log(exp(y) - 1), stable for large y
    return float(y + np.log(-np.expm1(-y)))


@keras.saving.register_keras_serializable(package="keras_wavelit")
class RidgeLinearAttention(keras.layers.Layer):
    """Multi-head linear attention with a ridge-regression state.

    Per head, with ``phi = elu + 1``, ``q = phi(x W_q)``, ``k = phi(x W_k)``
    and ``v = x`` (no value projection unless ``value_projection=True``), and
    ``~`` marking 2D RoPE (applied to the positive ``q``, ``k``):

    - ``ridge=True`` (WaveLiT): the state solves
      ``min_S sum_n ||S^T k~_n - v_n||^2 + lambda ||S||^2`` scaled by ``1/N``:
      ``S = (K~^T K~ / N + lambda I)^-1 (K~^T V / N)``, ``o_n = q~_n^T S``.
      ``lambda = softplus(w) > 0`` is learned per head (initial value
      ``ridge_lambda``). The solve runs in float32 even under mixed
      precision, with :func:`keras_wavelit.ops.spd_solve`. Cost
      ``O(N d^2 + d^3)`` per head: linear in the number of tokens ``N``.
    - ``ridge=False`` (vanilla, MLLA): ``S = K~^T V / N`` and
      ``o_n = z_n q~_n^T S`` with ``z_n = 1 / (q_n . mean_m k_m + 1e-6)``
      computed on the un-rotated ``q``, ``k``.
    - ``attention="softmax"``: scaled dot-product attention of
      ``x W_q``, ``x W_k`` (RoPE'd) over ``v`` (quadratic in ``N``; the
      baseline of paper Appendix B).

    Then, optionally, the kernel gate ``o <- o * sigmoid(x W_g)`` and LePE
    ``o <- o + DWConv3x3(v)``.

    Args:
        num_heads: int, number of heads; the input dimension must divide by
            it and the head dimension by 4 when ``rope=True``.
        attention: ``"linear"`` (default) or ``"softmax"``.
        ridge: bool, ridge state (default True) or vanilla linear attention.
        ridge_lambda: float > 0, initial ``lambda``. Defaults to 1.0.
        rope: bool, apply 2D RoPE to queries and keys. Defaults to True.
        kernel_gate: bool, output modulation by ``sigmoid(x W_g)``.
        lepe: bool, add ``DWConv3x3(v)`` to the output. Defaults to True.
        value_projection: bool, use ``v = x W_v`` instead of ``v = x``.
        mode: boundary mode of the LePE convolution (``"reflect"``,
            ``"periodic"``, ``"zeros"``).
        solver: ``"auto"`` (default: Gauss-Jordan elimination in
            ``keras.ops`` on JAX, ``keras.ops.linalg.solve`` on TensorFlow
            and PyTorch), ``"gauss_jordan"`` or ``"linalg"``; see
            :func:`keras_wavelit.ops.spd_solve`.
        use_bias: bool, biases of the projections. Defaults to True.
        **kwargs: base layer keyword arguments.

    Call arguments:
        inputs: tokens ``(B, h, w, dim)``; the grid ``(h, w)`` is read from
            the shape, so any resolution works.

    Returns:
        Tensor ``(B, h, w, dim)``.

    Example:

    >>> attn = RidgeLinearAttention(num_heads=4)
    >>> tuple(attn(np.random.rand(2, 16, 16, 64).astype("float32")).shape)
    (2, 16, 16, 64)
    """

    def __init__(
        self,
        num_heads=4,
        attention="linear",
        ridge=True,
        ridge_lambda=1.0,
        rope=True,
        kernel_gate=True,
        lepe=True,
        value_projection=False,
        mode="reflect",
        solver="auto",
        use_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"`attention` must be one of {ATTENTION_KINDS}, got {attention!r}.")
        if ridge_lambda <= 0:
            raise ValueError(f"`ridge_lambda` must be > 0, got {ridge_lambda}.")
        if solver not in SOLVERS:
            raise ValueError(f"Unknown solver {solver!r}; expected one of {SOLVERS}.")
        self.num_heads = num_heads
        self.attention = attention
        self.ridge = ridge
        self.ridge_lambda = ridge_lambda
        self.rope = rope
        self.kernel_gate = kernel_gate
        self.lepe = lepe
        self.value_projection = value_projection
        self.mode = mode
        self.solver = solver
        self.use_bias = use_bias

        self.rotary = RotaryEmbedding2D(dtype=self.dtype_policy, name="rope")
        self.lepe_conv = (
            BoundaryDepthwiseConv2D(3, mode=mode, dtype=self.dtype_policy, name="lepe")
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
        if self.attention == "linear" and self.ridge:
            init = _softplus_inverse(self.ridge_lambda)
            self.ridge_raw = self.add_weight(
                name="ridge_raw",
                shape=(self.num_heads,),
                initializer=keras.initializers.Constant(init),
                dtype="float32",
                autocast=False,
            )

    def ridge_lambdas(self):
        """Current ``lambda`` per head, ``softplus`` of the raw weight."""
        return ops.softplus(self.ridge_raw)

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
            o = self._ridge(qr, kr, v, n) if self.ridge else self._vanilla(q, k, qr, kr, v, n)
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
        k_mean = ops.mean(k, axis=1, keepdims=True)  # (B, 1, H, d)
        z = 1.0 / (ops.sum(q * k_mean, axis=-1, keepdims=True) + 1e-6)
        return z * ops.einsum("bnhd,bhde->bnhe", qr, state)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "attention": self.attention,
                "ridge": self.ridge,
                "ridge_lambda": self.ridge_lambda,
                "rope": self.rope,
                "kernel_gate": self.kernel_gate,
                "lepe": self.lepe,
                "value_projection": self.value_projection,
                "mode": self.mode,
                "solver": self.solver,
                "use_bias": self.use_bias,
            }
        )
        return config
