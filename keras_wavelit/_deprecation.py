"""Renamed constructor arguments: the old name keeps working for one release.

The library's vocabulary (``docs/design.md`` section 3): ``boundary`` for the
boundary mode (was ``mode``), ``wavelet_levels`` for the DWT's levels and
``pyramid_levels`` for the levels of a :class:`~keras_wavelit.layers.SharedFPN`
(both were ``levels``; the model called the latter ``fpn_levels``).
"""

import warnings

_UNSET = object()


def renamed_argument(owner, kwargs, old, new, value, default):
    """Resolves a renamed argument, warning when the old name is used.

    Args:
        owner: str, the class or function name, for the messages.
        kwargs: dict of the remaining keyword arguments; ``old`` is popped
            from it when present.
        old: str, the deprecated name.
        new: str, the current name.
        value: the value passed under the new name, or None when it was not
            given.
        default: the value to use when neither name was given.

    Returns:
        The value to use.

    Raises:
        TypeError: when both names are given with different values.
    """
    if old not in kwargs:
        return default if value is None else value
    old_value = kwargs.pop(old)
    if value is not None and value != old_value:
        raise TypeError(
            f"{owner} got both `{new}={value!r}` and its deprecated name "
            f"`{old}={old_value!r}`; pass only `{new}`."
        )
    warnings.warn(
        f"{owner}: the argument `{old}` is deprecated and will be removed in "
        f"the next release; use `{new}` instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value
