"""Time and memory of one RidgeMILABlock training step versus the token count.

Compares the WaveLiT block (``attention="linear"``, ridge state, the default)
with the same block using quadratic softmax attention (``attention="softmax"``,
the baseline of paper Appendix B) at square token grids 16^2 .. 128^2.

Every (grid, attention) configuration runs in a fresh Python subprocess, so
the compiled program, the allocator and the process's resident-set high-water
mark belong to that configuration alone. One measurement is a full training
step: forward pass, the loss ``mean(y^2)`` and the gradients of every
trainable weight.

* JAX: ``jax.jit(jax.value_and_grad(loss))`` of ``block.stateless_call``,
  compiled ahead of time.
* TensorFlow: ``tf.function(jit_compile=True, autograph=False)`` around a
  ``GradientTape``.
* PyTorch: eager autograd (``loss.backward()``), which is what Keras runs by
  default on this backend.

Memory (see benchmarks/README.md):

* ``step_rss_mb`` (every backend): growth of the process's resident set
  during the timed steps. After warm-up the kernel's high-water mark is reset
  (``/proc/self/clear_refs``), the timed steps run, and the new high-water
  mark minus the resident set just before them is reported. glibc is told to
  serve every allocation above 128 KiB with ``mmap`` so freed buffers leave
  the resident set instead of being cached.
* ``xla_mb`` (JAX only): XLA's own buffer plan of the compiled step,
  ``argument + output + temp - alias`` bytes from
  ``compiled.memory_analysis()``. Deterministic; the primary memory figure on
  JAX.
* ``peak_rss_mb``: the process's total peak resident set (imports included).

Usage::

    KERAS_BACKEND=jax python benchmarks/scaling.py
    KERAS_BACKEND=torch python benchmarks/scaling.py --max-grid 64 --dim 64

Results go to ``benchmarks/results/scaling_<backend>.json``.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import metadata

from threads import limit_threads
from threads import thread_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_GRIDS = (16, 32, 64, 128)
ATTENTIONS = ("linear", "softmax")


# ---------------------------------------------------------------------------
# Memory probes (Linux /proc; every function degrades to None elsewhere).
# ---------------------------------------------------------------------------
def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_rss_high_water():
    """Resets VmHWM to the current VmRSS (Linux >= 4.0). True on success."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb():
    kb = _status_kb("VmHWM")
    if kb is None:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0


