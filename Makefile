# chanspec — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SEEDS ?= 0..39999

.PHONY: sim test browser lint typecheck coverage mutants conform bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,lona]'
	touch $(STAMP)

## The main job: a simulation campaign over many seeds and configurations (fresh seeds each
## run; the range is printed, and every failure prints the command that replays it).
sim: $(STAMP)
	$(PY) -m sim campaign --seeds $(SEEDS) --fresh

## The whole test suite, in parallel, with the derandomised CI Hypothesis profile.
test: $(STAMP) browser
	$(PY) -m pytest -n auto

## Chromium from Debian's packages, for the HTML failure view's browser test (idempotent).
## If it cannot be installed, make goes on and that test fails loudly; it never skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  { $$SUDO apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "WARNING: chromium could not be installed; tests/sim/test_htmlview.py will fail"; }

lint: $(STAMP)
	$(VENV)/bin/ruff check refimpl sim tests
	$(VENV)/bin/mypy --strict refimpl sim

typecheck: lint

## Branch coverage of refimpl/ and sim/ over the whole suite (xdist workers included).
coverage: $(STAMP)
	$(VENV)/bin/coverage erase
	$(VENV)/bin/coverage run -m pytest -n auto
	$(VENV)/bin/coverage combine -q
	$(VENV)/bin/coverage report

## Every mutant against the property suite's checks: a table of caught/not caught.
mutants: $(STAMP)
	$(PY) -m sim mutants

## Conformance report for Lona 1.16.2 (and the reference implementation).
conform: $(STAMP)
	$(PY) -m sim conform --impl lona --report conformance/lona.json --trace-dir conformance/traces
	$(PY) -m sim conform --impl lona-1worker --report conformance/lona-1worker.json --trace-dir conformance/traces

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,dev,lona,bench]'
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache .coverage* htmlcov traces
