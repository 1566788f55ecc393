"""The WaveLiT trunk: tokens in, tokens out (paper sections 3.2-3.4).

`docs/design.md` §2.3, §2.4 and §2.6.
"""

import keras

from keras_wavelit._deprecation import renamed_argument
from keras_wavelit.layers.ridge_linear_attention import legacy_attention_config
from keras_wavelit.layers.ridge_linear_attention import resolve_attention_state
from keras_wavelit.layers.ridge_mila_block import RidgeMILABlock
from keras_wavelit.layers.shared_fpn import SharedFPN


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_architecture(owner, **args):
    """Raises a `ValueError` naming the argument for an invalid size or rate."""
    for name in ("dim", "depth", "num_heads"):
        if name in args and (not _is_int(args[name]) or args[name] < 1):
            raise ValueError(f"{owner}: `{name}` must be an integer >= 1, got {args[name]!r}.")
    for name in ("pyramid_levels",):
        if name in args and (not _is_int(args[name]) or args[name] < 0):
            raise ValueError(f"{owner}: `{name}` must be an integer >= 0, got {args[name]!r}.")
    if "dim" in args and "num_heads" in args and args["dim"] % args["num_heads"]:
        raise ValueError(
            f"{owner}: `dim` must be divisible by `num_heads`; got dim={args['dim']}, "
            f"num_heads={args['num_heads']}."
        )
    if "mlp_ratio" in args:
        ratio = args["mlp_ratio"]
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 0:
            raise ValueError(f"{owner}: `mlp_ratio` must be a number > 0, got {ratio!r}.")
    if "drop_path" in args:
        rate = args["drop_path"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"{owner}: `drop_path` must be in [0, 1), got {rate!r}.")
    if "ridge_lambda" in args:
        lam = args["ridge_lambda"]
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam > 0:
            raise ValueError(f"{owner}: `ridge_lambda` must be a number > 0, got {lam!r}.")


def _pyramid_kwargs(pyramid_levels, upsample, combine):
    # None leaves `SharedFPN`'s default in place (the config records it).
    kwargs = {"pyramid_levels": pyramid_levels}
    if upsample is not None:
        kwargs["upsample"] = upsample
    if combine is not None:
        kwargs["combine"] = combine
    return kwargs


