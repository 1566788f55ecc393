"""Where does the time of one WaveLiT training step go?

Times the forward + backward pass of the whole ``WaveLiT(size="1.2M")``
model and of each of its components, at the shapes the components see inside
the model, on the backend named by ``KERAS_BACKEND``:

* JAX: ``jax.jit(jax.value_and_grad(loss))`` of a stateless call
  (``layer.stateless_call``), compiled once ahead of time; the gradient is
  taken with respect to the layer's trainable weights and its inputs, and the
  loss is ``sum(output * cotangent)`` for a fixed random cotangent.
* PyTorch: the same loss, eagerly, followed by ``loss.backward()``.
* TensorFlow is not supported (use ``benchmarks/model_throughput.py``).

Every measurement is the median of ``--repeats`` runs after one warm-up run.
The full step is also timed through ``model.train_on_batch`` (the paper's
recipe: AdamW with clipping and EMA, ``WaveletLoss``), so that the optimizer
and Keras's bookkeeping show up as the difference.

The table lists, for every component, how many times it runs per step, its
time per call, the time per step (``count * ms``) and its share of the full
``train_on_batch`` step. Components are nested (``RidgeMILABlock`` contains
the attention, which contains the LePE convolution, the projections, RoPE and
the ridge solve), so shares of rows at different depths do not add up.
Components timed alone lose the fusion with their neighbours, so their sum
need not equal the whole; the ``(rest)`` rows are derived differences.

With ``--trace DIR`` (JAX only) the full forward + backward program also
runs under ``jax.profiler.trace(DIR, create_perfetto_trace=True)``; the
per-operation ("thunk") events of the trace are matched with the optimized
HLO of the program and summed by operation, by HLO opcode and by WaveLiT
component (from the Keras name scopes in the HLO metadata), forward and
backward separately. This shows the cost that does not grow with the
resolution, e.g. the number of operations executed per step.

Usage::

    KERAS_BACKEND=jax python benchmarks/profile_step.py
    KERAS_BACKEND=jax python benchmarks/profile_step.py --resolution 128
    KERAS_BACKEND=jax python benchmarks/profile_step.py --trace /tmp/wavelit_trace
    KERAS_BACKEND=torch python benchmarks/profile_step.py --repeats 5
    # ablation switches of the constructor, e.g. the LAPACK-free solver off:
    KERAS_BACKEND=jax python benchmarks/profile_step.py --model-kwargs solver=linalg

Other options: ``--skip-components``, ``--skip-train-on-batch``,
``--threads N`` (PyTorch), ``--json PATH`` (write every measurement).
On a shared or busy machine, multi-threaded runtimes stall on their thread
pools; compare shares within one run rather than seconds across runs.
"""

import argparse
import ast
import collections
import glob
import gzip
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from keras_wavelit.models import WaveLiT  # noqa: E402
from keras_wavelit.ops.spd_solve import spd_solve  # noqa: E402

BATCH, STEPS_IN, FIELDS = 4, 4, 4
BACKEND = keras.backend.backend()


# ---------------------------------------------------------------------------
# Small wrapper layers, so that every component is a Keras layer with a
# `stateless_call`.
# ---------------------------------------------------------------------------
class MethodCall(keras.layers.Layer):
    """Calls ``getattr(layer, method)`` (tracks ``layer``'s weights)."""

    def __init__(self, layer, method, **kwargs):
        super().__init__(**kwargs)
        self.inner = layer
        self.method = method
        self.built = True

    def call(self, *args, **kwargs):
        return getattr(self.inner, self.method)(*args, **kwargs)


class FunctionCall(keras.layers.Layer):
    """Calls a weightless function of tensors."""

    def __init__(self, fn, **kwargs):
        super().__init__(**kwargs)
        self.fn = fn
        self.built = True

    def call(self, *args):
        return self.fn(*args)


class LossCall(keras.layers.Layer):
    """``loss(y_true, y_pred)`` as a layer of ``y_pred``."""

    def __init__(self, loss, y_true, **kwargs):
        super().__init__(**kwargs)
        self.loss = loss
        self.y_true = y_true
        self.built = True

    def call(self, y_pred):
        return self.loss(self.y_true, y_pred)


