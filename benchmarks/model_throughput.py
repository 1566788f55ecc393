"""Training throughput and peak memory of the WaveLiT presets on each backend.

For every configuration (backend x preset x resolution x attention) a fresh
Python subprocess with ``KERAS_BACKEND`` set builds ``WaveLiT(size=...,
attention=...)`` with its default ``compile()`` (the paper's recipe: AdamW
with clipping and EMA, ``WaveletLoss(1, 1)``, VRMSE) and compiles the step
with XLA where the backend supports it: on JAX (Keras's ``jit_compile="auto"``)
and on TensorFlow (``jit_compile=True``; Keras's ``"auto"`` would turn XLA off
on a CPU-only machine, ``--tf-jit auto`` keeps that). PyTorch runs eagerly
(Keras's ``"auto"``; ``torch.compile`` is not used). The model
trains on a fixed random batch of 4 samples with 4 fields x 4 input steps
(``x: (4, 4, R, R, 4)``, ``y: (4, 1, R, R, 4)``) through
``model.train_on_batch``, which returns host floats and therefore waits for
the step to finish.

What is reported per configuration:

* ``compile_s``: wall time of the first training step (tracing and XLA
  compilation on JAX/TensorFlow, first eager step on PyTorch) minus the median
  step time. It is excluded from the throughput.
* ``median_step_s`` over ``--steps`` timed steps that follow ``--warmup``
  untimed steps, ``steps_per_s = 1 / median_step_s``; min, mean and every
  sample are kept in the JSON.
* ``peak_rss_mb``: the subprocess's peak resident set size,
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read after the timed steps
  (before anything else runs). It covers the whole process: interpreter,
  imports, compiled programs, parameters, optimizer state and the largest
  step's buffers. ``baseline_rss_mb`` is the same counter read just before
  the first step (imports, model and data), so ``peak - baseline`` is what
  training adds.
* JAX only: ``flops_per_step``, the floating-point operations of one
  forward + backward pass (the gradients of the stateless loss
  ``WaveletLoss(y, model.stateless_call(...))`` with respect to every
  trainable weight) counted by XLA's cost analysis of
  ``jax.jit(jax.value_and_grad(loss)).lower(...).compile()``;
  ``forward_backward_s`` is the median wall time of that bare program, for
  comparison with the full Keras step. The flop count does not
  count the optimizer update (a few operations per parameter) and counts the
  body of a loop once (the ridge solve's ``d``-step elimination loop, a
  negligible share). ``matmul_flops_per_s`` is this process's measured
  float32 ``jnp.dot`` throughput (``--matmul-size`` squared matrices, median
  of 10 runs), and ``efficiency = flops_per_step / median_step_s /
  matmul_flops_per_s``: the share of the machine's dense matmul rate that a
  training step achieves.

Softmax configurations whose attention maps alone would not fit in memory are
skipped (``status: "skipped"``); a configuration that fails or runs past
``--timeout`` is recorded with its status.

Usage::

    python benchmarks/model_throughput.py                       # full grid, all backends
    python benchmarks/model_throughput.py --quick                # 1.2M, 64^2, 3 steps
    python benchmarks/model_throughput.py --backends jax --sizes 1.2M,9.5M \\
        --resolutions 64,128 --attentions linear,softmax --steps 3

Results are printed as a table and written to
``benchmarks/results/model_throughput.json`` (``--output``) with the machine
(CPU model, cores, memory, OS) and package versions.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from records import machine_info
from threads import limit_threads
from threads import thread_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MARKER = "MODEL_THROUGHPUT_RESULT "
BATCH, FIELDS, STEPS_IN = 4, 4, 4


# ---------------------------------------------------------------------------
# Worker: one configuration, in its own process.
# ---------------------------------------------------------------------------
def _rss_mb():
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def _jax_flops(model, x, y, repeats=2):
    """XLA's flop count of one forward + backward pass, its compile time and
    the median wall time of ``repeats`` runs of that program."""
    import jax

    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]

    def loss_fn(trainable, non_trainable, x, y):
        y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        return model.loss(y, y_pred)

    t0 = time.perf_counter()
    compiled = jax.jit(jax.value_and_grad(loss_fn)).lower(tv, ntv, x, y).compile()
    seconds = time.perf_counter() - t0
    cost = compiled.cost_analysis()
    if isinstance(cost, (list, tuple)):
        cost = cost[0]
    # Time of the bare forward + backward program, for comparison with the
    # full Keras train step (which adds the optimizer update and the EMA).
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(tv, ntv, x, y))
        times.append(time.perf_counter() - t0)
    return float(cost["flops"]), seconds, statistics.median(times) if times else None


def _jax_matmul_rate(n, repeats=10):
    """Measured float32 ``jnp.dot`` throughput (flop/s) for ``n x n`` matrices."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
    dot = jax.jit(jnp.dot)
    dot(a, b).block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        dot(a, b).block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2.0 * n**3 / statistics.median(times), 2.0 * n**3 / min(times)


