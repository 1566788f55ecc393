# keras-wavelit developer entry points.
#   make demo   - the main job: simulate data, train, finetune, evaluate, write report/
#   make test   - the whole test suite, once per Keras backend, each in its own process
PYTHON ?= python3
VENV ?= .venv
BACKENDS ?= jax tensorflow torch
PYTEST_ARGS ?= --durations=15
EXTRAS ?= jax,tensorflow,torch,dev,well,sim
VPY := $(VENV)/bin/python

.PHONY: venv test demo bench-scaling clean

venv: $(VENV)/.installed

# torch is installed first and pinned (requirements/constraints.txt) so that no
# package can pull a multi-GB CUDA build of it.
$(VENV)/.installed: pyproject.toml requirements/constraints.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -c requirements/constraints.txt torch
	$(VPY) -m pip install -q -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	touch $@

test: venv
	@status=0; failed=""; \
	for b in $(BACKENDS); do \
	  echo "=== KERAS_BACKEND=$$b"; \
	  KERAS_BACKEND=$$b $(VPY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) || { status=1; failed="$$failed $$b"; }; \
	done; \
	if [ $$status -ne 0 ]; then echo "FAILED on backend(s):$$failed"; else echo "all backends passed: $(BACKENDS)"; fi; \
	exit $$status

demo: venv
	KERAS_BACKEND=$${KERAS_BACKEND:-jax} $(VENV)/bin/wavelit demo --out report

bench-scaling: venv
	$(VPY) benchmarks/scaling.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
