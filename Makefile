# Set-up is idempotent: each step leaves a stamp and reruns only when its inputs change.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
EXAMPLES := build/examples
# Debian packages the tests and examples use: wrk (server benchmarks), R + caret (R models), a JDK (javac for POJOs).
DEB_PACKAGES := wrk r-base-core r-cran-caret r-cran-randomforest r-cran-glmnet r-cran-gbm r-cran-e1071 \
	r-cran-ranger r-cran-kernlab openjdk-17-jdk-headless

.PHONY: run test setup deb examples bench clean

run: setup examples ## build the example models and score each with `drumnb score`
	@$(PY) -m drumnb.examples --score $(EXAMPLES)

test: setup ## the whole test suite
	$(VENV)/bin/pytest -q -p no:cacheprovider

setup: deb $(VENV)/.installed

# Installs only what is missing (dpkg -s), so a second run costs a second.
deb:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "warning: missing Debian packages (run as root to install): $$missing"; fi; \
	fi

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
