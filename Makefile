# keras-wavelit developer entry points.
#   make demo   - the main job: simulate data, train, finetune, evaluate, write report/
#   make test   - the whole test suite, once per Keras backend, each in its own process
#   make lint   - ruff over the whole tree
PYTHON ?= python3
VENV ?= .venv
BACKENDS ?= jax tensorflow torch
PYTEST_ARGS ?= --durations=15
TEST_JOBS ?= 0
EXTRAS ?= jax,tensorflow,torch,dev,well,sim,tune,viz
VPY := $(VENV)/bin/python
BENCH_VENV ?= .venv-bench
BPY := $(BENCH_VENV)/bin/python

.PHONY: lint venv test demo bench-scaling bench-venv bench-baselines clean

venv: $(VENV)/.installed

# torch is installed first and pinned (requirements/constraints.txt) so that no
# package can pull a multi-GB CUDA build of it. graphviz (dot, for
# keras.utils.plot_model with the viz extra's pydot) is installed when root
# and apt-get allow it; without it the rule still succeeds.
$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -c requirements/constraints.txt torch
	$(VPY) -m pip install -q -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	-if ! command -v dot >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  timeout 600 apt-get install -y -q graphviz >/dev/null 2>&1 || \
	  { timeout 300 apt-get update -q >/dev/null 2>&1 && \
	    timeout 600 apt-get install -y -q graphviz >/dev/null 2>&1; } || \
	  echo "graphviz not installed: keras.utils.plot_model needs its dot"; \
	fi
	touch $@

# One process per backend (Keras reads KERAS_BACKEND once); they run side by
# side on a machine with several cores (TEST_JOBS=1: one after the other).
test: venv
	$(VPY) tests/run_backends.py --backends "$(BACKENDS)" --jobs $(TEST_JOBS) -- $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

demo: venv
	KERAS_BACKEND=$${KERAS_BACKEND:-jax} $(VENV)/bin/wavelit demo --out report

bench-scaling: venv
	$(VPY) benchmarks/scaling.py

# The benchmark environment: The Well's baseline models (the_well[benchmark],
# neuraloperator 0.3.0, timm) need torchvision, so it takes PyPI's matching
# torch/torchvision pair (requirements/bench-constraints.txt), not the CPU-only
# torch of .venv.
bench-venv: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed: pyproject.toml requirements/constraints.txt requirements/bench-constraints.txt
	test -x $(BPY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BPY) -m pip install -q --upgrade pip
	grep -v '^torch==' requirements/constraints.txt > $(BENCH_VENV)/constraints.txt
	cat requirements/bench-constraints.txt >> $(BENCH_VENV)/constraints.txt
	$(BPY) -m pip install -q -c $(BENCH_VENV)/constraints.txt torch torchvision
	$(BPY) -m pip install -q -c $(BENCH_VENV)/constraints.txt -e ".[jax,torch,well,sim,bench]"
	touch $@

bench-baselines: bench-venv
	KERAS_BACKEND=$${KERAS_BACKEND:-jax} $(BPY) benchmarks/vs_well_baselines.py --threads 1

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache build *.egg-info
