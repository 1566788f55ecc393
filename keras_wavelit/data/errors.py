"""Errors raised by the data pipeline."""


class WellDataError(ValueError):
    """Raised when data in The Well's format is missing, malformed or unusable.

    The message always names what is at fault: the path of the file or
    directory, and where relevant the group, attribute, field, trajectory,
    time step, shape or value involved. `WellDataError` subclasses
    `ValueError`, so `except ValueError` also catches it.

    Example:

    ```python
    from keras_wavelit.data import WellDataError, validate_well_file

    try:
        validate_well_file("broken.hdf5")
    except WellDataError as err:
        print(err)
    ```
    """
