# Set-up is idempotent: each step leaves a stamp and reruns only when its inputs change.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
EXAMPLES := build/examples

.PHONY: run test setup examples bench clean

run: setup examples ## build the example models and score each with `drumnb score`
	@$(PY) -m drumnb.examples --score $(EXAMPLES)

test: setup ## the whole test suite
	$(VENV)/bin/pytest -q -p no:cacheprovider

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	@touch $@

examples: setup
	@$(PY) -m drumnb.examples $(EXAMPLES)

bench: setup
	$(PY) benchmarks/score_bench.py

clean:
	rm -rf build .pytest_cache
