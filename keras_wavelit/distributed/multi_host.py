"""Several processes (hosts) training one model: `keras.distribution.initialize`.

Every process of a job runs the same command with the same coordinator
address and process count and its own process id; process 0 is the
coordinator and the one that writes checkpoints (`docs/distributed.md`).
The values come from the arguments or, where an argument is None, from
Keras's environment variables `KERAS_DISTRIBUTION_JOB_ADDRESSES`,
`KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID`.
"""

import os
from typing import NamedTuple
from typing import Optional

import keras

from keras_wavelit.distributed.backends import require

ENV_JOB_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"


class ClusterSpec(NamedTuple):
    """Where a process sits in a multi-process job.

    Attributes:
        coordinator_address: `"host:port"` of process 0.
        num_processes: processes in the job.
        process_id: this process, `0 <= process_id < num_processes`.
    """

    coordinator_address: Optional[str]
    num_processes: int
    process_id: int


def _int(value, what):
    try:
        out = int(value)
    except (TypeError, ValueError):
        out = None
    if out is None or str(out) != str(value).strip():
        raise ValueError(f"{what} must be an integer, got {value!r}.")
    return out


def _check_address(address, what):
    host, sep, port = str(address).rpartition(":")
    if not sep or not host:
        raise ValueError(f"{what} must be 'host:port', got {address!r}.")
    try:
        port_number = int(port)
    except ValueError:
        port_number = -1
    if not 0 < port_number < 65536:
        raise ValueError(f"{what}: port of {address!r} must be an integer in 1..65535.")


def cluster_spec(coordinator_address=None, num_processes=None, process_id=None, environ=None):
    """The job's `ClusterSpec` from arguments, falling back on the environment.

    Args:
        coordinator_address: `"host:port"` of process 0. Falls back on
            `KERAS_DISTRIBUTION_JOB_ADDRESSES`, whose first comma-separated
            entry is the coordinator (the form Keras accepts).
        num_processes: int, processes in the job. Falls back on
            `KERAS_DISTRIBUTION_NUM_PROCESSES`; defaults to 1.
        process_id: int, this process. Falls back on
            `KERAS_DISTRIBUTION_PROCESS_ID`; defaults to 0 for one process.
        environ: mapping read instead of `os.environ` (for tests).

    Returns:
        A `ClusterSpec`. `num_processes == 1` means a single process.

    Raises:
        ValueError: naming the argument or environment variable at fault:
            a non-integer count or id, an id outside `0..num_processes - 1`,
            or a missing coordinator address or process id when
            `num_processes > 1`.

    Example:

    ```python
    from keras_wavelit.distributed import cluster_spec

    spec = cluster_spec("127.0.0.1:12345", num_processes=2, process_id=1)
    print(spec.num_processes, spec.process_id)  # 2 1
    print(cluster_spec(environ={}).num_processes)  # 1
    ```
    """
    env = os.environ if environ is None else environ
    addresses_from = "coordinator_address"
    if coordinator_address is None and env.get(ENV_JOB_ADDRESSES):
        coordinator_address = env[ENV_JOB_ADDRESSES].split(",")[0].strip()
        addresses_from = ENV_JOB_ADDRESSES
    count_from = "num_processes"
    if num_processes is None and env.get(ENV_NUM_PROCESSES):
        num_processes, count_from = env[ENV_NUM_PROCESSES], ENV_NUM_PROCESSES
    id_from = "process_id"
    if process_id is None and env.get(ENV_PROCESS_ID):
        process_id, id_from = env[ENV_PROCESS_ID], ENV_PROCESS_ID
    num_processes = 1 if num_processes is None else _int(num_processes, count_from)
    if num_processes < 1:
        raise ValueError(f"{count_from} must be at least 1, got {num_processes}.")
    if process_id is None:
        if num_processes > 1:
            raise ValueError(
                f"{count_from}={num_processes} needs the process id of this process: give "
                f"process_id (--process-id) or set {ENV_PROCESS_ID}."
            )
        process_id = 0
    process_id = _int(process_id, id_from)
    if not 0 <= process_id < num_processes:
        raise ValueError(
            f"{id_from}={process_id} is outside 0..{num_processes - 1} "
            f"({count_from}={num_processes})."
        )
    if num_processes > 1:
        if not coordinator_address:
            raise ValueError(
                f"{count_from}={num_processes} needs the coordinator's address: give "
                f"coordinator_address (--coordinator-address host:port) or set {ENV_JOB_ADDRESSES}."
            )
        _check_address(coordinator_address, addresses_from)
    return ClusterSpec(coordinator_address or None, num_processes, process_id)


def initialize(coordinator_address=None, num_processes=None, process_id=None):
    """Joins a multi-process job with `keras.distribution.initialize`.

    Call it first, before any computation (JAX fixes its devices on first
    use). A single-process spec (`num_processes == 1`) initializes nothing,
    so the same script runs alone or in a job.

    Args:
        coordinator_address, num_processes, process_id: see `cluster_spec`
            (each falls back on Keras's `KERAS_DISTRIBUTION_*` variables).

    Returns:
        The `ClusterSpec` joined.

    Raises:
        DistributionNotSupportedError: `num_processes > 1` on a backend other
            than JAX.
        ValueError: see `cluster_spec`.

    Example:

    ```python
    from keras_wavelit.distributed import initialize

    spec = initialize(num_processes=1)  # alone: nothing to join
    print(spec.process_id)  # 0
    ```
    """
    spec = cluster_spec(coordinator_address, num_processes, process_id)
    if spec.num_processes > 1:
        require("multi_process")
        keras.distribution.initialize(
            job_addresses=spec.coordinator_address,
            num_processes=spec.num_processes,
            process_id=spec.process_id,
        )
    return spec


def process_index():
    """Index of this process in the job (0 alone, and on backends without
    multi-process support).

    Example:

    ```python
    from keras_wavelit.distributed import process_index

    print(process_index())  # 0
    ```
    """
    if keras.backend.backend() == "jax":
        import jax

        return int(jax.process_index())
    return 0


def process_count():
    """Processes in the job (1 alone, and on backends without multi-process
    support).

    Example:

    ```python
    from keras_wavelit.distributed import process_count

    print(process_count())  # 1
    ```
    """
    if keras.backend.backend() == "jax":
        import jax

        return int(jax.process_count())
    return 1


def is_chief():
    """Whether this process writes checkpoints and logs (process 0).

    Example:

    ```python
    from keras_wavelit.distributed import is_chief

    print(is_chief())  # True
    ```
    """
    return process_index() == 0