# ---------------------------------------------------------------------------
# Timing of a forward + backward pass, per backend.
# ---------------------------------------------------------------------------
def _median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def _cotangents(outputs, seed=1):
    rng = np.random.default_rng(seed)
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [rng.standard_normal(tuple(o.shape)).astype("float32") for o in outs]


def _scalar_loss(outputs, cotangents):
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    total = 0.0
    for o, c in zip(outs, cotangents):
        total = total + ops.sum(ops.cast(o, "float32") * c)
    return total


def _jax_forward_backward(layer, inputs, call_kwargs):
    """Compiled ``value_and_grad`` of a stateless call; returns (run, compile_s)."""
    import jax

    tv = [v.value for v in layer.trainable_variables]
    ntv = [v.value for v in layer.non_trainable_variables]
    inputs = [jax.numpy.asarray(x) for x in inputs]
    out, _ = layer.stateless_call(tv, ntv, *inputs, **call_kwargs)
    cts = [jax.numpy.asarray(c) for c in _cotangents(out)]

    def loss_fn(tv, inputs, ntv):
        out, _ = layer.stateless_call(tv, ntv, *inputs, **call_kwargs)
        return _scalar_loss(out, cts)

    t0 = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(loss_fn, argnums=(0, 1))).lower(tv, inputs, ntv).compile()
    compile_s = time.perf_counter() - t0

    def run():
        jax.block_until_ready(compiled(tv, inputs, ntv))

    return run, compile_s


def _torch_forward_backward(layer, inputs, call_kwargs):
    """Eager forward + ``backward()``; returns (run, first_call_s)."""
    import torch

    base = [torch.as_tensor(np.asarray(x)) for x in inputs]
    with torch.no_grad():
        cts = [torch.as_tensor(c) for c in _cotangents(layer(*base, **call_kwargs))]
    params = [v.value for v in layer.trainable_variables]

    def run():
        for p in params:
            p.grad = None
        xs = [x.detach().requires_grad_(x.is_floating_point()) for x in base]
        out = layer(*xs, **call_kwargs)
        _scalar_loss(out, cts).backward()

    t0 = time.perf_counter()
    run()
    return run, time.perf_counter() - t0


def time_forward_backward(layer, inputs, repeats, **call_kwargs):
    """Median seconds of one forward + backward pass of ``layer(*inputs)``."""
    if BACKEND == "jax":
        run, compile_s = _jax_forward_backward(layer, inputs, call_kwargs)
    elif BACKEND == "torch":
        run, compile_s = _torch_forward_backward(layer, inputs, call_kwargs)
    else:
        raise SystemExit(f"profile_step.py supports jax and torch, not {BACKEND!r}.")
    median, times = _median_time(run, repeats)
    return {"s": median, "times": times, "compile_s": compile_s}


# ---------------------------------------------------------------------------
# The whole model.
# ---------------------------------------------------------------------------
def model_forward_backward(model, x, y, repeats):
    """Forward + backward of ``WaveletLoss(y, model(x))`` w.r.t. the weights."""
    if BACKEND == "jax":
        import jax

        tv = [v.value for v in model.trainable_variables]
        ntv = [v.value for v in model.non_trainable_variables]

        def loss_fn(tv, ntv, x, y):
            y_pred, _ = model.stateless_call(tv, ntv, x, training=True)
            return model.loss(y, y_pred)

        t0 = time.perf_counter()
        lowered = jax.jit(jax.value_and_grad(loss_fn)).lower(tv, ntv, x, y)
        compiled = lowered.compile()
        compile_s = time.perf_counter() - t0

        def run():
            jax.block_until_ready(compiled(tv, ntv, x, y))

        median, times = _median_time(run, repeats)
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        return {
            "s": median,
            "times": times,
            "compile_s": compile_s,
            "flops": float(cost.get("flops", 0.0)),
            "run": run,
            "compiled": compiled,
        }
    import torch

    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    params = [v.value for v in model.trainable_variables]

    def run():
        for p in params:
            p.grad = None
        model.loss(yt, model(xt, training=True)).backward()

    t0 = time.perf_counter()
    run()
    compile_s = time.perf_counter() - t0
    median, times = _median_time(run, repeats)
    return {"s": median, "times": times, "compile_s": compile_s}


