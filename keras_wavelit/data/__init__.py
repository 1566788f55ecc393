"""Data: The Well's datasets and embedded simulations in The Well's format.

- `WellSequence`: a `keras.utils.PyDataset` over `the_well.data.WellDataset`
  yielding `(x, y)` batches in the model's contract (needs the `well` extra).
- `simulate`: writes the embedded datasets `acoustic_scattering_2d`,
  `gray_scott_2d` and `kolmogorov_2d` in The Well's HDF5 layout (the periodic
  systems need the `sim` extra).
- `write_well_file`, `validate_well_file`, `compute_stats`, `load_stats`:
  the file format itself (`well_schema`, `well_writer`, `well_validator`);
  `boundary_mode`: the `WaveLiT(boundary=...)` that suits a dataset's
  declared boundary conditions.

Heavy dependencies (h5py, PyYAML, the_well, exponax, JAX) are imported only
when a function needs them.
"""

from keras_wavelit.data.channels import EMBEDDED_DATASETS
from keras_wavelit.data.channels import WELL_2D_DATASETS
from keras_wavelit.data.channels import ChannelRegistry
from keras_wavelit.data.channels import DatasetChannels
from keras_wavelit.data.channels import default_registry
from keras_wavelit.data.channels import register_dataset
from keras_wavelit.data.errors import WellDataError
from keras_wavelit.data.sampling import PAPER_TABLE_7
from keras_wavelit.data.sampling import SAMPLING_METHODS
from keras_wavelit.data.sampling import DatasetSampler
from keras_wavelit.data.sampling import adaptive_probabilities
from keras_wavelit.data.sampling import kl_divergence
from keras_wavelit.data.sampling import sampling_probabilities
from keras_wavelit.data.sampling import token_shares
from keras_wavelit.data.simulate import GeneratedDataset
from keras_wavelit.data.simulate import available_datasets
from keras_wavelit.data.simulate import default_sizes
from keras_wavelit.data.simulate import simulate
from keras_wavelit.data.simulate import split_counts
from keras_wavelit.data.stats import compute_stats
from keras_wavelit.data.stats import load_stats
from keras_wavelit.data.stats import write_stats
from keras_wavelit.data.well_schema import FieldInfo
from keras_wavelit.data.well_schema import WellBoundaryCondition
from keras_wavelit.data.well_schema import WellField
from keras_wavelit.data.well_schema import WellFileInfo
from keras_wavelit.data.well_schema import WellScalar
from keras_wavelit.data.well_validator import boundary_mode
from keras_wavelit.data.well_validator import validate_split
from keras_wavelit.data.well_validator import validate_well_file
from keras_wavelit.data.well_writer import write_well_file

__all__ = [
    "MultiDatasetSequence",
    "DatasetSamplingCallback",
    "EMBEDDED_DATASETS",
    "WELL_2D_DATASETS",
    "ChannelRegistry",
    "DatasetChannels",
    "default_registry",
    "register_dataset",
    "PAPER_TABLE_7",
    "SAMPLING_METHODS",
    "DatasetSampler",
    "adaptive_probabilities",
    "kl_divergence",
    "sampling_probabilities",
    "token_shares",
    "FieldInfo",
    "GeneratedDataset",
    "WellBoundaryCondition",
    "WellDataError",
    "WellField",
    "WellFileInfo",
    "WellScalar",
    "WellSequence",
    "available_datasets",
    "boundary_mode",
    "compute_stats",
    "default_sizes",
    "load_stats",
    "resolve_dataset_dir",
    "simulate",
    "split_counts",
    "validate_split",
    "validate_well_file",
    "write_stats",
    "write_well_file",
]


def __getattr__(name):
    # WellSequence subclasses keras.utils.PyDataset: import Keras only when used.
    if name in ("WellSequence", "resolve_dataset_dir"):
        from keras_wavelit.data import well_sequence

        return getattr(well_sequence, name)
    if name in ("MultiDatasetSequence", "DatasetSamplingCallback"):
        from keras_wavelit.data import multi_dataset

        return getattr(multi_dataset, name)
    raise AttributeError(f"module 'keras_wavelit.data' has no attribute {name!r}")
