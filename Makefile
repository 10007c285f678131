# Quick start: `make demo` (a demo organisation served on http://127.0.0.1:8000) and `make test` (the full suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint axe oidc messages bench bench-analytics bench-reports bench-cli bench-load pdf-libraries chromium clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "survey needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

demo: $(STAMP) pdf-libraries
	$(BIN)/survey demo

# The whole suite, on every core: SQLite, and PostgreSQL too when SURVEY_TEST_DATABASE_URL names a database.
test: $(STAMP) chromium axe oidc pdf-libraries
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The quick loop while working: the pure and database tests on SQLite, without the slow ones (under a minute).
test-fast: $(STAMP) pdf-libraries
	SURVEY_TEST_DATABASE_URL= $(BIN)/python -m pytest -n auto -m "(pure or db) and not slow" $(PYTEST_ARGS)

# The linters and checkers (CI runs them before the tests): style and common bugs, types (strict on the pure
# modules), the import contracts between packages, and no function over 80 lines.
LINTED := src tests bench tools
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/function_length.py $(LINTED)

# The PDF reports are rendered by WeasyPrint, which needs Pango (and HarfBuzz, fontconfig) from the system; install
# them when we can (as root with apt), otherwise say what is missing.
pdf-libraries: $(STAMP)
	@$(BIN)/python -c 'import weasyprint' 2>/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 \
	      libharfbuzz-subset0 >/dev/null) && $(BIN)/python -c 'import weasyprint' ; } \
	  || { echo "The PDF reports need Pango: install the Debian packages libpango-1.0-0 and libpangoft2-1.0-0."; exit 1; }

# The browser test drives Debian's chromium; install it when we can (as root with apt), otherwise say what is missing.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } \
	  || { echo "The browser test needs /usr/bin/chromium (Debian package 'chromium')."; exit 1; }

# The browser tests check the surveys against WCAG 2.2 AA with axe-core, from npm, kept in .cache/axe.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null) ; } \
	  || { echo "The accessibility test needs npm (Debian package 'npm') to fetch axe-core."; exit 1; }
	npm install --no-save --no-audit --no-fund --silent --prefix .cache/axe axe-core@4

# The sign-in tests run a real OpenID provider (the npm package oidc-provider, tests/oidc/provider.mjs) on
# loopback; it is kept in .cache/oidc.
OIDC_PROVIDER := .cache/oidc/node_modules/oidc-provider/package.json
oidc: $(OIDC_PROVIDER)
$(OIDC_PROVIDER):
	@command -v npm >/dev/null || { echo "The sign-in tests need node and npm (Debian package 'npm')."; exit 1; }
	npm install --no-save --no-audit --no-fund --silent --prefix .cache/oidc oidc-provider@9

bench: $(STAMP)
	$(BIN)/python bench/intake.py

# The linkage of a round from the database, on SQLite and PostgreSQL (see bench/README.md); a few minutes.
bench-analytics: $(STAMP)
	$(BIN)/python bench/analytics.py

# A support-function report against plain text of as many pages, and every report of a 40-unit round (see
# bench/README.md); about a minute.
bench-reports: $(STAMP) pdf-libraries
	$(BIN)/python bench/reports.py

# How long the `survey` command takes to start (see bench/README.md); half a minute.
bench-cli: $(STAMP)
	$(BIN)/python bench/cli.py

# Two servers on PostgreSQL under load, one killed with SIGKILL and restarted: nothing lost or stored twice (see
# bench/README.md); a minute or two. Needs the PostgreSQL role of $SURVEY_BENCH_DATABASE_URL (default survey_ci).
bench-load: $(STAMP)
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .cache survey-demo.db survey-demo.db-wal survey-demo.db-shm survey-demo-reports

# The respondents' messages: extract them again (babel.cfg) into src/survey/locale/messages.pot and update every
# language's catalog; then translate what is new (tests/test_languages.py fails until every message is).
messages: $(STAMP)
	$(BIN)/python tools/messages.py
