# Two commands do all setup on a fresh clone: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The machines this project is built on keep a CPU build of torch on local disk; pinning it
# here keeps setup to seconds. Users installing with pip elsewhere get the `torch>=2.3` range.
TORCH_PIN ?= torch==2.13.0

.PHONY: demo test lint bench clean browser

$(BIN)/ganclust: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_PIN)"
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

demo: $(BIN)/ganclust
	$(BIN)/ganclust fit --out runs/demo --overwrite --random-state 0 --report

test: $(BIN)/ganclust
	$(BIN)/python -m pytest -q

# Headless Chromium for tests/test_report.py, which opens report.html in a real browser (the
# test skips, saying why, without it). Installed only where it is missing and we are root with
# apt-get (CI: .ci/run); elsewhere this says how to get it and carries on.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update && apt-get install -y chromium) \
	    || echo "chromium could not be installed: tests/test_report.py's browser test will skip"; \
	else echo "no $(CHROMIUM) (apt-get install chromium as root): the browser test will skip"; fi

lint: $(BIN)/ganclust
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(BIN)/ganclust
	$(BIN)/python benchmarks/accuracy.py

clean:
	rm -rf $(VENV) runs build src/*.egg-info
