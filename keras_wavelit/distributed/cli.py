"""Command-line flags for distributed training (`wavelit train`).

`add_arguments(parser)` adds the flags; `configure(args)`, called before the
model is built, joins the multi-process job, sets up the distribution and
returns a `DistributedSetup` telling the training run which shard of the
data this process reads and whether it writes checkpoints
(`docs/distributed.md`).
"""

import contextlib
import dataclasses
import os
from typing import Any
from typing import Optional
from typing import Tuple

import keras

from keras_wavelit.distributed.backends import require
from keras_wavelit.distributed.checkpoints import save_model
from keras_wavelit.distributed.checkpoints import save_weights
from keras_wavelit.distributed.data_parallel import data_parallel
from keras_wavelit.distributed.data_parallel import local_batch_size
from keras_wavelit.distributed.model_parallel import model_parallel
from keras_wavelit.distributed.multi_host import ENV_JOB_ADDRESSES
from keras_wavelit.distributed.multi_host import ENV_NUM_PROCESSES
from keras_wavelit.distributed.multi_host import ENV_PROCESS_ID
from keras_wavelit.distributed.multi_host import initialize
from keras_wavelit.distributed.multi_host import process_count
from keras_wavelit.distributed.multi_host import process_index


@dataclasses.dataclass
class DistributedSetup:
    """What a training run needs to know about the distribution.

    Attributes:
        process_index: this process, 0 alone.
        process_count: processes in the job, 1 alone.
        num_devices: devices the model trains on (all processes).
        distribution: the `keras.distribution` object (JAX), the
            `tf.distribute.MirroredStrategy` (TensorFlow), or None.
        num_replicas: model replicas the batch is split over; None means
            `num_devices` (data parallelism). With `--model-parallel N` it
            is `num_devices / N`.
    """

    process_index: int = 0
    process_count: int = 1
    num_devices: int = 1
    distribution: Optional[Any] = None
    num_replicas: Optional[int] = None

    @property
    def is_chief(self) -> bool:
        """Process 0: the one that writes checkpoints, logs and the model.

        Saving itself must still run on every process (`save_model`)."""
        return self.process_index == 0

    def save_model(self, model, filepath):
        """`model.save(filepath)` run by every process, written by the chief.

        Keras's saving can run collective operations under a multi-process
        distribution, so a save called on process 0 alone would wait
        forever for the others; see `keras_wavelit.distributed.save_model`.
        """
        return save_model(model, filepath, is_chief=self.is_chief)

    def save_weights(self, model, filepath):
        """`model.save_weights(filepath)` run by every process, written by the chief."""
        return save_weights(model, filepath, is_chief=self.is_chief)

    @property
    def shard(self) -> Optional[Tuple[int, int]]:
        """`WellSequence(shard=...)` for the training and validation data:
        `(process_index, process_count)`, or None for a single process."""
        if self.process_count == 1:
            return None
        return (self.process_index, self.process_count)

    def scope(self):
        """Context to build, compile, load and train the model in."""
        if self.distribution is None:
            return contextlib.nullcontext()
        return self.distribution.scope()

    def check_batch_size(self, global_batch_size: int) -> int:
        """Each process's part of `global_batch_size`; raises a `ValueError`
        unless it splits evenly over the processes and the devices."""
        replicas = self.num_replicas or self.num_devices
        if global_batch_size % replicas:
            raise ValueError(
                f"--batch-size {global_batch_size} (the global batch) must be divisible by the "
                f"{replicas} model replicas (devices) it is split over."
            )
        return local_batch_size(global_batch_size, self.process_count)

    def process_path(self, path: str) -> str:
        """`path` for the chief; a sibling `path.process<i>` for process `i`,
        for files every process writes (e.g. `BackupAndRestore` state), so
        that processes never write the same file."""
        if self.is_chief:
            return path
        return f"{os.fspath(path).rstrip(os.sep)}.process{self.process_index}"

    def describe(self) -> str:
        """One line for the log."""
        kind = type(self.distribution).__name__ if self.distribution is not None else "none"
        return (
            f"distribution: {kind} on {self.num_devices} device(s), "
            f"process {self.process_index} of {self.process_count}"
        )


