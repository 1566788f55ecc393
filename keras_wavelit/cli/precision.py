"""`--mixed-precision`: the dtype policy a training command builds its model under.

`mixed_bfloat16` computes layers in bfloat16 and keeps the weights in float32;
`WaveletLoss` and the ridge solve of the linear attention stay float32
(`docs/design.md` §2.2). Whether it pays off depends on the backend and the
device; `auto` turns it on only where `benchmarks/mixed_precision.py`
measured a speedup (see `AUTO_RULE` and `docs/mixed_precision.md`).
"""

#: The values of `--mixed-precision`.
CHOICES = ("auto", "on", "off")

#: The policy `on` selects.
MIXED_POLICY = "mixed_bfloat16"

#: `(backend, device)` pairs where `auto` selects `MIXED_POLICY`, with the
#: CPU feature they need (None: no requirement). Pairs measured slower, or
#: not measured, are absent and train in float32.
AUTO_RULE = {
    # benchmarks/mixed_precision.py on an AMD EPYC with AVX512-BF16: a
    # WaveLiT-1.2M step 1.14x faster, one-step VRMSE at equal steps 0.999x
    # float32's. JAX (XLA, 40x slower) and TensorFlow (0.94x) stay float32.
    ("torch", "cpu"): "avx512_bf16",
}


def cpu_has_avx512_bf16(cpuinfo="/proc/cpuinfo"):
    """Whether the CPU has the AVX512-BF16 instructions (`avx512_bf16`).

    Read from the `flags` line of `/proc/cpuinfo` (Linux); False where that
    file is missing.

    Args:
        cpuinfo: path of the file to read.

    Returns:
        bool.

    Example:

    ```python
    from keras_wavelit.cli.precision import cpu_has_avx512_bf16

    assert cpu_has_avx512_bf16("/nonexistent") is False
    ```
    """
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx512_bf16" in line.split(":", 1)[1].split()
    except OSError:
        pass
    return False


def auto_policy(backend=None, device=None, avx512_bf16=None):
    """The policy that `--mixed-precision auto` selects, and why.

    Args:
        backend: Keras backend name; defaults to the current one.
        device: `"cpu"`, `"gpu"` or `"tpu"`; defaults to
            `keras_wavelit.config.device_platform()`.
        avx512_bf16: whether the CPU has AVX512-BF16; defaults to
            `cpu_has_avx512_bf16()`.

    Returns:
        `(policy, reason)`: `"mixed_bfloat16"` or `"float32"` and one
        sentence.

    Example:

    ```python
    from keras_wavelit.cli.precision import auto_policy

    policy, reason = auto_policy("torch", "gpu", False)
    assert policy == "float32"
    ```
    """
    import keras

    from keras_wavelit.config import device_platform

    backend = keras.backend.backend() if backend is None else backend
    device = device_platform() if device is None else device
    where = f"{backend} on {device}"
    if (backend, device) not in AUTO_RULE:
        return "float32", f"auto: no measured speedup for {where}"
    needs = AUTO_RULE[(backend, device)]
    if needs == "avx512_bf16":
        if avx512_bf16 is None:
            avx512_bf16 = cpu_has_avx512_bf16()
        if not avx512_bf16:
            return "float32", f"auto: {where} without the CPU's avx512_bf16 instructions"
        return MIXED_POLICY, f"auto: measured faster for {where} with avx512_bf16"
    return MIXED_POLICY, f"auto: measured faster for {where}"


def add_precision_args(parser):
    """Adds `--mixed-precision {auto,on,off}` to an argparse parser.

    Args:
        parser: an `argparse.ArgumentParser` (or argument group).

    Returns:
        The parser.

    Example:

    ```python
    import argparse
    from keras_wavelit.cli.precision import add_precision_args

    args = add_precision_args(argparse.ArgumentParser()).parse_args(["--mixed-precision", "on"])
    assert args.mixed_precision == "on"
    ```
    """
    parser.add_argument(
        "--mixed-precision",
        choices=CHOICES,
        default="off",
        help="train in mixed_bfloat16 (weights, loss and ridge solve stay float32): "
        "'on', 'off' (float32, default), or 'auto' (on only where it measured faster: "
        "see docs/mixed_precision.md)",
    )
    return parser


def resolve_precision(value, backend=None, device=None, avx512_bf16=None):
    """The dtype policy for a `--mixed-precision` value, and why.

    Args:
        value: `"auto"`, `"on"` or `"off"`.
        backend, device, avx512_bf16: see `auto_policy`.

    Returns:
        `(policy, reason)`.

    Raises:
        ValueError: for a value outside `CHOICES`.
    """
    if value not in CHOICES:
        raise ValueError(f"--mixed-precision must be one of {CHOICES}, got {value!r}.")
    if value == "on":
        return MIXED_POLICY, "--mixed-precision on"
    if value == "off":
        return "float32", "--mixed-precision off"
    return auto_policy(backend, device, avx512_bf16)


def apply_precision(args, verbose=True):
    """Sets the global dtype policy that `args.mixed_precision` asks for.

    Call it before the model is built: layers take the policy at
    construction. Prints one line naming the policy and the reason.

    Args:
        args: parsed arguments with `mixed_precision` (a parser given
            `add_precision_args`); a missing attribute means `"off"`.
        verbose: print the line.

    Returns:
        The policy name, `"mixed_bfloat16"` or `"float32"`.

    Raises:
        ValueError: for a value outside `CHOICES`.

    Example:

    ```python
    import argparse
    import keras
    from keras_wavelit.cli.precision import apply_precision

    apply_precision(argparse.Namespace(mixed_precision="off"), verbose=False)
    assert keras.config.dtype_policy().name == "float32"
    ```
    """
    import keras

    policy, reason = resolve_precision(getattr(args, "mixed_precision", "off"))
    keras.config.set_dtype_policy(policy)
    if verbose:
        print(f"dtype policy: {policy} ({reason})", flush=True)
    return policy


def float32_copy(model):
    """The same model computing in float32, for inference.

    A model built under `mixed_bfloat16` keeps that policy when saved and
    loaded (its layers compute in bfloat16 and it returns bfloat16
    predictions, whatever the global policy). Its weights are float32, so a
    float32 copy predicts with the same weights in full precision.

    Args:
        model: a built model whose class rebuilds from `get_config()` (e.g.
            `keras_wavelit.models.WaveLiT`), typically loaded from a
            `.keras` file.

    Returns:
        A new, uncompiled model with `dtype="float32"` and the weights of
        `model`; `model` itself if it already computes in float32.

    Example:

    ```python
    import numpy as np
    import keras
    from keras_wavelit.models import WaveLiT
    from keras_wavelit.cli.precision import float32_copy

    model = WaveLiT(dim=8, depth=1, num_heads=2, dtype="mixed_bfloat16")
    model(np.zeros((1, 1, 16, 16, 2), "float32"))
    assert float32_copy(model).compute_dtype == "float32"
    ```
    """
    if model.compute_dtype == "float32":
        return model
    config = model.get_config()
    config["dtype"] = "float32"
    copy = model.__class__.from_config(config)
    build_config = model.get_build_config()
    if build_config is not None:
        copy.build_from_config(build_config)
    copy.set_weights(model.get_weights())
    return copy
