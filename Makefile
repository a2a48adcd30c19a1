# Passerelle — the two commands of the README:
#   make run    install, load the demo data into the embedded SQLite database, start the app
#   make test   install (with dev tools and Chromium), run the whole test suite
#   make screenshots  one PNG per page and role under docs/img/ (demo data, headless Chromium)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test install install-dev lint bench screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

run: install
	./scripts/ensure-fonts.sh
	$(BIN)/passerelle demo
	$(BIN)/streamlit run passerelle_app.py --server.port $(PORT) --browser.gatherUsageStats false

test: install-dev
	./scripts/ensure-chromium.sh
	./scripts/ensure-fonts.sh
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: install-dev
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m benchmarks

screenshots: install-dev
	./scripts/ensure-chromium.sh
	$(BIN)/python scripts/screenshots.py