def _load_average():
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _mem_available_mb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------
# The backend-specific part: one training step of `block` on `x`.
# ---------------------------------------------------------------------------
def make_train_step(block, x):
    """Builds ``step()``: one forward + backward pass, finished on return.

    Returns ``(step, info)``; ``info`` holds ``compile_s`` (time to trace and
    compile, 0 for eager torch) and, on JAX, ``xla_mb`` and its parts.
    """
    import keras
    from keras import ops

    backend = keras.backend.backend()
    info = {}

    if backend == "jax":
        import jax

        trainable = [v.value for v in block.trainable_variables]
        non_trainable = [v.value for v in block.non_trainable_variables]
        x = jax.numpy.asarray(x)

        def loss_fn(trainable, non_trainable, x):
            y, _ = block.stateless_call(trainable, non_trainable, x, training=True)
            return ops.mean(ops.square(y))

        t0 = time.perf_counter()
        compiled = jax.jit(jax.value_and_grad(loss_fn)).lower(trainable, non_trainable, x).compile()
        info["compile_s"] = time.perf_counter() - t0
        info["step"] = "jax.jit(jax.value_and_grad(loss)), AOT-compiled"
        mem = compiled.memory_analysis()
        if mem is not None:
            parts = {
                "argument": mem.argument_size_in_bytes,
                "output": mem.output_size_in_bytes,
                "temp": mem.temp_size_in_bytes,
                "alias": mem.alias_size_in_bytes,
            }
            info["xla_bytes"] = parts
            info["xla_mb"] = (
                parts["argument"] + parts["output"] + parts["temp"] - parts["alias"]
            ) / 2**20

        def step():
            loss, grads = compiled(trainable, non_trainable, x)
            jax.block_until_ready((loss, grads))

        return step, info

    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.constant(x)
        variables = block.trainable_variables

        def build_tf_step(jit_compile):
            # autograph=False: the layers are traced as written, as on JAX.
            @tf.function(jit_compile=jit_compile, autograph=False)
            def tf_step(x):
                with tf.GradientTape() as tape:
                    loss = ops.mean(ops.square(block(x, training=True)))
                return loss, tape.gradient(loss, variables)

            return tf_step

        t0 = time.perf_counter()
        try:
            tf_step = build_tf_step(True)
            tf_step(x)[0].numpy()  # traces, then XLA compiles on this call
            info["step"] = "tf.function(jit_compile=True)"
        except tf.errors.OpError as e:
            # XLA cannot compile every graph (e.g. the gradient of a
            # tf.while_loop without a maximum trip count): fall back to a
            # plain graph function and record why.
            first = str(e).strip().splitlines()[0][:200]
            info["step"] = f"tf.function(jit_compile=False); XLA failed: {first}"
            tf_step = build_tf_step(False)
            tf_step(x)[0].numpy()
        info["compile_s"] = time.perf_counter() - t0

        def step():
            loss, grads = tf_step(x)
            loss.numpy()  # CPU execution is synchronous; this is a barrier
            del grads

        return step, info

    if backend == "torch":
        import torch

        x = torch.as_tensor(x)
        params = [v.value for v in block.trainable_variables]
        info["compile_s"] = 0.0
        info["step"] = "eager autograd"

        def step():
            for p in params:
                p.grad = None
            loss = ops.mean(ops.square(block(x, training=True)))
            loss.backward()

        return step, info

    raise ValueError(f"Unsupported Keras backend {backend!r}.")


