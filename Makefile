# Set-up is idempotent: each step leaves a stamp and reruns only when its inputs change.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# Under JupyterLab's root (notebooks/), where the tutorials build them (build("build/examples")) and the sidebar
# looks; git ignores every build/ folder.
EXAMPLES := notebooks/build/examples
LABEXT := drumnb/labextension/package.json
# Debian packages the tests and examples use: wrk (server benchmarks), R + caret (R models), a JDK (javac for POJOs),
# Chromium and fonts for the JupyterLab browser tests (Python Playwright drives /usr/bin/chromium).
DEB_PACKAGES := wrk r-base-core r-cran-caret r-cran-randomforest r-cran-glmnet r-cran-gbm r-cran-e1071 \
	r-cran-ranger r-cran-kernlab openjdk-17-jdk-headless chromium fonts-liberation

.PHONY: run test setup deb examples bench clean lab

# LAB=0 stops after the scoring (no JupyterLab) and says what to do next.
LAB ?= 1
run: setup $(LABEXT) examples ## build the example models, score each with `drumnb score`, then JupyterLab on the tutorials
	@$(PY) -m drumnb.examples --score $(EXAMPLES)
	@if [ "$(LAB)" != 0 ]; then \
	  echo "Starting JupyterLab on notebooks/ at 127.0.0.1 (Ctrl+C stops it); open the URL it prints:"; \
	  exec $(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser --ServerApp.root_dir=notebooks \
	    $$( [ "$$(id -u)" = 0 ] && echo --allow-root); \
	else \
	  $(PY) -m drumnb.examples --next $(EXAMPLES); \
	fi

test: setup $(LABEXT) ## the whole test suite
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

# The JupyterLab extension: built by `pip install -e` (hatch-jupyter-builder) from a clean clone; rebuilt here only
# when extension/ changed since, and then linked into the venv (jupyter labextension develop).
$(LABEXT): $(wildcard extension/src/*.ts extension/style/*) extension/package.json extension/yarn.lock | $(VENV)/.installed
	cd extension && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm install && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm build:prod
	$(VENV)/bin/jupyter labextension develop --overwrite .
	@touch $@

examples: setup
	@$(PY) -m drumnb.examples $(EXAMPLES)

bench: setup
	$(PY) benchmarks/score_bench.py

# JupyterLab on 127.0.0.1 with the drumnb extension linked from drumnb/labextension (rebuilt from extension/ first),
# so that `cd extension && jlpm build` and a page reload show front-end changes.
lab: setup
	cd extension && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm install && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm build
	$(VENV)/bin/jupyter labextension develop --overwrite .
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf build .pytest_cache