def worker(args):
    import keras
    import numpy as np

    backend = keras.backend.backend()
    limit_threads(backend, args.threads)
    sys.path.insert(0, ROOT)
    from keras_wavelit.models import WaveLiT

    keras.utils.set_random_seed(0)
    r = args.resolution
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, STEPS_IN, r, r, FIELDS)).astype("float32")
    y = rng.standard_normal((BATCH, 1, r, r, FIELDS)).astype("float32")
    model = WaveLiT(size=args.size, attention=args.attention)
    model.build(x.shape)
    if backend == "tensorflow" and args.tf_jit == "xla":
        # Keras's "auto" turns XLA off for TensorFlow on CPU-only machines.
        model.jit_compile = True
    out = {
        "backend": backend,
        "size": args.size,
        "resolution": r,
        "attention": args.attention,
        "params": int(model.count_params()),
        "tokens": (r // 2) ** 2,
        "jit_compile": str(model.jit_compile),
        "threads": args.threads or "library default",
    }
    baseline = _rss_mb()
    t0 = time.perf_counter()
    model.train_on_batch(x, y)
    first = time.perf_counter() - t0
    for _ in range(args.warmup):
        model.train_on_batch(x, y)
    times = []
    cpu0 = os.times()
    for _ in range(args.steps):
        t0 = time.perf_counter()
        logs = model.train_on_batch(x, y, return_dict=True)
        times.append(time.perf_counter() - t0)
    cpu1 = os.times()
    # Process CPU time (user + system, all threads) per timed step: a runtime
    # may run independent operations concurrently even with one intra-op
    # thread (XLA's CPU runtime on JAX does), so the cores used can exceed 1.
    cpu_per_step = ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / args.steps
    peak = _rss_mb()
    med = statistics.median(times)
    out.update(
        status="ok",
        first_step_s=first,
        compile_s=max(first - med, 0.0),
        median_step_s=med,
        min_step_s=min(times),
        mean_step_s=statistics.fmean(times),
        step_s=times,
        steps_per_s=1.0 / med,
        cpu_s_per_step=cpu_per_step,
        cores_used=cpu_per_step / statistics.fmean(times),
        baseline_rss_mb=baseline,
        peak_rss_mb=peak,
        final_loss=float(logs["loss"]),
        load_average=os.getloadavg()[0],
    )
    if backend == "jax":
        flops, flops_compile, grad_s = _jax_flops(model, x, y, repeats=args.grad_repeats)
        rate, best = _jax_matmul_rate(args.matmul_size)
        out.update(
            flops_per_step=flops,
            flops_compile_s=flops_compile,
            forward_backward_s=grad_s,
            achieved_flops_per_s=flops / med,
            matmul_size=args.matmul_size,
            matmul_flops_per_s=rate,
            matmul_best_flops_per_s=best,
            efficiency=flops / med / rate,
        )
    print(MARKER + json.dumps(out), flush=True)


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------
def _softmax_too_big(size, resolution):
    """Whether stored softmax attention maps alone exceed half the memory."""
    heads = {"1.2M": 4, "9.5M": 8}[size]
    depth = {"1.2M": 9, "9.5M": 10}[size]
    n = (resolution // 2) ** 2
    # Scores and probabilities kept for the backward pass, level 0 of every
    # block (the pyramid level adds 1/16 of that).
    need = 2 * BATCH * heads * n * n * 4 * depth * (1 + 1 / 16)
    try:
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError):
        return False, need
    return need > 0.5 * avail, need


def run_config(args, backend, size, resolution, attention):
    base = {
        "backend": backend,
        "size": size,
        "resolution": resolution,
        "attention": attention,
        "threads": args.threads or "library default",
    }
    if attention == "softmax":
        too_big, need = _softmax_too_big(size, resolution)
        if too_big:
            return dict(
                base, status="skipped", reason=f"attention maps need ~{need / 2**30:.0f} GiB"
            )
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--size",
        size,
        "--resolution",
        str(resolution),
        "--attention",
        attention,
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--matmul-size",
        str(args.matmul_size),
        "--threads",
        str(args.threads),
        "--grad-repeats",
        str(args.grad_repeats),
        "--tf-jit",
        args.tf_jit,
    ]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    thread_env(env, backend, args.threads)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return dict(base, status="timeout", wall_s=time.perf_counter() - t0)
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER) :])
            result["wall_s"] = time.perf_counter() - t0
            return result
    status = "oom" if proc.returncode in (-9, 137) else "error"
    return dict(base, status=status, returncode=proc.returncode, stderr=proc.stderr[-2000:])


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(results):
    head = (
        "| backend | threads | preset | params | grid | attention | steps/s | step (s) "
        "| CPU s/step | compile (s) | peak RSS (MB) | GFLOP/step | efficiency | load |"
    )
    lines = [head, "|" + "---|" * 14]
    for r in results:
        ok = r.get("status") == "ok"
        flops = r.get("flops_per_step")
        eff = r.get("efficiency")
        lines.append(
            "| {} | {} | {} | {} | {}² | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                r["backend"],
                "all" if r.get("threads", "library default") == "library default" else r["threads"],
                r["size"],
                f"{r['params']:,}" if "params" in r else "-",
                r["resolution"],
                r["attention"],
                _fmt(r.get("steps_per_s"), ".3f") if ok else r.get("status"),
                _fmt(r.get("median_step_s"), ".3f"),
                _fmt(r.get("cpu_s_per_step"), ".2f"),
                _fmt(r.get("compile_s"), ".1f"),
                _fmt(r.get("peak_rss_mb"), ".0f"),
                "-" if flops is None else f"{flops / 1e9:.1f}",
                "-" if eff is None else f"{100 * eff:.1f}%",
                _fmt(r.get("load_average"), ".1f"),
            )
        )
    return "\n".join(lines)


