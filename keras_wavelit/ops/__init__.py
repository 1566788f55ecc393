"""Backend-agnostic building blocks used by the layers (`keras.ops` only)."""

from keras_wavelit.ops.boundary import BOUNDARY_MODES
from keras_wavelit.ops.boundary import boundary_indices
from keras_wavelit.ops.boundary import check_boundary
from keras_wavelit.ops.boundary import pad_axis
from keras_wavelit.ops.boundary import pad_spatial
from keras_wavelit.ops.fusion_barrier import fusion_barrier
from keras_wavelit.ops.fusion_barrier import gradient_fusion_barrier
from keras_wavelit.ops.spd_solve import resolve_solver
from keras_wavelit.ops.spd_solve import spd_solve
from keras_wavelit.ops.wavelet_filters import WaveletFilterBank
