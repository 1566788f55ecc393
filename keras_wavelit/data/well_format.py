"""The Well's HDF5 format: one import point for its schema, writer and validator.

The schema (records, shapes, layout) is `keras_wavelit.data.well_schema`,
writing is `keras_wavelit.data.well_writer` and validation is
`keras_wavelit.data.well_validator`; this module re-exports their public
names so that `from keras_wavelit.data.well_format import ...` keeps working.
"""

from keras_wavelit.data.well_schema import BC_TYPES
from keras_wavelit.data.well_schema import FIELD_GROUPS
from keras_wavelit.data.well_schema import REQUIRED_GROUPS
from keras_wavelit.data.well_schema import REQUIRED_ROOT_ATTRS
from keras_wavelit.data.well_schema import FieldInfo
from keras_wavelit.data.well_schema import WellBoundaryCondition
from keras_wavelit.data.well_schema import WellField
from keras_wavelit.data.well_schema import WellFileInfo
from keras_wavelit.data.well_schema import WellScalar
from keras_wavelit.data.well_validator import boundary_mode
from keras_wavelit.data.well_validator import list_split_files
from keras_wavelit.data.well_validator import validate_split
from keras_wavelit.data.well_validator import validate_well_file
from keras_wavelit.data.well_writer import write_well_file

__all__ = [
    "BC_TYPES",
    "FIELD_GROUPS",
    "REQUIRED_GROUPS",
    "REQUIRED_ROOT_ATTRS",
    "FieldInfo",
    "WellBoundaryCondition",
    "WellField",
    "WellFileInfo",
    "WellScalar",
    "boundary_mode",
    "list_split_files",
    "validate_split",
    "validate_well_file",
    "write_well_file",
]
