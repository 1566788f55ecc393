"""What every benchmark record holds: the machine it ran on, and its files.

Imported by the scripts in this folder (`python benchmarks/<script>.py`
puts the folder on `sys.path`).
"""

import json
import os
import platform
from importlib import metadata

from keras_wavelit.machine import cpu_name
from keras_wavelit.machine import load_average

#: Distributions whose versions a record lists when installed.
PACKAGES = (
    "keras",
    "jax",
    "jaxlib",
    "tensorflow",
    "tensorflow-cpu",
    "torch",
    "numpy",
    "PyWavelets",
    "the_well",
    "neuraloperator",
)


#: Instruction-set extensions that set how fast a CPU multiplies float32 and
#: bfloat16 matrices: two "AMD EPYC" machines with and without AVX-512 differ
#: twofold in training steps per second.
MATMUL_ISA = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_isa():
    """The extensions of `MATMUL_ISA` this CPU has, from `/proc/cpuinfo` (Linux).

    Returns:
        list of str in `MATMUL_ISA` order; None where the flags cannot be read.
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [x for x in MATMUL_ISA if x in flags]
    except OSError:
        pass
    return None


def isa_text(isa):
    """`cpu_isa()` as words: the extensions, their absence, or that they are unknown."""
    if isa is None:
        return "instruction sets unknown"
    return ", ".join(isa) or "none of " + ", ".join(MATMUL_ISA)


def usable_cores():
    """The cores this process may run on (all logical cores where that cannot be read)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine_info(keras_backend=True):
    """CPU, cores, memory, load, OS, Python and package versions of this machine.

    `load_average` is the 1/5/15-minute load when the record starts (what
    `uptime` prints): wall times measured on a loaded machine are not idle
    numbers.

    Args:
        keras_backend: include `keras_backend` (imports Keras).
    """
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        memory = None
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    info = {
        "cpu": cpu_name(),
        "isa": cpu_isa(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "memory_gib": memory,
        "load_average": load_average(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }
    if keras_backend:
        import keras

        info["keras_backend"] = keras.backend.backend()
    return info


def machine_line(info):
    """One markdown sentence naming the machine and the software."""
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    backend = f"; Keras backend `{info['keras_backend']}`" if "keras_backend" in info else ""
    load = info.get("load_average")
    load_text = "" if not load else f", load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    isa = "" if info.get("isa") is None else f" ({isa_text(info['isa'])})"
    return (
        f"Machine: {info['cpu']}{isa}, {info['usable_cores']} cores, {info['memory_gib']} GiB"
        f"{load_text}, Python {info['python']}{backend}; {versions}."
    )


def write_record(out_dir, stem, result, markdown_text):
    """Writes `<stem>.json` and `<stem>.md` to `out_dir` and prints the markdown."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, stem + ".json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(out_dir, stem + ".md"), "w") as f:
        f.write(markdown_text)
    print(markdown_text)
