"""Runs the test suite once per Keras backend, each in its own process.

Keras reads ``KERAS_BACKEND`` once, at import, so every backend needs a
process of its own. Most of a JAX or TensorFlow run is XLA compilation,
which keeps about one core busy, so on a machine with two or more cores the
backends run side by side (``--jobs``, default: as many as there are cores,
at most one per backend), the longest first. Each run's output goes to a log
that is printed whole, under a header, when the run ends; a line per backend
says how it went, and the exit status is 1 if any backend failed.

With several runs at once each gets its share of the cores through
``OMP_NUM_THREADS`` (PyTorch's OpenMP workers otherwise spin for cores that
the other runs hold, which slows them many times over).

    python tests/run_backends.py                       # every backend
    python tests/run_backends.py --jobs 1 -- -x tests/test_dwt.py
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

BACKENDS = ("jax", "tensorflow", "torch")  # longest run first


def usable_cores():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def start(backend, pytest_args, threads, log_dir):
    env = dict(os.environ, KERAS_BACKEND=backend)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    log = open(os.path.join(log_dir, f"{backend}.log"), "w+")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return dict(backend=backend, proc=proc, log=log, start=time.monotonic())


def finish(run):
    run["log"].seek(0)
    seconds = time.monotonic() - run["start"]
    status = "passed" if run["proc"].returncode == 0 else f"FAILED (exit {run['proc'].returncode})"
    print(f"=== KERAS_BACKEND={run['backend']}: {status} after {seconds:.0f} s", flush=True)
    sys.stdout.write(run["log"].read())
    sys.stdout.flush()
    run["log"].close()
    return run["proc"].returncode == 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="Keras backends (commas or spaces)",
    )
    parser.add_argument(
        "--jobs", type=int, default=0, help="backends at once (0: one per core, at most 3)"
    )
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)
    backends = args.backends.replace(",", " ").split()
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        parser.error(f"unknown backend(s) {unknown}; choose from {', '.join(BACKENDS)}")
    cores = usable_cores()
    jobs = max(1, min(args.jobs or cores, len(backends)))
    threads = max(1, cores // jobs) if jobs > 1 else None
    print(
        f"Running {', '.join(backends)} with {jobs} at once on {cores} cores"
        + (f" ({threads} threads each)" if threads else ""),
        flush=True,
    )
    t0 = time.monotonic()
    failed = []
    with tempfile.TemporaryDirectory(prefix="keras-wavelit-test-logs-") as log_dir:
        waiting = list(backends)
        running = []
        try:
            while waiting or running:
                while waiting and len(running) < jobs:
                    running.append(start(waiting.pop(0), args.pytest_args, threads, log_dir))
                time.sleep(1)
                for run in [r for r in running if r["proc"].poll() is not None]:
                    running.remove(run)
                    if not finish(run):
                        failed.append(run["backend"])
        except KeyboardInterrupt:
            for run in running:
                run["proc"].terminate()
            for run in running:
                run["proc"].wait()
                finish(run)
            print("interrupted", flush=True)
            return 130
    minutes = (time.monotonic() - t0) / 60
    if failed:
        print(f"FAILED on backend(s): {' '.join(failed)} ({minutes:.1f} min)", flush=True)
        return 1
    print(f"all backends passed: {' '.join(backends)} ({minutes:.1f} min)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
