"""Distributed training on `keras.distribution` (`docs/distributed.md`).

- `data_parallel`: one replica per device (JAX `DataParallel`, TensorFlow
  `MirroredStrategy`); `model_parallel` / `trunk_layout_map`: the trunk's
  dense kernels sharded (JAX `ModelParallel`).
- `initialize`, `cluster_spec`, `process_index`, `process_count`,
  `is_chief`: multi-process jobs (JAX).
- `cli.add_arguments` / `cli.configure`: the `wavelit train` flags.
- `save_model`, `save_weights`: every process saves, process 0 writes.
- `require`, `DistributionNotSupportedError`: what each backend supports.
"""

from keras_wavelit.distributed.backends import SUPPORT
from keras_wavelit.distributed.backends import DistributionNotSupportedError
from keras_wavelit.distributed.backends import require
from keras_wavelit.distributed.checkpoints import save_model
from keras_wavelit.distributed.checkpoints import save_weights
from keras_wavelit.distributed.cli import DistributedSetup
from keras_wavelit.distributed.data_parallel import data_parallel
from keras_wavelit.distributed.data_parallel import local_batch_size
from keras_wavelit.distributed.model_parallel import TRUNK_PATTERNS
from keras_wavelit.distributed.model_parallel import model_parallel
from keras_wavelit.distributed.model_parallel import trunk_layout_map
from keras_wavelit.distributed.multi_host import ClusterSpec
from keras_wavelit.distributed.multi_host import cluster_spec
from keras_wavelit.distributed.multi_host import initialize
from keras_wavelit.distributed.multi_host import is_chief
from keras_wavelit.distributed.multi_host import process_count
from keras_wavelit.distributed.multi_host import process_index

__all__ = [
    "SUPPORT",
    "ClusterSpec",
    "DistributedSetup",
    "DistributionNotSupportedError",
    "cluster_spec",
    "data_parallel",
    "initialize",
    "is_chief",
    "local_batch_size",
    "model_parallel",
    "process_count",
    "process_index",
    "require",
    "save_model",
    "save_weights",
    "trunk_layout_map",
]
