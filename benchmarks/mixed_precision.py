"""Mixed precision (``mixed_bfloat16``) against float32, per backend, on this CPU.

For each backend a fresh Python subprocess with ``KERAS_BACKEND`` set runs
both parts below in one process (same threads, same data), float32 first:

**Speed.** ``WaveLiT(size="1.2M")`` with its default ``compile()`` (the
recipe: AdamW with clipping and EMA, ``WaveletLoss``, VRMSE) is built once
under ``keras.config.set_dtype_policy("float32")`` and once under
``"mixed_bfloat16"`` (``wavelit train --mixed-precision on``), and trains on a
fixed random batch of 4 samples with 4 fields x 4 input steps at 64x64
(``x: (4, 4, 64, 64, 4)``, ``y: (4, 1, 64, 64, 4)``, the batch of
``benchmarks/model_throughput.py``) through ``model.train_on_batch``. The
step compiles as ``wavelit train`` compiles it (Keras's ``jit_compile="auto"``):
with XLA on JAX, as a ``tf.function`` without XLA on TensorFlow on a CPU
(``--tf-jit xla``: with XLA, as in ``model_throughput.py``), eagerly on
PyTorch. After each model's
first step and ``--warmup`` untimed steps, the two models take turns for
``--steps`` timed steps each (float32, bfloat16, float32, ...), so a change
of machine load hits both alike. Reported: the median step time of each,
``speedup = float32 median / bfloat16 median``, and the compile time of
each (first step minus its median step).

**Accuracy at equal steps.** A small WaveLiT (``--accuracy-model``, default
dim 32, depth 2, 4 heads, one pyramid level) trains ``--accuracy-steps``
optimizer steps of batch 8 on an embedded dataset
(``vs_well_baselines.prepare_dataset``: 32x32 ``acoustic_scattering_2d``
simulated once under ``benchmarks/results/raw/mixed_precision``), from the
same initial weights and on the same batches (``BatchOrder``), under each
policy. Score: one-step VRMSE on the test split (The Well's VRMSE in
physical units, mean over test windows, as ``vs_well_baselines.py``) and
``ratio = bfloat16 VRMSE / float32 VRMSE``. ``--seed-spread`` adds a
float32 run from another seed, the scale of run-to-run differences.

The record holds the machine (``records.machine_info``, load average at the
start) and the load average after each backend, and whether the CPU has
AVX512-BF16 (``keras_wavelit.cli.precision.cpu_has_avx512_bf16``).

    nice python benchmarks/mixed_precision.py                 # all backends (~30 min, 2 cores)
    nice python benchmarks/mixed_precision.py --quick         # smoke run (3 steps, 20 steps)
    python benchmarks/mixed_precision.py --backends jax --steps 5

Writes ``benchmarks/results/mixed_precision[_quick].{json,md}``.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402
from records import write_record  # noqa: E402
from threads import limit_threads  # noqa: E402
from threads import thread_env  # noqa: E402

MARKER = "MIXED_PRECISION_RESULT "
POLICIES = ("float32", "mixed_bfloat16")
BATCH, FIELDS, STEPS_IN, RESOLUTION = 4, 4, 4, 64

DATA = {
    "full": dict(resolution=32, trajectories=16, time_steps=40, max_test_windows=64),
    "quick": dict(resolution=32, trajectories=8, time_steps=36, max_test_windows=16),
}


# ---------------------------------------------------------------------------
# Worker: every measurement of one backend, in its own process.
# ---------------------------------------------------------------------------
def _build(policy, backend, tf_jit="auto", **kwargs):
    import keras

    from keras_wavelit.models import WaveLiT

    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(kwargs.pop("seed", 0))
        model = WaveLiT(**kwargs)
    finally:
        keras.config.set_dtype_policy("float32")
    if backend == "tensorflow" and tf_jit == "xla":
        # Keras's "auto" (what `wavelit train` runs) turns XLA off for
        # TensorFlow on CPU-only machines.
        model.jit_compile = True
    return model


def speed(args, backend):
    import numpy as np

    rng = np.random.default_rng(0)
    r = RESOLUTION
    x = rng.standard_normal((BATCH, STEPS_IN, r, r, FIELDS)).astype("float32")
    y = rng.standard_normal((BATCH, 1, r, r, FIELDS)).astype("float32")
    models, first = {}, {}
    for policy in POLICIES:
        model = _build(policy, backend, args.tf_jit, size=args.size)
        model.build(x.shape)
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        first[policy] = time.perf_counter() - t0
        for _ in range(args.warmup):
            model.train_on_batch(x, y)
        models[policy] = model
        print(f"  {policy}: first step {first[policy]:.1f} s", flush=True)
    times = {p: [] for p in POLICIES}
    losses = {}
    for _ in range(args.steps):
        for policy in POLICIES:
            t0 = time.perf_counter()
            logs = models[policy].train_on_batch(x, y, return_dict=True)
            times[policy].append(time.perf_counter() - t0)
            losses[policy] = float(logs["loss"])
    out = {"size": args.size, "params": int(models["float32"].count_params())}
    for policy in POLICIES:
        med = statistics.median(times[policy])
        out[policy] = dict(
            first_step_s=first[policy],
            compile_s=max(first[policy] - med, 0.0),
            median_step_s=med,
            min_step_s=min(times[policy]),
            step_s=times[policy],
            final_loss=losses[policy],
            output_dtype=str(models[policy].compute_dtype),
        )
    out["speedup"] = out["float32"]["median_step_s"] / out["mixed_bfloat16"]["median_step_s"]
    return out


def one_step_vrmse(model, test_windows):
    from vs_well_baselines import evaluate_one_step

    return float(evaluate_one_step(model, test_windows).score("1:1", "vrmse", "mean"))


def accuracy(args, backend):
    from vs_well_baselines import BatchOrder
    from vs_well_baselines import prepare_dataset
    from vs_well_baselines import train_wavelit

    cfg = DATA["quick" if args.quick else "full"]
    _, (x, c, y, _), test_windows, _, mode = prepare_dataset(
        args.dataset, args.work, cfg, args.seed, verbose=0
    )
    sample = x[:1] if c is None else {"fields": x[:1], "constants": c[:1]}
    model_cfg = json.loads(args.accuracy_model)
    runs = [(p, args.seed) for p in POLICIES]
    if args.seed_spread:
        runs.append(("float32", args.seed + 1))
    rows = []
    for policy, seed in runs:
        model = _build(policy, backend, args.tf_jit, boundary=mode, seed=seed, **model_cfg)
        model(sample)
        jit = model.jit_compile
        model.compile(learning_rate=args.learning_rate)
        model.jit_compile = jit
        order = BatchOrder(len(x), args.accuracy_batch, args.accuracy_steps, seed)
        timing = train_wavelit(model, (x, c, y), order)
        vrmse = one_step_vrmse(model, test_windows)
        rows.append(dict(policy=policy, seed=seed, one_step_vrmse=vrmse, **timing))
        print(
            f"  {policy} seed {seed}: one-step VRMSE {vrmse:.4f}, "
            f"{timing['train_seconds']:.0f} s for {timing['steps']} steps",
            flush=True,
        )
    out = {
        "dataset": args.dataset,
        "data": cfg,
        "model": model_cfg,
        "params": int(sum(math.prod(v.shape) for v in model.trainable_weights)),
        "steps": args.accuracy_steps,
        "batch_size": args.accuracy_batch,
        "learning_rate": args.learning_rate,
        "runs": rows,
    }
    out["ratio"] = rows[1]["one_step_vrmse"] / rows[0]["one_step_vrmse"]
    if args.seed_spread:
        out["seed_ratio"] = rows[2]["one_step_vrmse"] / rows[0]["one_step_vrmse"]
    return out


def bf16_support(backend):
    """What the backend reports about bfloat16 on this CPU."""
    if backend == "torch":
        import torch

        try:
            return {"torch_mkldnn_bf16": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())}
        except (AttributeError, RuntimeError):
            return {}
    return {}


def worker(args):
    import keras

    backend = keras.backend.backend()
    limit_threads(backend, args.threads)
    from keras_wavelit.config import device_platform

    out = {
        "backend": backend,
        "device": device_platform(),
        "threads": args.threads or "default",
        "tf_jit": args.tf_jit if backend == "tensorflow" else None,
    }
    out.update(bf16_support(backend))
    if not args.skip_speed:
        out["speed"] = speed(args, backend)
        out["load_after_speed"] = os.getloadavg()[0]
        print(MARKER + json.dumps(out), flush=True)  # kept if the accuracy part fails
    if not args.skip_accuracy:
        out["accuracy"] = accuracy(args, backend)
    out["load_average"] = list(os.getloadavg())
    print(MARKER + json.dumps(out), flush=True)


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------
def run_backend(args, argv, backend):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + argv
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([ROOT, HERE, env.get("PYTHONPATH", "")])
    thread_env(env, backend, args.threads)
    t0 = time.perf_counter()
    # stderr goes to a temporary file (a pipe read only at the end could fill up).
    err = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    result = None
    deadline = t0 + args.timeout
    for line in proc.stdout:  # the worker's progress, live
        if line.startswith(MARKER):
            result = dict(result or {}, **json.loads(line[len(MARKER) :]))
        else:
            print("  " + line.rstrip(), flush=True)
        if time.perf_counter() > deadline:
            proc.kill()
            break
    proc.wait()
    err.seek(0)
    stderr = err.read()
    err.close()
    wall = time.perf_counter() - t0
    if result is not None:
        # "partial": the speed part finished, the accuracy part did not.
        complete = proc.returncode == 0 and ("accuracy" in result or args.skip_accuracy)
        result.update(status="ok" if complete else "partial", wall_s=wall)
        if not complete:
            result["stderr"] = stderr[-3000:]
        return result
    status = "timeout" if wall > args.timeout else "error"
    return {
        "backend": backend,
        "status": status,
        "returncode": proc.returncode,
        "stderr": stderr[-3000:],
        "wall_s": wall,
    }


def _f(v, spec):
    return "-" if v is None else format(v, spec)


def markdown(record):
    lines = [
        "# Mixed precision (`mixed_bfloat16`) against float32",
        "",
        machine_line(record["machine"]),
        f"CPU flag `avx512_bf16`: {'yes' if record['avx512_bf16'] else 'no'}.",
        "",
        f"## Training step, WaveLiT-{record['size']}, {RESOLUTION}x{RESOLUTION}, batch {BATCH}, "
        f"{FIELDS} fields x {STEPS_IN} input steps",
        "",
        f"Median of {record['steps']} timed steps per policy (after {record['warmup']} warm-up "
        "steps, the two models alternating in one process); compile: first step minus the "
        "median step. XLA on JAX, TensorFlow as `--tf-jit` says (auto: tf.function "
        "without XLA on a CPU), eager PyTorch.",
        "",
        "| backend | float32 step (s) | bfloat16 step (s) | speedup | float32 compile (s) "
        "| bfloat16 compile (s) | load after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in record["results"]:
        s = r.get("speed")
        if not s:
            lines.append(f"| {r['backend']} | {r.get('status')} | | | | | |")
            continue
        f32, bf = s["float32"], s["mixed_bfloat16"]
        lines.append(
            f"| {r['backend']} | {f32['median_step_s']:.3f} | {bf['median_step_s']:.3f} "
            f"| x{s['speedup']:.2f} | {f32['compile_s']:.1f} | {bf['compile_s']:.1f} "
            f"| {_f(r.get('load_after_speed'), '.1f')} |"
        )
    acc = [r for r in record["results"] if r.get("accuracy")]
    if acc:
        a0 = acc[0]["accuracy"]
        lines += [
            "",
            f"## Accuracy at equal steps ({a0['dataset']}, {a0['data']['resolution']}x"
            f"{a0['data']['resolution']})",
            "",
            f"WaveLiT {a0['model']} ({a0['params']:,} parameters), {a0['steps']} steps of "
            f"batch {a0['batch_size']}, peak learning rate {a0['learning_rate']}, same initial "
            "weights and batches under both policies. One-step VRMSE: mean over test windows, "
            "physical units (The Well's VRMSE).",
            "",
            "| backend | float32 VRMSE | bfloat16 VRMSE | ratio bf16/f32 | float32, other seed "
            "| float32 train (s) | bfloat16 train (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in acc:
            a = r["accuracy"]
            runs = a["runs"]
            other = runs[2]["one_step_vrmse"] if len(runs) > 2 else None
            lines.append(
                f"| {r['backend']} | {runs[0]['one_step_vrmse']:.4f} "
                f"| {runs[1]['one_step_vrmse']:.4f} | {a['ratio']:.3f} "
                + (f"| {other:.4f} (x{a['seed_ratio']:.3f}) " if other else "| - ")
                + f"| {runs[0]['train_seconds']:.0f} | {runs[1]['train_seconds']:.0f} |"
            )
    failed = [r for r in record["results"] if r.get("status") != "ok"]
    for r in failed:
        lines += ["", f"{r['backend']}: {r.get('status')}", "", "```", r.get("stderr", ""), "```"]
    lines += ["", "Runs:", ""]
    for run in record.get("runs", [{"argv": record["argv"], "date": record["date"]}]):
        command = " ".join(["python benchmarks/mixed_precision.py"] + run["argv"])
        lines.append(f"- {run['date']}: `{command}`")
    lines.append("")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", default="jax,tensorflow,torch")
    p.add_argument("--size", default="1.2M", help="WaveLiT preset of the speed part")
    p.add_argument("--steps", type=int, default=10, help="timed steps per policy")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps after the first")
    p.add_argument("--accuracy-steps", type=int, default=300)
    p.add_argument("--accuracy-batch", type=int, default=8)
    p.add_argument(
        "--accuracy-model",
        default='{"dim": 32, "depth": 2, "num_heads": 4, "pyramid_levels": 1}',
        help="WaveLiT arguments of the accuracy part (JSON)",
    )
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--dataset", default="acoustic_scattering_2d")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seed-spread", action="store_true", help="also train float32 from seed + 1")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--quick", action="store_true", help="3 timed steps, 20 accuracy steps")
    p.add_argument(
        "--threads", type=int, default=0, help="cap intra-op threads (0: library default)"
    )
    p.add_argument(
        "--tf-jit",
        choices=("auto", "xla"),
        default="auto",
        help="TensorFlow: Keras's 'auto' (default; what `wavelit train` runs: no XLA on "
        "a CPU-only machine) or 'xla' (jit_compile=True)",
    )
    p.add_argument("--timeout", type=float, default=1800, help="seconds per backend")
    p.add_argument(
        "--work",
        help="where the dataset is simulated (under WORK/data); default "
        "benchmarks/results/raw/mixed_precision/{full,quick}",
    )
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument(
        "--append",
        action="store_true",
        help="merge into the existing record: a backend measured again replaces its result",
    )
    p.add_argument(
        "--merge",
        nargs="+",
        metavar="JSON",
        help="write one record from these records (of single backends) and stop",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.warmup, args.accuracy_steps = 3, 1, 20
    return args


def merge(args):
    """One record from the records of runs of single backends (run one by one,
    or side by side), in the order given."""
    records = []
    for path in args.merge:
        with open(path) as f:
            records.append(json.load(f))
    record = dict(records[0])
    record["results"] = [r for rec in records for r in rec["results"]]
    record["runs"] = [run for rec in records for run in rec.get("runs", [])]
    record["machines"] = [rec["machine"] for rec in records]
    record["total_seconds"] = sum(rec.get("total_seconds", 0.0) for rec in records)
    stem = "mixed_precision" + ("_quick" if args.quick else "")
    write_record(args.out, stem, record, markdown(record))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.work is None:
        args.work = os.path.join(
            HERE, "results", "raw", "mixed_precision", "quick" if args.quick else "full"
        )
    if args.worker:
        return worker(args)
    if args.merge:
        return merge(args)
    from keras_wavelit.cli.precision import cpu_has_avx512_bf16

    info = machine_info(keras_backend=False)
    print(f"{info['cpu']}, {info['usable_cores']} cores, load {info['load_average']}", flush=True)
    t0 = time.time()
    results = []
    for backend in [b for b in args.backends.split(",") if b]:
        print(f"== {backend}", flush=True)
        r = run_backend(args, argv, backend)
        results.append(r)
        if r["status"] != "ok":
            print(f"  {r['status']}\n{r.get('stderr', '')[-1500:]}", flush=True)
    record = {
        "benchmark": "mixed_precision",
        "argv": argv,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "size": args.size,
        "batch": BATCH,
        "fields": FIELDS,
        "input_steps": STEPS_IN,
        "resolution": RESOLUTION,
        "steps": args.steps,
        "warmup": args.warmup,
        "avx512_bf16": cpu_has_avx512_bf16(),
        "machine": info,
        "results": results,
        "total_seconds": time.time() - t0,
    }
    stem = "mixed_precision" + ("_quick" if args.quick else "")
    path = os.path.join(args.out, stem + ".json")
    if args.append and os.path.exists(path):
        with open(path) as f:
            old = json.load(f)
        measured = {r["backend"] for r in results}
        record["results"] = [r for r in old["results"] if r["backend"] not in measured] + results
        record["runs"] = old.get("runs", []) + [
            {"argv": r.get("argv"), "date": r.get("date")} for r in [old] if "runs" not in old
        ]
    record.setdefault("runs", []).append({"argv": argv, "date": record["date"]})
    write_record(args.out, stem, record, markdown(record))


if __name__ == "__main__":
    main()
