# styrkort — two commands do everything: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install system-deps run test test-fault soak lint unit integration bench format clean

# The native libraries WeasyPrint lays out the annual report's PDF with (Pango, HarfBuzz's
# subsetter) and a font, and the Chromium the browser tests drive (tests/browser, docs/adr/0018;
# Playwright never downloads a browser of its own): installed from Debian packages when missing,
# with sudo unless root.
SYSTEM_LIBS := libpangoft2-1.0 libharfbuzz-subset
SYSTEM_COMMANDS := chromium
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

system-deps:
	@(for lib in $(SYSTEM_LIBS); do PATH="$$PATH:/sbin:/usr/sbin" ldconfig -p | grep -q "$$lib" || exit 1; done; \
	  for cmd in $(SYSTEM_COMMANDS); do command -v "$$cmd" >/dev/null || exit 1; done) \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES))

$(STAMP): pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The whole system on the embedded PostgreSQL and broker; Ctrl-C stops it.
run: $(STAMP)
	$(BIN)/python -m infra.devstack

## Lint, type-check, then every test (unit, integration, e2e, browser).
test: lint
	$(BIN)/python -m pytest -p no:cacheprovider

## Fault injection: 20 random SIGKILLs under load, then the data checked (`make test` runs a
## short version). -s shows the seed, each kill and the accepted / lost / duplicated /
## retried counts on a passing run too. FAULT_SEED=N replays a run's kills.
FAULT_KILLS ?= 20
test-fault: $(STAMP)
	FAULT_KILLS=$(FAULT_KILLS) $(BIN)/python -m pytest -p no:cacheprovider -s tests/fault

## Steady mixed load on the dev stack for MINUTES; writes bench/results/soak.md and soak.svg.
MINUTES ?= 30
soak: $(STAMP)
	$(BIN)/python -m bench.soak --minutes $(MINUTES)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services/goals/domain services/goals/handlers.py services/plans/domain \
		services/goals/access.py services/plans/access.py services/reports services/gateway

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration tests/e2e tests/browser

## Every benchmark, one table, written to bench/results/latest.md and .json (QUICK=1: small
## sizes, within 3 minutes; the full run within 25 minutes on 2 cores).
QUICK ?=
bench: $(STAMP)
	$(BIN)/python -m bench $(if $(filter-out 0,$(QUICK)),--quick)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .dev