def model_train_on_batch(model, x, y, repeats):
    t0 = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - t0
    median, times = _median_time(lambda: model.train_on_batch(x, y), repeats)
    return {"s": median, "times": times, "compile_s": first - median}


# ---------------------------------------------------------------------------
# Components at the shapes they see inside the model.
# ---------------------------------------------------------------------------
def component_specs(model, x, y):
    """(name, group, count per step, layer, inputs, call kwargs) of every part."""
    rng = np.random.default_rng(0)
    b, t, h, w, c = x.shape
    f = 2**model.wavelet_levels
    dim = model.dim
    heads = model.num_heads
    head_dim = dim // heads
    mixers = model.backbone.mixers
    hidden = mixers[0].block.mlp_in.units
    depth = model.depth
    fpn = mixers[0]
    block = fpn.block
    attn = block.attn

    def normal(*shape):
        return rng.standard_normal(shape).astype("float32")

    n_convs = 2 * bool(block.cpe) + bool(block.mila) + bool(attn.lepe)
    n_square_dense = 3 + bool(attn.kernel_gate) + 2 * bool(block.mila) + bool(attn.value_projection)
    specs = []
    folded = normal(b, h, w, t * c)
    specs.append(("encoder (DWT + Dense)", "io", 1, model.encoder, [folded], {}))
    grids = [(h // f // 2**level, w // f // 2**level) for level in range(model.pyramid_levels + 1)]
    th, tw = grids[0]
    specs.append(
        (
            f"SharedFPN(RidgeMILABlock) @{th}x{tw}",
            "mixer",
            depth,
            fpn,
            [normal(b, th, tw, dim)],
            {"training": True},
        )
    )
    for gh, gw in grids:
        g = f"@{gh}"
        tokens = normal(b, gh, gw, dim)
        n = gh * gw
        specs += [
            (f"  RidgeMILABlock {g}", g, depth, block, [tokens], {"training": True}),
            (f"    RidgeLinearAttention {g}", g, depth, attn, [tokens], {}),
            (
                f"      spd_solve ({block.solver}) (B,h,{head_dim},{head_dim})",
                g,
                depth,
                FunctionCall(lambda a, r, s=block.solver: spd_solve(a, r, solver=s)),
                [
                    np.einsum("bhnd,bhne->bhde", *(2 * [np.abs(normal(b, heads, 64, head_dim))]))
                    / 64
                    + np.eye(head_dim, dtype="float32"),
                    normal(b, heads, head_dim, head_dim),
                ],
                {},
            ),
            (
                f"      RoPE 2D {g}",
                g,
                2 * depth,
                attn.rotary,
                [normal(b, n, heads, head_dim)],
                {"grid": (gh, gw)},
            ),
            (
                f"    BoundaryDepthwiseConv2D 3x3 {g}",
                g,
                n_convs * depth,
                block.cpe1 or attn.lepe_conv or block.input_conv,
                [tokens],
                {},
            ),
            (
                f"    Dense {dim}->{dim} {g}",
                g,
                n_square_dense * depth,
                block.out_dense,
                [tokens],
                {},
            ),
            (f"    Dense {dim}->{hidden} (mlp_in) {g}", g, depth, block.mlp_in, [tokens], {}),
            (
                f"    Dense {hidden}->{dim} (mlp_out) {g}",
                g,
                depth,
                block.mlp_out,
                [normal(b, gh, gw, hidden)],
                {},
            ),
            (f"    LayerNormalization {g}", g, 2 * depth, block.norm1, [tokens], {}),
        ]
    specs = [s for s in specs if s[3] is not None and s[2] > 0]
    tokens = normal(b, th, tw, dim)
    specs.append(("final LayerNormalization", "io", 1, model.backbone.final_norm, [tokens], {}))
    specs.append(("decoder (Dense + IDWT)", "io", 1, model.decoder, [tokens], {}))
    specs.append(("WaveletLoss", "io", 1, LossCall(model.loss, y), [normal(*y.shape)], {}))
    return specs


# ---------------------------------------------------------------------------
# JAX op-level profile of the full program.
# ---------------------------------------------------------------------------
_INSTR = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(.*)$")
_OPCODE = re.compile(r"^\S+(?:\s*\{[^}]*\})?\s+([\w\-]+)\(")
_OPCODE_TUPLE = re.compile(r"\)\s+([\w\-]+)\(")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
_KIND = re.compile(r"kind=(k\w+)")

_COMPONENT_RULES = (
    # (path segment or substring, component); the first match wins.
    ("while", "spd_solve loop (while)"),
    ("lepe", "depthwise conv"),
    ("cpe_1", "depthwise conv"),
    ("cpe_2", "depthwise conv"),
    ("mila_conv", "depthwise conv"),
    ("rope", "RoPE"),
    ("query", "Dense"),
    ("key", "Dense"),
    ("gate", "Dense"),
    ("mila_gate", "Dense"),
    ("mila_in", "Dense"),
    ("attention_out", "Dense"),
    ("mlp_in", "Dense"),
    ("mlp_out", "Dense"),
    ("norm_1", "LayerNorm"),
    ("norm_2", "LayerNorm"),
    ("final_norm", "LayerNorm"),
    ("attention", "attention core (einsums, elu, solve glue)"),
    ("encoder", "encoder/decoder"),
    ("decoder", "encoder/decoder"),
    ("tokenizer", "encoder/decoder"),
    ("wavelet_loss", "WaveletLoss"),
    ("dwt", "WaveletLoss"),
)


def parse_hlo(hlo_text):
    """Maps instruction name -> (opcode/fusion kind, op_name metadata)."""
    table = {}
    for line in hlo_text.splitlines():
        m = _INSTR.match(line)
        if not m:
            continue
        name, rest = m.groups()
        op = _OPCODE.match(rest) or _OPCODE_TUPLE.search(rest)
        opcode = op.group(1) if op else "?"
        if opcode == "fusion":
            kind = _KIND.search(rest)
            opcode = f"fusion:{kind.group(1) if kind else '?'}"
        meta = _OP_NAME.search(rest)
        table[name] = (opcode, meta.group(1) if meta else "")
    return table


def classify(op_name):
    direction = "bwd" if "transpose(" in op_name else "fwd"
    segments = re.split(r"[/()]", op_name)
    if any(s in ("while", "scan") or s.startswith("while") for s in segments):
        return direction, "spd_solve loop (while)"
    for key, component in _COMPONENT_RULES[1:]:
        if key in segments:
            return direction, component
    if any(s.startswith("fpn_") for s in segments):
        return direction, "SharedFPN glue / block residuals"
    if not op_name:
        return direction, "(no metadata)"
    return direction, "other"


def trace_program(run, compiled, log_dir, repeats):
    """Runs ``run`` under the JAX profiler and aggregates the thunk events."""
    import jax

    run()
    with jax.profiler.trace(log_dir, create_perfetto_trace=True):
        for _ in range(repeats):
            run()
    paths = sorted(
        glob.glob(os.path.join(log_dir, "**", "perfetto_trace.json.gz"), recursive=True),
        key=os.path.getmtime,
    )
    if not paths:
        print("No perfetto trace was written; skipping the op-level profile.")
        return None
    with gzip.open(paths[-1], "rt") as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    hlo = parse_hlo(compiled.as_text())
    with open(os.path.join(log_dir, "optimized_hlo.txt"), "w") as f:
        f.write(compiled.as_text())

    execute = [
        e for e in events if e.get("ph") == "X" and e.get("name") == "PjRtCpuExecutable::Execute"
    ]
    step_us = statistics.median(e["dur"] for e in execute) if execute else float("nan")
    by_op = collections.defaultdict(lambda: [0.0, 0])
    by_opcode = collections.defaultdict(lambda: [0.0, 0])
    by_component = collections.defaultdict(lambda: [0.0, 0])
    by_thread = collections.defaultdict(float)
    unmatched = collections.defaultdict(lambda: [0.0, 0])
    for e in events:
        if e.get("ph") != "X":
            continue
        name = e.get("name", "")
        if name not in hlo:
            if not name.startswith(("$", "end: ")):
                unmatched[name][0] += e.get("dur", 0.0)
                unmatched[name][1] += 1
            continue
        dur = e.get("dur", 0.0)
        opcode, op_name = hlo[name]
        direction, component = classify(op_name)
        by_op[name][0] += dur
        by_op[name][1] += 1
        by_opcode[opcode][0] += dur
        by_opcode[opcode][1] += 1
        by_component[f"{component} [{direction}]"][0] += dur
        by_component[f"{component} [{direction}]"][1] += 1
        by_thread[e.get("tid")] += dur

    total_us = sum(v[0] for v in by_op.values())
    n_events = sum(v[1] for v in by_op.values())
    per = repeats * 1000.0

    def show(title, table, limit, label=None):
        print(f"\n{title}")
        print(f"{'name':<60} {'calls/step':>10} {'ms/step':>9} {'share':>7}")
        rows = sorted(table.items(), key=lambda kv: -kv[1][0])[:limit]
        for key, (dur, count) in rows:
            text = label(key) if label else key
            print(
                f"{text[:60]:<60} {count / repeats:>10.0f} {dur / per:>9.1f} "
                f"{dur / max(total_us, 1e-9):>7.1%}"
            )

    print("\n=== JAX op-level profile of the forward + backward program ===")
    print(f"trace: {paths[-1]}")
    print(
        f"PjRtCpuExecutable::Execute median: {step_us / 1000:.1f} ms; "
        f"op events per step: {n_events / repeats:.0f}; "
        f"sum of op durations per step: {total_us / per:.1f} ms "
        f"(over {len(by_thread)} threads; ops of the same step can overlap)"
    )
    show("By WaveLiT component (from the HLO name scopes)", by_component, 40)
    show("By HLO opcode / fusion kind", by_opcode, 25)
    show(
        "Top operations",
        by_op,
        30,
        label=lambda k: f"{k} [{hlo[k][0]}] {hlo[k][1].split('jvp(')[-1][-40:]}",
    )
    if unmatched:
        show("Trace events not matched to HLO instructions (runtime)", unmatched, 12)
    return {
        "execute_ms": step_us / 1000,
        "op_events_per_step": n_events / repeats,
        "op_ms_per_step": total_us / per,
        "by_component_ms": {k: v[0] / per for k, v in by_component.items()},
        "by_opcode_ms": {k: v[0] / per for k, v in by_opcode.items()},
        "by_opcode_calls": {k: v[1] / repeats for k, v in by_opcode.items()},
    }


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------
def parse_model_kwargs(text):
    kwargs = {}
    for item in filter(None, (text or "").split(",")):
        key, value = item.split("=", 1)
        try:
            kwargs[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = value.strip()
    return kwargs


def print_table(rows, step_s):
    print(f"\n{'component':<52} {'count':>5} {'ms each':>9} {'ms total':>9} {'share':>7}")
    print("-" * 86)
    for name, count, seconds in rows:
        total = count * seconds
        share = total / step_s if step_s else float("nan")
        print(f"{name:<52} {count:>5} {seconds * 1e3:>9.2f} {total * 1e3:>9.1f} {share:>7.1%}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", default="1.2M")
    parser.add_argument(
        "--model-kwargs",
        default="",
        help="comma-separated WaveLiT arguments, e.g. 'solver=linalg,cpe=False'",
    )
    parser.add_argument("--skip-components", action="store_true")
    parser.add_argument("--skip-train-on-batch", action="store_true")
    parser.add_argument("--trace", default=None, help="JAX only: profiler log folder")
    parser.add_argument("--json", default=None, help="write the measurements here")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch only: torch.set_num_threads (0: library default); for "
        "JAX set XLA_FLAGS='--xla_cpu_multi_thread_eigen=false' instead",
    )
    args = parser.parse_args(argv)
    if args.threads and BACKEND == "torch":
        import torch

        torch.set_num_threads(args.threads)

    keras.utils.set_random_seed(0)
    r = args.resolution
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, STEPS_IN, r, r, FIELDS)).astype("float32")
    y = rng.standard_normal((BATCH, 1, r, r, FIELDS)).astype("float32")
    model_kwargs = parse_model_kwargs(args.model_kwargs)
    model = WaveLiT(size=args.size, **model_kwargs)
    model.build(x.shape)
    print(
        f"backend={BACKEND} size={args.size} resolution={r} batch={BATCH} "
        f"params={model.count_params()} model_kwargs={model_kwargs} "
        f"repeats={args.repeats} load_average={os.getloadavg()[0]:.2f}",
        flush=True,
    )

    results = {
        "backend": BACKEND,
        "resolution": r,
        "size": args.size,
        "model_kwargs": model_kwargs,
        "components": [],
    }
    rows = []
    if not args.skip_train_on_batch:
        tob = model_train_on_batch(model, x, y, args.repeats)
        print(
            f"train_on_batch: {tob['s']:.3f} s (first call +{tob['compile_s']:.1f} s)", flush=True
        )
        results["train_on_batch"] = {k: tob[k] for k in ("s", "times", "compile_s")}
        rows.append(("full step: model.train_on_batch", 1, tob["s"]))
    fb = model_forward_backward(model, x, y, args.repeats)
    print(
        f"forward+backward: {fb['s']:.3f} s (compile/first {fb['compile_s']:.1f} s"
        + (f", {fb['flops'] / 1e9:.1f} GFLOP" if "flops" in fb else "")
        + ")",
        flush=True,
    )
    results["forward_backward"] = {
        k: fb[k] for k in ("s", "times", "compile_s", "flops") if k in fb
    }
    rows.append(("forward+backward (loss of model output)", 1, fb["s"]))
    step_s = results.get("train_on_batch", {}).get("s", fb["s"])
    if not args.skip_train_on_batch:
        rows.append(("(rest: optimizer, EMA, metrics, Keras)", 1, step_s - fb["s"]))

    if args.trace and BACKEND == "jax":
        results["trace"] = trace_program(fb["run"], fb["compiled"], args.trace, args.repeats)

    if not args.skip_components:
        measured = {}
        for name, group, count, layer, inputs, kwargs in component_specs(model, x, y):
            m = time_forward_backward(layer, inputs, args.repeats, **kwargs)
            measured[name] = (count, m["s"])
            print(
                f"  {name.strip():<50} x{count:<3} {m['s'] * 1e3:9.2f} ms "
                f"(compile/first {m['compile_s']:.1f} s)",
                flush=True,
            )
            results["components"].append(
                {
                    "name": name.strip(),
                    "group": group,
                    "count": count,
                    "s": m["s"],
                    "times": m["times"],
                    "compile_s": m["compile_s"],
                }
            )
            rows.append((name, count, m["s"]))
        # Derived rows: what the nested parts leave unexplained.
        for name in list(measured):
            if name.strip().startswith("RidgeMILABlock"):
                g = name.split("@")[-1]
                parts = [
                    v
                    for k, v in measured.items()
                    if k.startswith("    ")
                    and not k.startswith("      ")
                    and k.endswith(f"@{g}")
                    and "Attention" not in k
                ]
                attn = [
                    v
                    for k, v in measured.items()
                    if "RidgeLinearAttention" in k and k.endswith(f"@{g}")
                ]
                count, block_s = measured[name]
                inner = sum(c * s for c, s in parts + attn) / count
                rows.append(
                    (
                        f"  (rest of RidgeMILABlock @{g}: residuals, SiLU, GELU)",
                        count,
                        block_s - inner,
                    )
                )
        blocks = sum(s for k, (c, s) in measured.items() if k.strip().startswith("RidgeMILABlock"))
        fpn = [v for k, v in measured.items() if k.startswith("SharedFPN")]
        if fpn:
            count, fpn_s = fpn[0]
            rows.append(("(rest of SharedFPN: pool, bilinear resize)", count, fpn_s - blocks))
        top = [(c, s) for k, (c, s) in measured.items() if not k.startswith(" ")]
        rows.append(("(sum of top-level components)", 1, sum(c * s for c, s in top)))

    print(f"\n=== {BACKEND}: WaveLiT-{args.size} at {r}x{r}, batch {BATCH} ===")
    print_table(rows, step_s)
    results["table"] = [
        {
            "component": n.strip(),
            "count": c,
            "ms_each": s * 1e3,
            "ms_total": c * s * 1e3,
            "share": c * s / step_s,
        }
        for n, c, s in rows
    ]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=float)
    return results


if __name__ == "__main__":
    main()
