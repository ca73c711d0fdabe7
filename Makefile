# SafeStream: `make run` starts the server (demo mode, SQLite, default model);
# `make test` runs lint, types and the whole test suite. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= ml,dash,load,broker,dev

.PHONY: install run dashboard test lint typecheck pytest bench bench-delivery soak clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel
	$(PY) -m pip install -q --disable-pip-version-check -e ".[$(EXTRAS)]"
	@touch $(STAMP)

install: $(STAMP)

# The server's environment, as in the Dockerfile: two glibc malloc arenas instead of up
# to 8 per core (docs/benchmarks.md, "Model memory").
SERVER_ENV := MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2}

run: install
	$(SERVER_ENV) SAFESTREAM_MODE=$${SAFESTREAM_MODE:-demo} $(VENV)/bin/safestream serve

dashboard: install
	$(VENV)/bin/safestream dashboard

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy actors safestream dashboard

pytest: install
	bash tests/services.sh
	$(PY) -m pytest

test: lint typecheck pytest

bench: install
	$(PY) load/bench_models.py
	$(PY) load/bench_fanout.py --start-server --viewers 200 --messages 20 --rate 2 --seconds 60

# The delivery targets of docs/benchmarks.md (T1-T5, 1 vs 2 processes): ~25 minutes, on a
# quiet machine; needs PostgreSQL and Redis (tests/services.sh) for the multi-process runs.
bench-delivery: install
	bash tests/services.sh
	PY=$(PY) bash load/bench_delivery.sh $${BENCH_OUT:-bench-results}

# Not part of `make test`: 30 minutes of mixed traffic against its own server (default
# model); writes docs/soak/soak.{csv,png,json}; fails if memory grows after the warm-up.
soak: install
	$(SERVER_ENV) $(PY) load/soak.py --minutes $${SOAK_MINUTES:-30}

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
