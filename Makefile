# news-worker: everything a developer runs, in one place.
#   make demo   - the real thing end to end on a local Kafka it starts (and stops) itself
#   make test   - the whole suite: unit, functional and integration against a real broker
#   make test-cluster - fault tests on a real 3-node Kafka cluster (CI runs both)
# Needs Python 3.11+, Java 17+ and Maven on PATH (Kafka jars come from Maven Central).

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
KAFKA_PORT  ?= 9092
NODES       ?= 1
PYTEST_ARGS ?=
BENCH_ARGS  ?=

.PHONY: setup lock test test-cluster test-unit demo kafka-up kafka-down kafka-status check lint typecheck bench clean

# Reinstall only when the package metadata or the pins changed (idempotent, fast when
# nothing did). requirements/constraints.txt pins every dependency to the tested version;
# requirements/dev.txt (made from it by `make lock`) adds every file's sha256: pip refuses
# anything else (--require-hashes), pip and the build backend included. The package itself
# is then installed editable with no dependencies and no isolated (unchecked) build env.
$(STAMP): pyproject.toml requirements/constraints.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "news-worker needs Python 3.11+, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check --disable-pip-version-check >/dev/null || $(PY) -m pip check
	@touch $(STAMP)

setup: $(STAMP)

# Regenerate the hash-pinned locks from requirements/constraints.txt (edit the pins there,
# then `make lock`, `make setup`, `make test`). pip-tools runs in its own venv, .venv-lock.
# dev.txt: everything `make setup` installs (all extras); runtime.txt: the Dockerfile's.
LOCK_TOOLS  := .venv-lock/bin/pip-compile
COMPILE     := $(LOCK_TOOLS) --quiet --generate-hashes --allow-unsafe --strip-extras \
               --no-emit-find-links -c requirements/constraints.txt
lock:
	@test -x $(LOCK_TOOLS) || { $(PYTHON) -m venv .venv-lock && \
	    .venv-lock/bin/pip install --quiet --disable-pip-version-check pip==26.3 pip-tools==7.6.2; }
	$(COMPILE) --all-extras -o requirements/dev.txt pyproject.toml requirements/build.in
	$(COMPILE) -o requirements/runtime.txt pyproject.toml requirements/build.in

# The whole suite but the cluster tests. Integration tests start their own broker on free
# ports (tests/conftest.py) and stop it at the end; none of them is skipped for lack of one.
test: setup
	$(PY) -m pytest -p no:cacheprovider --ignore=tests/cluster $(PYTEST_ARGS)

# Fault tests on a real 3-node Kafka cluster (tests/cluster: leader crash, zombie worker,
# rolling deploy, scaling, a seeded crash soak); the cluster starts and stops with pytest.
# Separate because they take minutes; CI (.ci/run) runs both targets.
test-cluster: setup
	$(PY) -m pytest -p no:cacheprovider tests/cluster $(PYTEST_ARGS)

# Fast feedback: no broker. Two pytest-xdist workers: most of this suite's wall time is spent
# waiting (extraction processes starting, agents' timers), not computing.
test-unit: setup
	$(PY) -m pytest -p no:cacheprovider -n 2 tests/unit tests/functional $(PYTEST_ARGS)

demo: setup
	@PYTHON=$(PY) KAFKA_PORT=$(KAFKA_PORT) tools/demo.sh

kafka-up:
	$(PYTHON) -m tools.kafka up --port $(KAFKA_PORT) --nodes $(NODES)

kafka-down:
	$(PYTHON) -m tools.kafka down --port $(KAFKA_PORT)

kafka-status:
	$(PYTHON) -m tools.kafka status --port $(KAFKA_PORT)

lint: setup
	$(PY) -m ruff check worker tests tools bench

typecheck: setup
	$(PY) -m mypy

check: lint typecheck

bench: setup
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .kafka .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info
