"""Fixtures for the data tests: small datasets in The Well's layout.

Generated once per test session at small sizes so that the data tests stay
fast on every backend.
"""

import os

import numpy as np
import pytest

from keras_wavelit.data import compute_stats
from keras_wavelit.data import simulate
from keras_wavelit.data import write_stats

# Small but physical: the same solvers as the defaults, coarser and shorter.
SMALL = {
    "acoustic_scattering_2d": dict(resolution=32, n_trajectories=4, n_steps=12),
    "gray_scott_2d": dict(
        resolution=32, n_trajectories=3, n_steps=8, dt_output=20.0, domain_length=0.5
    ),
    "kolmogorov_2d": dict(resolution=32, n_trajectories=3, n_steps=8, burn_in_time=2.0),
}


@pytest.fixture(scope="session")
def well_base(tmp_path_factory):
    """A base path holding the three embedded datasets at small sizes."""
    base = str(tmp_path_factory.mktemp("well_base"))
    for name, kwargs in SMALL.items():
        simulate(name, base, seed=0, verbose=0, **kwargs)
    return base


@pytest.fixture(scope="session")
def dummy_base(tmp_path_factory):
    """A dataset written by the_well's own `write_dummy_data`, one file per split."""
    from the_well.utils.dummy_data import write_dummy_data

    base = str(tmp_path_factory.mktemp("dummy_base"))
    ds_dir = os.path.join(base, "datasets", "dummy")
    np.random.seed(0)  # write_dummy_data draws from NumPy's global generator
    for split in ("train", "valid", "test"):
        os.makedirs(os.path.join(ds_dir, "data", split))
        write_dummy_data(os.path.join(ds_dir, "data", split, "dummy.hdf5"))
    write_stats(
        os.path.join(ds_dir, "stats.yaml"),
        compute_stats([os.path.join(ds_dir, "data", "train", "dummy.hdf5")]),
    )
    return base


@pytest.fixture
def split_file():
    """`split_file(base, name, split)`: path of the first HDF5 file of a split."""

    def find(base, name, split="train"):
        directory = os.path.join(base, "datasets", name, "data", split)
        return os.path.join(directory, sorted(os.listdir(directory))[0])

    return find
