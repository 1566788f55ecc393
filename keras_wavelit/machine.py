"""The machine a report or benchmark ran on: CPU model and load."""

import os
import platform


def cpu_name():
    """The CPU model, for reports and benchmark records.

    Read from `/proc/cpuinfo` on Linux; elsewhere `platform.processor()` or,
    failing that, the machine type.

    Returns:
        str, e.g. `"AMD EPYC 7B13"`.

    Example:

    ```python
    from keras_wavelit.machine import cpu_name

    assert isinstance(cpu_name(), str)
    ```
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    """The 1, 5 and 15 minute load averages (what `uptime` prints), or None.

    Wall times measured on a loaded machine are not idle numbers; records
    state the load next to them.

    Returns:
        A tuple of three floats, or None where the OS does not report it.

    Example:

    ```python
    from keras_wavelit.machine import load_average

    load = load_average()
    assert load is None or len(load) == 3
    ```
    """
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except (AttributeError, OSError):
        return None