def add_arguments(parser):
    """Adds the distribution flags to an `argparse` parser.

    Args:
        parser: `argparse.ArgumentParser` (e.g. the `wavelit train` subparser).

    Returns:
        The argument group.

    Example:

    ```python
    import argparse
    from keras_wavelit.distributed import cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--data-parallel"])
    print(args.data_parallel, args.num_processes)  # True None
    ```
    """
    group = parser.add_argument_group(
        "distribution",
        "Training on several devices or processes (docs/distributed.md). JAX: all; "
        "TensorFlow: --data-parallel on one machine; PyTorch: none.",
    )
    group.add_argument(
        "--data-parallel",
        action="store_true",
        default=False,
        help="Train on all devices, the global --batch-size split over them "
        "(JAX: keras.distribution.DataParallel over every device of every process; "
        "TensorFlow: tf.distribute.MirroredStrategy over the local devices). "
        "Default: off (one device).",
    )
    group.add_argument(
        "--model-parallel",
        type=int,
        default=1,
        metavar="N",
        help="JAX only: split the trunk's dense kernels over N devices "
        "(keras.distribution.ModelParallel) and the batch over the rest. Default: 1 (off).",
    )
    group.add_argument(
        "--coordinator-address",
        default=None,
        metavar="HOST:PORT",
        help=f"Address of process 0 of a multi-process job (JAX). Default: "
        f"${ENV_JOB_ADDRESSES} (first entry), else none.",
    )
    group.add_argument(
        "--num-processes",
        type=int,
        default=None,
        help=f"Processes in the job (JAX). Default: ${ENV_NUM_PROCESSES}, else 1.",
    )
    group.add_argument(
        "--process-id",
        type=int,
        default=None,
        help=f"This process's id, 0..N-1; 0 writes the checkpoints. "
        f"Default: ${ENV_PROCESS_ID}, else 0.",
    )
    return group


def configure(args) -> DistributedSetup:
    """Joins the job and sets the distribution the flags ask for.

    Call it before building the model. Without flags (and without the
    `KERAS_DISTRIBUTION_*` variables) it changes nothing and returns a
    single-process, single-device setup. With several processes,
    `--data-parallel` is implied.

    Args:
        args: the parsed `argparse.Namespace` (missing flags count as unset).

    Returns:
        A `DistributedSetup`.

    Raises:
        DistributionNotSupportedError: a flag the backend cannot honour
            (e.g. `--data-parallel` on PyTorch).
        ValueError: inconsistent flags (see `cluster_spec`).

    Example:

    ```python
    import argparse
    from keras_wavelit.distributed import cli

    setup = cli.configure(argparse.Namespace())
    print(setup.is_chief, setup.shard)  # True None
    ```
    """
    want_dp = bool(getattr(args, "data_parallel", False))
    shards = getattr(args, "model_parallel", None)
    shards = 1 if shards is None else int(shards)
    if shards < 1:
        raise ValueError(f"--model-parallel must be at least 1, got {shards}.")
    if shards > 1:
        require("model_parallel")  # before joining a job: fail fast
    spec = initialize(
        getattr(args, "coordinator_address", None),
        getattr(args, "num_processes", None),
        getattr(args, "process_id", None),
    )
    multi = spec.num_processes > 1
    if shards > 1:
        distribution = model_parallel(shards)
        mesh = distribution.device_mesh
        return DistributedSetup(
            process_index(),
            process_count(),
            int(mesh.devices.size),
            distribution,
            num_replicas=int(mesh.shape[0]),
        )
    if want_dp or multi:
        distribution = data_parallel()
        if keras.backend.backend() == "jax":
            n = int(distribution.device_mesh.devices.size)
        else:
            n = int(distribution.num_replicas_in_sync)
        return DistributedSetup(process_index(), process_count(), n, distribution)
    return DistributedSetup()