# ---------------------------------------------------------------------------
# Worker: one configuration, in its own process.
# ---------------------------------------------------------------------------
def run_worker(args):
    import keras
    import numpy as np

    if args.threads:
        limit_threads(keras.backend.backend(), args.threads)

    sys.path.insert(0, ROOT)
    from keras_wavelit.layers import RidgeMILABlock

    keras.utils.set_random_seed(0)
    g = args.grid
    block = RidgeMILABlock(num_heads=args.heads, attention=args.attention)
    x = np.random.default_rng(0).standard_normal((args.batch, g, g, args.dim))
    x = x.astype("float32")
    block.build(x.shape)

    step, info = make_train_step(block, x)
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        step()
    warm_s = (time.perf_counter() - t0) / max(args.warmup, 1)

    import gc

    gc.collect()
    reset = _reset_rss_high_water()
    rss_before = _status_kb("VmRSS")
    repeats = min(
        args.max_repeats,
        max(args.min_repeats, math.ceil(args.target_seconds / max(warm_s, 1e-6))),
    )
    times, cpu_times = [], []
    load_before = _load_average()
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu_times.append((time.process_time() - c0) * 1e3)
    hwm = _status_kb("VmHWM")
    result = {
        "grid": g,
        "tokens": g * g,
        "attention": args.attention,
        "status": "ok",
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "times_ms": times,
        "cpu_ms": statistics.median(cpu_times),
        "load_average": [load_before, _load_average()],
        "repeats": repeats,
        "compile_s": info.get("compile_s"),
        "step": info.get("step"),
        "xla_mb": info.get("xla_mb"),
        "xla_bytes": info.get("xla_bytes"),
        "step_rss_mb": (
            (hwm - rss_before) / 1024.0
            if reset and hwm is not None and rss_before is not None
            else None
        ),
        "peak_rss_mb": _peak_rss_mb(),
        "params": int(sum(np.prod(v.shape) for v in block.trainable_variables)),
    }
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------
def machine_description(backend):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    packages = {
        "jax": ("keras", "jax", "jaxlib"),
        "tensorflow": ("keras", "tensorflow", "tensorflow-cpu"),
        "torch": ("keras", "torch"),
    }.get(backend, ("keras",))
    for pkg in packages + ("numpy",):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 2**20
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        commit = (
            subprocess.run(
                ["git", "-C", ROOT, "describe", "--always", "--dirty"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "git": commit,
        "cpu": cpu,
        "machine": platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gb": None if mem is None else round(mem, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "backend": backend,
        "versions": versions,
    }


def softmax_estimate_mb(grid, batch, heads):
    """Rough floor of a softmax step's memory: ~4 (N x N) float32 maps/head."""
    n = grid * grid
    return 4 * batch * heads * n * n * 4 / 2**20


def run_config(args, backend, grid, attention, previous=None):
    if previous is not None and previous.get("status") == "ok":
        # Predict the step time from the previous grid: N^2 for softmax
        # attention, N for linear attention.
        power = 2 if attention == "softmax" else 1
        growth = (grid * grid / previous["tokens"]) ** power
        predicted = previous["median_ms"] * growth / 1e3
        if predicted > args.max_step_seconds:
            return {
                "grid": grid,
                "tokens": grid * grid,
                "attention": attention,
                "status": "skipped",
                "reason": (
                    f"predicted {predicted:.0f} s per step (previous grid x "
                    f"{growth:.0f}) > --max-step-seconds {args.max_step_seconds:g}"
                ),
            }
    if attention == "softmax":
        need = softmax_estimate_mb(grid, args.batch, args.heads)
        avail = _mem_available_mb()
        if avail is not None and need > 0.8 * avail:
            return {
                "grid": grid,
                "tokens": grid * grid,
                "attention": attention,
                "status": "skipped",
                "reason": (
                    f"estimated {need:.0f} MB of attention maps > 80% of the "
                    f"{avail:.0f} MB available"
                ),
            }
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--grid",
        str(grid),
        "--attention",
        attention,
        "--dim",
        str(args.dim),
        "--heads",
        str(args.heads),
        "--batch",
        str(args.batch),
        "--warmup",
        str(args.warmup),
        "--min-repeats",
        str(args.min_repeats),
        "--max-repeats",
        str(args.max_repeats),
        "--target-seconds",
        str(args.target_seconds),
    ]
    env = dict(os.environ, KERAS_BACKEND=backend)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Fixed mmap threshold: large buffers are returned to the OS when freed,
    # so the resident set follows the live working set (see module doc).
    env.setdefault("MALLOC_MMAP_THRESHOLD_", "131072")
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    if args.threads:
        cmd += ["--threads", str(args.threads)]
        thread_env(env, backend, args.threads)
    failed = {"grid": grid, "tokens": grid * grid, "attention": attention}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return dict(failed, status="timeout", reason=f"> {args.timeout} s")
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout)[-2000:]
    oom = proc.returncode in (-9, 137) or "memory" in tail.lower()
    last_line = tail.strip().splitlines()[-1] if tail.strip() else ""
    return dict(
        failed,
        status="oom" if oom else "error",
        reason=f"exit code {proc.returncode}: {last_line}",
    )


def loglog_slope(points):
    """Least-squares slope of log(time) against log(tokens)."""
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((a - mx) ** 2 for a in xs)
    return sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sxx


def summarize(results, grids):
    by = {(r["grid"], r["attention"]): r for r in results}
    summary = {}
    for attention in ATTENTIONS:
        pts = [
            (g * g, by[(g, attention)]["median_ms"])
            for g in grids
            if by.get((g, attention), {}).get("status") == "ok"
        ]
        ratios = {}
        for (n0, t0), (n1, t1) in zip(pts, pts[1:]):
            g0, g1 = int(math.isqrt(n0)), int(math.isqrt(n1))
            ratios[f"{g1}^2/{g0}^2"] = t1 / t0
        cpu = [
            (g * g, by[(g, attention)]["cpu_ms"])
            for g in grids
            if by.get((g, attention), {}).get("status") == "ok"
        ]
        summary[attention] = {
            "time_ratios": ratios,
            "slope_all": loglog_slope(pts),
            "slope_last_two": loglog_slope(pts[-2:]) if len(pts) >= 2 else None,
            "cpu_slope_all": loglog_slope(cpu),
            "cpu_slope_last_two": loglog_slope(cpu[-2:]) if len(cpu) >= 2 else None,
        }
    return summary


