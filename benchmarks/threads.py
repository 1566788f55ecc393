"""Capping the intra-op threads of a benchmark's worker processes.

``--threads N`` of the benchmark scripts: the parent puts the cap into the
worker's environment (read by OpenMP, MKL and XLA at start-up), and the
worker caps the PyTorch and TensorFlow pools before any computation.
"""


def thread_env(env, backend, threads):
    """Adds the environment variables for ``threads`` to ``env`` (a dict)."""
    if not threads:
        return env
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    if backend == "jax" and threads == 1:  # XLA's CPU thread pool: on or off
        env["XLA_FLAGS"] = (
            env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        ).strip()
    return env


def limit_threads(backend, threads):
    """Caps PyTorch's or TensorFlow's intra-op (and TF's inter-op) threads.

    JAX is capped through ``thread_env`` only (XLA reads its flags at start-up).
    """
    if not threads:
        return
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