def fastest_summary(results):
    """Per (preset, grid, attention): the fastest backend and its lead."""
    groups = {}
    for r in results:
        if r.get("status") == "ok":
            key = (r["size"], r["resolution"], r["attention"], str(r.get("threads")))
            groups.setdefault(key, []).append(r)
    lines = []
    for (size, res, att, threads), rs in sorted(groups.items()):
        if len(rs) < 2:
            continue
        rs = sorted(rs, key=lambda r: r["median_step_s"])
        best = rs[0]
        lines.append(
            f"{size} {res}² {att} (threads: {threads}): {best['backend']} fastest, "
            + ", ".join(
                f"{r['backend']} x{r['median_step_s'] / best['median_step_s']:.2f} slower"
                for r in rs[1:]
            )
        )
        if all("cpu_s_per_step" in r for r in rs):
            rs = sorted(rs, key=lambda r: r["cpu_s_per_step"])
            best = rs[0]
            lines.append(
                f"  by CPU time per step: {best['backend']} least, "
                + ", ".join(
                    f"{r['backend']} x{r['cpu_s_per_step'] / best['cpu_s_per_step']:.2f}"
                    for r in rs[1:]
                )
            )
    return lines


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="WaveLiT training throughput and peak memory.")
    p.add_argument("--backends", default="jax,tensorflow,torch")
    p.add_argument("--sizes", default="1.2M,9.5M")
    p.add_argument("--resolutions", default="64,128")
    p.add_argument("--attentions", default="linear,softmax")
    p.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps after the first")
    p.add_argument("--quick", action="store_true", help="1.2M at 64², linear, 3 steps, 1 warm-up")
    p.add_argument(
        "--threads", type=int, default=0, help="cap intra-op threads (0: library default)"
    )
    p.add_argument("--matmul-size", type=int, default=2048, help="side of the JAX matmul probe")
    p.add_argument(
        "--tf-jit",
        choices=("xla", "auto"),
        default="xla",
        help="TensorFlow: force XLA (jit_compile=True, default) or keep Keras's "
        "'auto' (no XLA on CPU-only machines)",
    )
    p.add_argument(
        "--grad-repeats",
        type=int,
        default=2,
        help="JAX: timed runs of the bare forward + backward program",
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds per configuration")
    p.add_argument("--output", default=os.path.join(HERE, "results", "model_throughput.json"))
    p.add_argument(
        "--append",
        action="store_true",
        help="merge into an existing --output (a configuration measured again "
        "replaces the old result, which moves to 'superseded')",
    )
    # Worker mode (internal).
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--size", help=argparse.SUPPRESS)
    p.add_argument("--resolution", type=int, help=argparse.SUPPRESS)
    p.add_argument("--attention", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.resolutions, args.attentions = "1.2M", "64", "linear"
        args.steps, args.warmup = 3, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    backends = [b for b in args.backends.split(",") if b]
    sizes = [s for s in args.sizes.split(",") if s]
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    attentions = [a for a in args.attentions.split(",") if a]
    info = machine_info(keras_backend=False)
    print(
        f"{info['cpu']}, {info['usable_cores']} cores, {info['memory_gib']} GiB; "
        f"steps {args.steps} after {args.warmup} warm-up; threads {args.threads or 'default'}",
        flush=True,
    )
    results = []
    for backend in backends:
        for size in sizes:
            for res in resolutions:
                for att in attentions:
                    r = run_config(args, backend, size, res, att)
                    results.append(r)
                    msg = f"{backend:10s} {size:5s} {res:4d}² {att:8s} {r.get('status')}"
                    if r.get("status") == "ok":
                        msg += (
                            f"  {r['median_step_s']:.3f} s/step, compile {r['compile_s']:.1f} s, "
                            f"peak {r['peak_rss_mb']:.0f} MB"
                        )
                        if "efficiency" in r:
                            msg += (
                                f", {r['flops_per_step'] / 1e9:.1f} GFLOP/step, "
                                f"matmul {r['matmul_flops_per_s'] / 1e9:.1f} GFLOP/s, "
                                f"efficiency {100 * r['efficiency']:.1f}%"
                            )
                    elif r.get("stderr"):
                        msg += "\n" + r["stderr"][-600:]
                    print(msg, flush=True)

    record = {
        "benchmark": "model_throughput",
        "batch": BATCH,
        "fields": FIELDS,
        "input_steps": STEPS_IN,
        "steps": args.steps,
        "warmup": args.warmup,
        "threads": args.threads or "library default",
        "machine": info,
        "results": results,
    }
    if args.append and os.path.exists(args.output):
        with open(args.output) as f:
            old = json.load(f)

        def key(r):
            return (
                r["backend"],
                r["size"],
                r["resolution"],
                r["attention"],
                str(r.get("threads", "library default")),
            )

        new_keys = {key(r) for r in results}
        record["results"] = [r for r in old.get("results", []) if key(r) not in new_keys] + results
        # Replaced results are kept, not lost.
        record["superseded"] = old.get("superseded", []) + [
            r for r in old.get("results", []) if key(r) in new_keys
        ]
        for k, v in old.items():
            record.setdefault(k, v)
    record.setdefault("runs", [])
    record["runs"].append(
        {
            "argv": sys.argv[1:],
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "steps": args.steps,
            "warmup": args.warmup,
        }
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(record, f, indent=2)
    print()
    print(table(record["results"]))
    for line in fastest_summary(record["results"]):
        print(line)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
