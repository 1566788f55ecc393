import os
import sys

from keras_wavelit.machine import cpu_name
from keras_wavelit.machine import load_average


def test_cpu_name_and_load_average():
    name = cpu_name()
    assert isinstance(name, str) and name.strip()
    load = load_average()
    if hasattr(os, "getloadavg"):
        assert len(load) == 3 and all(isinstance(v, float) and v >= 0 for v in load)
    else:
        assert load is None


def test_benchmark_records_state_the_load():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    try:
        import records
    finally:
        sys.path.pop(0)
    info = records.machine_info(keras_backend=False)
    assert info["cpu"] == cpu_name()
    line = records.machine_line(info)
    assert line.startswith(f"Machine: {cpu_name()}" + (", " if info["isa"] is None else " ("))
    if info["isa"] is not None:
        assert set(info["isa"]) <= set(records.MATMUL_ISA)
    # The extensions that set the matmul speed are named, or their absence.
    named = records.machine_line(dict(info, isa=["avx2", "avx512f"]))
    assert named.startswith(f"Machine: {cpu_name()} (avx2, avx512f), ")
    assert records.machine_line(dict(info, isa=[])).startswith(
        f"Machine: {cpu_name()} (none of avx2, "
    )
    assert records.machine_line(dict(info, isa=None)).startswith(f"Machine: {cpu_name()}, ")
    if info["load_average"]:
        assert f"load average {info['load_average'][0]:.2f}" in line