def _fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def print_table(results, grids, backend, summary):
    by = {(r["grid"], r["attention"]): r for r in results}
    mem_key = "xla_mb" if backend == "jax" else "step_rss_mb"
    mem_name = "XLA plan" if backend == "jax" else "step RSS"
    head = (
        f"{'grid':>8} {'tokens':>7} {'linear ms':>10} {'softmax ms':>11} "
        f"{'lin MB':>8} {'soft MB':>9} {'lin RSS':>8} {'soft RSS':>9} "
        f"{'lin x prev':>10} {'soft x prev':>11} {'soft/lin':>8}"
    )
    print(
        f"\nRidgeMILABlock training step, backend={backend} "
        f"(MB = {mem_name}; RSS = step RSS growth, MB)"
    )
    print(head)
    print("-" * len(head))
    prev = {}
    for g in grids:
        row = {}
        for a in ATTENTIONS:
            r = by.get((g, a), {})
            ok = r.get("status") == "ok"
            row[a] = r
            row[a + "_ms"] = r.get("median_ms") if ok else None
            row[a + "_ratio"] = row[a + "_ms"] / prev[a] if ok and prev.get(a) else None

        def ms(a):
            if row[a + "_ms"] is not None:
                return f"{row[a + '_ms']:.1f}"
            return row[a].get("status", "-")

        print(
            f"{str(g) + '^2':>8} {g * g:>7} {ms('linear'):>10} {ms('softmax'):>11} "
            f"{_fmt(row['linear'].get(mem_key), '.1f'):>8} "
            f"{_fmt(row['softmax'].get(mem_key), '.1f'):>9} "
            f"{_fmt(row['linear'].get('step_rss_mb'), '.1f'):>8} "
            f"{_fmt(row['softmax'].get('step_rss_mb'), '.1f'):>9} "
            f"{_fmt(row['linear_ratio'], '.2f'):>10} "
            f"{_fmt(row['softmax_ratio'], '.2f'):>11} "
            + (
                f"{row['softmax_ms'] / row['linear_ms']:>8.2f}"
                if row["softmax_ms"] and row["linear_ms"]
                else f"{'-':>8}"
            )
        )
        for a in ATTENTIONS:
            if row[a + "_ms"] is not None:
                prev[a] = row[a + "_ms"]
    for a in ATTENTIONS:
        s = summary[a]
        print(
            f"log-log slope of {a} time vs tokens: all grids "
            f"{_fmt(s['slope_all'], '.2f')}, last two grids "
            f"{_fmt(s['slope_last_two'], '.2f')} (process CPU time: "
            f"{_fmt(s['cpu_slope_all'], '.2f')}, "
            f"{_fmt(s['cpu_slope_last_two'], '.2f')})"
        )
    for r in results:
        if r.get("status") != "ok":
            print(f"note: {r['attention']} {r['grid']}^2 {r['status']}: {r.get('reason')}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--max-grid", type=int, default=128, help="largest token grid side (default 128)"
    )
    p.add_argument(
        "--grids",
        type=int,
        nargs="*",
        default=None,
        help="explicit grid sides (default 16 32 64 128, capped by --max-grid)",
    )
    p.add_argument("--dim", type=int, default=64, help="token dimension (default 64)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps after compiling")
    p.add_argument("--min-repeats", type=int, default=5)
    p.add_argument("--max-repeats", type=int, default=30)
    p.add_argument(
        "--target-seconds",
        type=float,
        default=3.0,
        help="aim for this much timed work per configuration",
    )
    p.add_argument(
        "--max-step-seconds",
        type=float,
        default=20.0,
        help="skip a configuration whose step time, extrapolated from "
        "the previous grid (N for linear, N^2 for softmax), exceeds "
        "this (default 20)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="cap intra-op threads (torch.set_num_threads, TF intra/inter-op "
        "threads, OMP_NUM_THREADS; 1 also turns off XLA's "
        "multi-threaded Eigen on JAX); 0 = library defaults",
    )
    p.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before a configuration is abandoned"
    )
    p.add_argument("--attention", choices=ATTENTIONS + ("both",), default="both")
    p.add_argument(
        "--output",
        default=None,
        help="JSON path (default benchmarks/results/scaling_<backend>.json)",
    )
    # internal: one configuration in a subprocess
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--grid", type=int, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return
    backend = os.environ.get("KERAS_BACKEND", "jax")
    grids = sorted(g for g in (args.grids or DEFAULT_GRIDS) if g <= args.max_grid)
    attentions = ATTENTIONS if args.attention == "both" else (args.attention,)
    machine = machine_description(backend)
    print(
        f"backend {backend} on {machine['cpu']} ({machine['usable_cores']} cores), "
        f"dim {args.dim}, heads {args.heads}, batch {args.batch}, "
        f"threads {args.threads or 'default'}",
        flush=True,
    )
    results = []
    stopped = set()
    previous = {}
    t_start = time.perf_counter()
    for g in grids:
        for a in attentions:
            if a in stopped:
                results.append(
                    {
                        "grid": g,
                        "tokens": g * g,
                        "attention": a,
                        "status": "skipped",
                        "reason": "a smaller grid already failed",
                    }
                )
                continue
            r = run_config(args, backend, g, a, previous.get(a))
            results.append(r)
            previous[a] = r
            if r["status"] == "ok":
                print(
                    f"  {a:>7} {g:>4}^2: {r['median_ms']:9.1f} ms "
                    f"(min {r['min_ms']:.1f}, CPU {r['cpu_ms']:.1f}; x{r['repeats']}, "
                    f"compile {r['compile_s']:.1f} s, load {r['load_average']}), "
                    f"xla {_fmt(r.get('xla_mb'), '.1f')} MB, "
                    f"step RSS {_fmt(r.get('step_rss_mb'), '.1f')} MB",
                    flush=True,
                )
            else:
                print(f"  {a:>7} {g:>4}^2: {r['status']} ({r.get('reason')})", flush=True)
                stopped.add(a)
    summary = summarize(results, grids)
    print_table(results, grids, backend, summary)
    out = args.output or os.path.join(HERE, "results", f"scaling_{backend}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    record = {
        "benchmark": "RidgeMILABlock training step (forward + backward), linear vs softmax",
        "command": f"KERAS_BACKEND={backend} python benchmarks/scaling.py "
        + " ".join(a for a in (argv if argv is not None else sys.argv[1:])),
        "date": time.strftime("%Y-%m-%d"),
        "wall_s": round(time.perf_counter() - t_start, 1),
        "machine": machine,
        "config": {
            "dim": args.dim,
            "heads": args.heads,
            "batch": args.batch,
            "grids": grids,
            "warmup": args.warmup,
            "max_step_seconds": args.max_step_seconds,
            "threads": args.threads or "library default",
            "block": "RidgeMILABlock defaults (mlp_ratio 4, ridge, rope, kernel_gate, "
            "lepe, cpe, mila, mode reflect, solver gauss_jordan)",
            "loss": "mean(y**2)",
            "timing": "median wall time of one step after warm-up (median_ms); "
            "min_ms; cpu_ms = median process CPU time (all threads) per step; "
            "load_average = 1-min load before/after the timed steps",
            "memory": {
                "xla_mb": "JAX only: compiled.memory_analysis() argument + output + temp - alias",
                "step_rss_mb": "VmHWM during the timed steps minus VmRSS before them "
                "(high-water mark reset via /proc/self/clear_refs; "
                "MALLOC_MMAP_THRESHOLD_=131072)",
                "peak_rss_mb": "process peak resident set, imports included",
            },
        },
        "results": results,
        "summary": summary,
    }
    with open(out, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    print(f"\nwrote {os.path.relpath(out, os.getcwd())}")


if __name__ == "__main__":
    main()
