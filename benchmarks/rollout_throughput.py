"""Rollout (inference) throughput of the WaveLiT presets against The Well's FNO and U-Net.

An autoregressive rollout is what a trained surrogate is used for: predict a
frame, shift the input window, predict the next. This benchmark times
``WaveLiT.rollout`` (the compiled predict function once per step, with the
window shifted on the host, as ``wavelit evaluate`` and users run it) for the
presets given (``--presets``, default ``1.2M`` and ``1.2M-fast``) and The
Well's ``FNO`` and ``UNetClassic`` from ``the_well.benchmark.models`` sized to
the first preset's trainable parameter count
(``vs_well_baselines.sized_baseline``), on the same random window
``(batch, 4 input steps, R, R, 4 fields)``. The baselines run a plain PyTorch
loop under ``torch.no_grad()`` with the window shifted on the device (tensor
concatenation), i.e. their fastest form; The Well's own rollout code adds
per-step normalization on top.

Each (model, backend, resolution) runs in a fresh subprocess. The first
rollout of ``--warmup`` frames compiles the predict function (XLA on JAX and
TensorFlow) and is reported as ``first_s``; then ``--repeats`` rollouts of
``--frames`` frames are timed and ``frames_per_s = batch * frames / median
time``. Untrained weights: the arithmetic does not depend on the values.

Needs The Well's models for the baselines (the ``bench`` environment,
``make bench-venv``, which has the ``jax`` and ``torch`` Keras backends);
without them only WaveLiT is measured.

    python benchmarks/rollout_throughput.py                       # 64 and 128, jax + torch
    python benchmarks/rollout_throughput.py --quick               # 64 only, few frames

Writes ``benchmarks/results/rollout_throughput[_quick].{md,json}``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from records import machine_info  # noqa: E402
from records import machine_line  # noqa: E402
from records import write_record  # noqa: E402

N_FIELDS = 4
T_IN = 4


def _window(batch, resolution, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.standard_normal((batch, T_IN, resolution, resolution, N_FIELDS)).astype("float32")


def _time_rollouts(rollout, frames, warmup, repeats):
    t0 = time.perf_counter()
    rollout(warmup)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rollout(frames)
        times.append(time.perf_counter() - t0)
    return first, times


def measure_wavelit(args):
    """In a process whose KERAS_BACKEND is set: rollouts of the preset `args.model`."""
    import keras

    from keras_wavelit.models import WaveLiT

    x0 = _window(args.batch, args.resolution)
    keras.utils.set_random_seed(0)
    model = WaveLiT(size=args.model[len("WaveLiT-") :])
    model(x0[:1])
    params = int(sum(int(keras.ops.size(w)) for w in model.trainable_weights))
    first, times = _time_rollouts(
        lambda n: model.rollout(x0, n), args.frames, args.warmup, args.repeats
    )
    return dict(params=params, first_s=first, times_s=times)


def measure_baseline(args):
    """The Well's `args.model` (PyTorch) sized to `args.target_params` parameters."""
    import torch
    from vs_well_baselines import WellBaselineStep
    from vs_well_baselines import sized_baseline

    net, width, params = sized_baseline(
        args.model, T_IN * N_FIELDS, N_FIELDS, args.resolution, args.target_params
    )
    net.eval()
    step = WellBaselineStep(net)
    x0 = torch.as_tensor(_window(args.batch, args.resolution))

    def rollout(n):
        window = x0
        out = []
        with torch.no_grad():
            for _ in range(n):
                pred = step.forward(window, None)  # (B, 1, H, W, C)
                out.append(pred)
                window = torch.cat([window[:, 1:], pred], dim=1)
        return torch.cat(out, dim=1).numpy()

    first, times = _time_rollouts(rollout, args.frames, args.warmup, args.repeats)
    return dict(params=params, width=width, first_s=first, times_s=times)


def worker(args):
    if args.model.startswith("WaveLiT-"):
        r = measure_wavelit(args)
    else:
        import torch

        r = measure_baseline(args)
        r["torch_threads"] = torch.get_num_threads()
    print("RESULT " + json.dumps(r), flush=True)


