# Quick start: `make demo` (a demo organisation served on http://127.0.0.1:8000) and `make test` (the full suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-analytics clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "survey needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/survey demo

test: $(STAMP) chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser test drives Debian's chromium; install it when we can (as root with apt), otherwise say what is missing.
chromium:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } \
	  || { echo "The browser test needs /usr/bin/chromium (Debian package 'chromium')."; exit 1; }

bench: $(STAMP)
	$(BIN)/python bench/intake.py

# The linkage of a round from the database, on SQLite and PostgreSQL (see bench/README.md); a few minutes.
bench-analytics: $(STAMP)
	$(BIN)/python bench/analytics.py

clean:
	rm -rf $(VENV) survey-demo.db survey-demo.db-wal survey-demo.db-shm
