# chanspec — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SEEDS ?= 0..39999

.PHONY: sim sim-net test browser redis-server lint typecheck coverage mutants conform conform-corpus bench lona-compat chromium clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,lona,redis]'
	touch $(STAMP)

## The main job: a simulation campaign over many seeds and configurations (fresh seeds each
## run; the range is printed, and every failure prints the command that replays it).
sim: $(STAMP)
	$(PY) -m sim campaign --seeds $(SEEDS) --fresh

## The simulated fault campaign of the networked broker (issue 15, spec section 20): several
## processes on a simulated stream server, with connection cuts and delays, process kills and
## server restarts, three correct brokers on every seed and each broker mutant until caught.
## Failing traces go to .simnet/; each failure prints its one-line replay command.
NET_SEEDS ?= 0..299
sim-net: $(STAMP)
	$(PY) -m sim.net campaign --seeds $(NET_SEEDS) --out .simnet

## The whole test suite, in parallel, with the derandomised CI Hypothesis profile.
test: $(STAMP) browser redis-server
	$(PY) -m pytest -n auto

## Chromium from Debian's packages, for the HTML failure view's browser test (idempotent).
## If it cannot be installed, make goes on and that test fails loudly; it never skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  { $$SUDO apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "WARNING: chromium could not be installed; tests/sim/test_htmlview.py will fail"; }

## Debian's redis-server, for the multi-process tests in tests/redis (idempotent). They start
## their own servers on free loopback ports; CHANSPEC_REDIS_URL points them at an existing one.
## If it cannot be installed, make goes on and those tests fail loudly; they never skip.
redis-server:
	@command -v redis-server >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  { $$SUDO apt-get update -qq && \
	    $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } || \
	  echo "WARNING: redis-server could not be installed; tests/redis will fail"; }

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
	$(PY) -m sim mutants --json conformance/mutants.json

## Conformance reports (default budget): Lona 1.16.2 (default settings and one task worker),
## and the issue-16 mutants (each must be reported on the clause it breaks). Text and JSON
## go to conformance/, counterexample traces to conformance/traces/. Exit 1 = violations.
CONFORM_MUTANTS := regex_by_replacement accept_any_send_while_draining batch_expiry_check \
	requeue_at_tail_after_raise registry_race
conform: $(STAMP)
	rm -f conformance/traces/conform-*
	for impl in lona lona-1worker; do \
	  $(PY) -m sim conform --impl $$impl --report conformance/$$impl.json \
	    --trace-dir conformance/traces > conformance/$$impl.txt; \
	  s=$$?; head -3 conformance/$$impl.txt; test $$s -le 1 || exit $$s; done
	for m in $(CONFORM_MUTANTS); do \
	  $(PY) -m sim conform --impl mutant:$$m --report conformance/mutant-$$m.json \
	    --trace-dir conformance/traces > conformance/mutant-$$m.txt; \
	  s=$$?; head -1 conformance/mutant-$$m.txt; test $$s -eq 1 || exit 1; done

## The conformance corpus (examples/corpus): every control must conform and every planted bug
## be reported on its clauses, at conform's default budget; prints a table with wall and CPU time.
conform-corpus: $(STAMP)
	$(PY) -m examples.corpus

bench: $(STAMP) redis-server
	$(PY) -m pip install --quiet -e '.[test,dev,lona,redis,bench]'
	$(PY) -m bench

## Lona 1.16.2's own channel tests, unmodified, on refimpl (through refimpl.lona), plus the chat
## app on a real Lona server. Own venv (Lona pins pytest 8); Lona's tests/test_channels.py is taken
## from its sdist at run time (never committed); the browser is Debian's Chromium.
LONA_VENV := .venv-lona
LONA_STAMP := $(LONA_VENV)/.installed
LONA_TESTS := build/lona-compat/test_channels.py
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(LONA_STAMP): pyproject.toml
	test -x $(LONA_VENV)/bin/python || $(PYTHON) -m venv $(LONA_VENV)
	$(LONA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LONA_VENV)/bin/python -m pip install --quiet -e '.[lona-test]'
	touch $(LONA_STAMP)

$(LONA_TESTS): | $(LONA_STAMP)
	rm -rf build/lona-sdist && mkdir -p build/lona-sdist build/lona-compat
	$(LONA_VENV)/bin/python -m pip download --quiet --no-binary :all: --no-deps -d build/lona-sdist lona==1.16.2
	tar -xzf build/lona-sdist/lona-1.16.2.tar.gz -C build/lona-sdist lona-1.16.2/tests/test_channels.py
	cp build/lona-sdist/lona-1.16.2/tests/test_channels.py $(LONA_TESTS)

chromium:
	command -v chromium >/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

lona-compat: $(LONA_STAMP) $(LONA_TESTS) chromium
	$(LONA_VENV)/bin/python -m pytest -c tests/lona_compat/pytest.ini --rootdir=. \
		--confcutdir=tests/lona_compat $(LONA_TESTS) tests/lona_compat

clean:
	rm -rf $(VENV) $(LONA_VENV) build/lona-compat build/lona-sdist .pytest_cache .hypothesis .mypy_cache .ruff_cache .coverage* htmlcov traces