def run_one(model, backend, resolution, args, target_params=None):
    cmd = [
        args.python,
        os.path.abspath(__file__),
        "--worker",
        "--model",
        model,
        "--resolution",
        str(resolution),
        "--batch",
        str(args.batch),
        "--frames",
        str(args.frames),
        "--warmup",
        str(args.warmup),
        "--repeats",
        str(args.repeats),
    ]
    if target_params:
        cmd += ["--target-params", str(target_params)]
    env = dict(os.environ, KERAS_BACKEND=backend)
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return dict(status=f"timeout after {args.timeout} s")
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            r = json.loads(line[len("RESULT ") :])
            r["status"] = "ok"
            times = sorted(r["times_s"])
            r["median_s"] = times[len(times) // 2]
            r["frames_per_s"] = args.batch * args.frames / r["median_s"]
            return r
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
    return dict(status="failed: " + " | ".join(tail))


# Defaults of the timing options (shorter rollouts varied up to 2x from run to run
# on a 2-core machine); the report's rerun line names any other values.
TIMING_DEFAULTS = dict(batch=4, frames=40, warmup=2, repeats=7)


def markdown(result):
    s = result["settings"]
    options = "".join(
        f" --{k} {v}" for k, v in s.items() if not result["quick"] and v != TIMING_DEFAULTS[k]
    )
    lines = [
        "# Rollout throughput: WaveLiT against The Well's FNO and U-Net",
        "",
        f"Rollouts of {s['frames']} frames from a window of batch {s['batch']}, {T_IN} input "
        f"steps, {N_FIELDS} fields; median of {s['repeats']} rollouts after a {s['warmup']}-frame "
        "first rollout (compilation). frames/s = batch x frames / median time. WaveLiT: "
        "`WaveLiT.rollout` (compiled predict per step, window shifted on the host); baselines: "
        "PyTorch loop under `no_grad`, window shifted with `torch.cat`. Same parameter budget.",
        "",
        machine_line(result["machine"]),
        "",
        "| resolution | model | runs on | params | first rollout s | median s | frames/s | "
        "vs first WaveLiT (best backend) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for res, rows in result["resolutions"].items():
        first = rows[0]["model"]  # ratios against the first preset on its best backend
        ok = [r for r in rows if r["status"] == "ok" and r["model"] == first]
        best = max((r["frames_per_s"] for r in ok), default=None)
        for r in rows:
            if r["status"] != "ok":
                lines.append(f"| {res}² | {r['model']} | {r['runs_on']} | | | | {r['status']} | |")
                continue
            ratio = f"{r['frames_per_s'] / best:.2f}x" if best else ""
            lines.append(
                f"| {res}² | {r['model']} | {r['runs_on']} | {r['params']:,} | "
                f"{r['first_s']:.1f} | {r['median_s']:.2f} | {r['frames_per_s']:.1f} | {ratio} |"
            )
    lines += [
        "",
        f"Total {result['total_seconds'] / 60:.1f} minutes. Rerun: "
        f"`python benchmarks/rollout_throughput.py{' --quick' if result['quick'] else options}`"
        " in the `bench` environment.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolutions", default="64,128")
    parser.add_argument("--presets", default="1.2M,1.2M-fast", help="WaveLiT presets")
    parser.add_argument("--backends", default="jax,torch", help="Keras backends for WaveLiT")
    parser.add_argument("--baselines", default="FNO,UNetClassic")
    parser.add_argument("--batch", type=int, default=TIMING_DEFAULTS["batch"])
    parser.add_argument(
        "--frames", type=int, default=TIMING_DEFAULTS["frames"], help="frames per timed rollout"
    )
    parser.add_argument(
        "--warmup", type=int, default=TIMING_DEFAULTS["warmup"], help="frames of the first rollout"
    )
    parser.add_argument("--repeats", type=int, default=TIMING_DEFAULTS["repeats"])
    parser.add_argument("--timeout", type=float, default=900, help="seconds per measurement")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the workers")
    parser.add_argument("--quick", action="store_true", help="64² only, 4 frames, 1 repeat")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    # Worker-only arguments.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--resolution", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--target-params", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return
    if args.quick:
        args.resolutions, args.frames, args.repeats = "64", 4, 1
    resolutions = [int(r) for r in args.resolutions.split(",") if r]
    backends = [b for b in args.backends.split(",") if b]
    presets = [p for p in args.presets.split(",") if p]
    baselines = [b for b in args.baselines.split(",") if b]
    try:
        import the_well.benchmark.models  # noqa: F401
    except ImportError as err:
        print(f"The Well's models are not importable ({err}): measuring WaveLiT only.")
        baselines = []

    result = dict(
        settings=dict(
            batch=args.batch, frames=args.frames, warmup=args.warmup, repeats=args.repeats
        ),
        quick=args.quick,
        machine=machine_info(keras_backend=False),
        resolutions={},
    )
    t0 = time.time()
    for res in resolutions:
        rows = []
        target = None
        for preset in presets:
            for backend in backends:
                r = run_one(f"WaveLiT-{preset}", backend, res, args)
                r.update(model=f"WaveLiT-{preset}", runs_on=f"Keras {backend}")
                target = target or r.get("params")
                rows.append(r)
                print(res, backend, {k: v for k, v in r.items() if k != "times_s"}, flush=True)
        for name in baselines:
            r = run_one(name, "torch", res, args, target_params=target or 1_215_618)
            r.update(model=name, runs_on="PyTorch")
            rows.append(r)
            print(res, name, {k: v for k, v in r.items() if k != "times_s"}, flush=True)
        result["resolutions"][str(res)] = rows
    result["total_seconds"] = time.time() - t0
    stem = "rollout_throughput" + ("_quick" if args.quick else "")
    write_record(args.out, stem, result, markdown(result))


if __name__ == "__main__":
    main()
