# The two commands of the README: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test unit lint bench browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python -m bridge up

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# The tests spread over TEST_WORKERS pytest-xdist processes: most wait on sockets, processes and the
# database, not the CPU, so more workers than cores still pay. Tests marked `alone` run with nothing
# beside them (tests/turns.py). TEST_WORKERS=0 runs them one at a time.
TEST_WORKERS ?= 4
test: lint browser
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup

# The browser tests drive Debian's Chromium through Debian's chromedriver; nothing downloads a browser of
# its own. Installed here when missing and we can (root with apt-get, as CI is); otherwise they are skipped.
BROWSER_PACKAGES := chromium chromium-driver
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing $(BROWSER_PACKAGES) for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(BROWSER_PACKAGES); \
	else \
		echo "The browser tests need /usr/bin/chromium and /usr/bin/chromedriver and will be skipped:"; \
		echo "install Debian's $(BROWSER_PACKAGES) (sudo apt-get install $(BROWSER_PACKAGES))."; \
	fi

# The unit tier alone: decisions with fakes, no database, socket or sleep (seconds, not minutes).
unit: $(VENV)/.dev
	$(BIN)/pytest -q tests/unit

bench: $(VENV)/.dev
	$(BIN)/python -m bench.run