@keras.saving.register_keras_serializable(package="keras_wavelit")
class WaveLiTBackbone(keras.Model):
    """The WaveLiT trunk: `depth` shared-pyramid mixer blocks and a final norm.

    Tokens `(B, h, w, dim)` in, tokens of the same shape out:
    `depth` x `SharedFPN(RidgeMILABlock)` (paper sections 3.2-3.4: ridge
    linear attention in a MILA block, applied with shared weights at
    `pyramid_levels + 1` resolutions and aggregated as in Eq. 3), then a
    `LayerNormalization`. The stochastic-depth rate rises linearly from 0 to
    `drop_path` over the blocks. The backbone holds architecture arguments
    only; the tasks (`WaveLiT`, the foundation model) add the tokenizer,
    the decoder and the training recipe.

    Args:
        dim: int, token dimension. Defaults to 96.
        depth: int >= 1, number of mixer blocks. Defaults to 9.
        num_heads: int >= 1 dividing `dim` (with RoPE `dim / num_heads`
            must be divisible by 4). Defaults to 4.
        pyramid_levels: int >= 0, coarser levels of every `SharedFPN`
            (0: no pyramid; paper Table 13). Defaults to 1.
        boundary: boundary mode of the depthwise convolutions, one of
            `keras_wavelit.ops.boundary.BOUNDARY_MODES` that the blocks
            support. Defaults to `"reflect"`.
        mlp_ratio: float > 0. Defaults to 4.
        drop_path: float in [0, 1), maximal stochastic-depth rate.
        attention: `"linear"` (default) or `"softmax"` (Appendix B).
        attention_state, ridge, ridge_lambda, min_ridge_lambda, rope,
            kernel_gate, lepe, cpe, mila, value_projection, solver: mixer
            switches, see `RidgeMILABlock` (paper Table 14, Appendix A).
        pyramid_upsample: upsampling of the coarse levels, see `SharedFPN`;
            None: `SharedFPN`'s default.
        pyramid_combine: how the pyramid levels are combined, see
            `SharedFPN`; None: `SharedFPN`'s default (the paper's Eq. 3).
        layer_norm_epsilon: float. Defaults to 1e-6.
        **kwargs: `keras.Model` keyword arguments (`name`, `dtype`).

    Call arguments:
        inputs: tokens `(B, h, w, dim)`, `h` and `w` multiples of
            `2 ** pyramid_levels`.
        training: bool.

    Returns:
        Tokens `(B, h, w, dim)`.

    Example:

    ```python
    import numpy as np
    import keras_wavelit as kw

    backbone = kw.models.WaveLiTBackbone(dim=16, depth=1, num_heads=2)
    tokens = backbone(np.zeros((2, 8, 8, 16), "float32"))
    assert tuple(tokens.shape) == (2, 8, 8, 16)
    ```
    """

    def __init__(
        self,
        dim=96,
        depth=9,
        num_heads=4,
        pyramid_levels=None,
        boundary=None,
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
        layer_norm_epsilon=1e-6,
        **kwargs,
    ):
        owner = "WaveLiTBackbone"
        attention_state = resolve_attention_state(attention_state or "ridge", ridge, owner)
        pyramid_levels = renamed_argument(
            owner, kwargs, "fpn_levels", "pyramid_levels", pyramid_levels, 1
        )
        boundary = renamed_argument(owner, kwargs, "mode", "boundary", boundary, "reflect")
        super().__init__(**kwargs)
        check_architecture(
            owner,
            dim=dim,
            depth=depth,
            num_heads=num_heads,
            pyramid_levels=pyramid_levels,
            mlp_ratio=mlp_ratio,
            drop_path=drop_path,
            ridge_lambda=ridge_lambda,
        )
        self.dim = dim
        self.depth = depth
        self.num_heads = num_heads
        self.pyramid_levels = pyramid_levels
        self.boundary = boundary
        self.mlp_ratio = mlp_ratio
        self.drop_path = drop_path
        self.attention = attention
        self.attention_state = attention_state
        self.ridge_lambda = ridge_lambda
        self.min_ridge_lambda = min_ridge_lambda
        self.rope = rope
        self.kernel_gate = kernel_gate
        self.lepe = lepe
        self.cpe = cpe
        self.mila = mila
        self.value_projection = value_projection
        self.solver = solver
        self.layer_norm_epsilon = layer_norm_epsilon

        policy = self.dtype_policy
        self.mixers = []
        for i in range(depth):
            rate = drop_path * i / max(depth - 1, 1)
            block = RidgeMILABlock(
                num_heads=num_heads,
                mlp_ratio=mlp_ratio,
                drop_path=rate,
                attention=attention,
                attention_state=attention_state,
                ridge_lambda=ridge_lambda,
                min_ridge_lambda=min_ridge_lambda,
                rope=rope,
                kernel_gate=kernel_gate,
                lepe=lepe,
                cpe=cpe,
                mila=mila,
                value_projection=value_projection,
                solver=solver,
                layer_norm_epsilon=layer_norm_epsilon,
                dtype=policy,
                boundary=boundary,
                name=f"block_{i}",
            )
            self.mixers.append(
                SharedFPN(
                    block,
                    dtype=policy,
                    name=f"fpn_{i}",
                    **_pyramid_kwargs(pyramid_levels, pyramid_upsample, pyramid_combine),
                )
            )
        # The pyramid's defaults are SharedFPN's; the config records them.
        self.pyramid_upsample = self.mixers[0].upsample
        self.pyramid_combine = self.mixers[0].combine
        self.final_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="final_norm"
        )

    @property
    def spatial_multiple(self):
        """Token grids must have a height and width that are multiples of this."""
        return 2**self.pyramid_levels

    def _check_shape(self, shape):
        shape = tuple(shape)
        if len(shape) != 4 or (shape[-1] is not None and shape[-1] != self.dim):
            raise ValueError(
                f"WaveLiTBackbone(dim={self.dim}) expects tokens (B, h, w, {self.dim}); "
                f"got shape {shape}."
            )
        m = self.spatial_multiple
        for n, name in ((shape[1], "height"), (shape[2], "width")):
            if n is not None and n % m:
                raise ValueError(
                    f"WaveLiTBackbone(pyramid_levels={self.pyramid_levels}) needs a token "
                    f"grid whose {name} is a multiple of {m}; got tokens of shape {shape}."
                )

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_shape(input_shape)
        for mixer in self.mixers:
            mixer.build(input_shape)
        self.final_norm.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        self._check_shape(inputs.shape)
        x = inputs
        for mixer in self.mixers:
            x = mixer(x, training=training)
        return self.final_norm(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "dim": self.dim,
                "depth": self.depth,
                "num_heads": self.num_heads,
                "pyramid_levels": self.pyramid_levels,
                "boundary": self.boundary,
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
                "solver": self.solver,
                "pyramid_upsample": self.pyramid_upsample,
                "pyramid_combine": self.pyramid_combine,
                "layer_norm_epsilon": self.layer_norm_epsilon,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        # Saved before `attention_state`: `ridge=False` meant MLLA's attention
        # and lambda had no floor; load with what the weights were trained with.
        return cls(**legacy_attention_config(config))
