"""Where the compile time of a WaveLiT training step goes (JAX).

The first training step of `WaveLiT(size="1.2M")` on JAX spends a minute
before any arithmetic runs. This script splits that time, in one fresh
subprocess per configuration:

* ``trace_s``: Python tracing of the forward + backward program
  (``jax.jit(jax.value_and_grad(loss)).trace(...)``, the loss being the
  model's `WaveletLoss` of ``model.stateless_call``): the cost of Keras's
  layer calls and ``keras.ops`` dispatch, paid once per program;
* ``lower_s``: lowering the traced program to StableHLO;
* ``xla_compile_s``: XLA's compilation of it (HLO passes and LLVM code
  generation for the CPU);
* ``hlo_lines``: the size of the lowered program;
* ``first_step_s`` and ``step_s``: the wall time of the first and the
  median of three later ``model.train_on_batch`` calls of the same model
  (the Keras step also traces and compiles the optimizer update and the
  metrics, so ``first_step_s`` exceeds the sum of the three parts).

Configurations vary the depth (the number of ``SharedFPN(RidgeMILABlock)``
blocks: the intercept of compile time against depth is the cost that a
smaller model does not remove), the CPU fast paths
(``keras_wavelit.config.set_fast_paths``) and XLA flags. Input noise is off
(``compile(input_noise=0)``) so that the program is the same as before the
noise became part of the default recipe.

Usage::

    KERAS_BACKEND=jax python benchmarks/compile_time.py               # depths 1, 3, 9
    KERAS_BACKEND=jax python benchmarks/compile_time.py --depths 9 \\
        --fast-paths auto,off --xla-flags "","--xla_backend_optimization_level=0"

Writes ``benchmarks/results/compile_time.{json,md}`` (``--stem``) with the
machine and its load average. Wall times of a loaded machine are not idle
numbers; compare rows of one run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from records import machine_info
from records import machine_line
from records import write_record

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(args):
    import jax
    import numpy as np

    from keras_wavelit import config as wavelit_config
    from keras_wavelit.models import WaveLiT

    wavelit_config.set_fast_paths({"auto": "auto", "on": True, "off": False}[args.fast_paths])
    rng = np.random.default_rng(0)
    r = args.resolution
    x = rng.standard_normal((4, 4, r, r, 4)).astype("float32")
    y = rng.standard_normal((4, 1, r, r, 4)).astype("float32")
    model = WaveLiT(size=args.size, depth=args.depth)
    model.compile(input_noise=0.0)
    model.build(x.shape)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    loss_fn = model.loss

    def loss(trainable, non_trainable, x, y):
        out, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, out)

    program = jax.jit(jax.value_and_grad(loss))
    t = time.perf_counter()
    traced = program.trace(trainable, non_trainable, x, y)
    trace_s = time.perf_counter() - t
    t = time.perf_counter()
    lowered = traced.lower()
    lower_s = time.perf_counter() - t
    t = time.perf_counter()
    lowered.compile()
    xla_compile_s = time.perf_counter() - t
    hlo_lines = lowered.as_text().count("\n")

    t = time.perf_counter()
    model.train_on_batch(x, y)
    first_step_s = time.perf_counter() - t
    steps = []
    for _ in range(3):
        t = time.perf_counter()
        model.train_on_batch(x, y)
        steps.append(time.perf_counter() - t)
    print(
        "RESULT "
        + json.dumps(
            {
                "params": int(model.count_params()),
                "trace_s": trace_s,
                "lower_s": lower_s,
                "xla_compile_s": xla_compile_s,
                "hlo_lines": hlo_lines,
                "first_step_s": first_step_s,
                "step_s": statistics.median(steps),
                "load_average": list(os.getloadavg()),
            }
        ),
        flush=True,
    )


def run_config(args, depth, fast_paths, xla_flags):
    env = dict(os.environ, KERAS_BACKEND="jax", XLA_FLAGS=xla_flags)
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--size",
        args.size,
        "--resolution",
        str(args.resolution),
        "--depth",
        str(depth),
        "--fast-paths",
        fast_paths,
    ]
    row = {"depth": depth, "fast_paths": fast_paths, "xla_flags": xla_flags}
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return dict(row, status="timeout")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        return dict(row, status="failed", error=proc.stderr[-2000:])
    return dict(row, status="ok", **json.loads(lines[-1][len("RESULT ") :]))


def markdown(result):
    head = (
        f"# Compile time of a WaveLiT training step (JAX, {result['size']} "
        f"architecture, {result['resolution']}², batch 4)\n\n"
        "Seconds. trace, lower, XLA compile: the forward + backward program of "
        "the model and its `WaveletLoss`; first step and step: "
        "`model.train_on_batch` (optimizer and metrics included).\n\n"
        f"{machine_line(result['machine'])}\n\n"
        "| depth | params | fast paths | XLA flags | trace | lower | XLA compile | "
        "HLO lines | first step | step |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in result["rows"]:
        if r["status"] != "ok":
            rows.append(
                f"| {r['depth']} | | {r['fast_paths']} | `{r['xla_flags']}` | {r['status']} "
                "| | | | | |"
            )
            continue
        rows.append(
            f"| {r['depth']} | {r['params']:,} | {r['fast_paths']} | `{r['xla_flags'] or '-'}` "
            f"| {r['trace_s']:.1f} | {r['lower_s']:.1f} | {r['xla_compile_s']:.1f} "
            f"| {r['hlo_lines']:,} | {r['first_step_s']:.1f} | {r['step_s']:.2f} |"
        )
    return head + "\n".join(rows) + f"\n\nRerun: `{result['command']}`.\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="1.2M")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--depths", default="1,3,9")
    p.add_argument("--fast-paths", default="auto", help="comma list of auto, on, off")
    p.add_argument("--xla-flags", default="", help="comma list of XLA_FLAGS values")
    p.add_argument("--timeout", type=float, default=1200)
    p.add_argument("--stem", default="compile_time")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--depth", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return 0
    result = {
        "benchmark": "compile_time",
        "size": args.size,
        "resolution": args.resolution,
        "machine": machine_info(keras_backend=False),
        "command": "KERAS_BACKEND=jax python benchmarks/compile_time.py " + " ".join(sys.argv[1:]),
        "rows": [],
    }
    for depth in [int(d) for d in args.depths.split(",")]:
        for fast_paths in args.fast_paths.split(","):
            for flags in args.xla_flags.split(","):
                row = run_config(args, depth, fast_paths, flags)
                print(json.dumps({k: v for k, v in row.items() if k != "error"}), flush=True)
                if row["status"] == "failed":
                    print(row["error"], file=sys.stderr)
                result["rows"].append(row)
    write_record(os.path.join(HERE, "results"), args.stem, result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
