# Yingshang — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_MONTH ?= 2026-10
DEMO_SEED ?= 7
DEMO_HISTORY ?= 12
DEMO_DIR ?= var
DB ?= sqlite:///$(DEMO_DIR)/warehouse.db

AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_BIN := $(AIRFLOW_VENV)/bin

.PHONY: help install fonts browser office encoder demo test lint model bench clean
.PHONY: airflow-install airflow-demo airflow-test airflow-celery-check

help:
	@echo "make demo   - install into $(VENV), generate a month of sample exports (and $(DEMO_HISTORY) months of history), run the nightly job,"
	@echo "              build the clue list and the report (SQLite at $(DEMO_DIR)/warehouse.db)"
	@echo "make test   - run the test suite (PostgreSQL tests run when YINGSHANG_TEST_PG_URL is set)"
	@echo "make fonts / browser / office - the CJK font, chromium and LibreOffice Calc some tests need (make test runs fonts)"
	@echo "make encoder - torch + transformers for an optional pretrained sentence encoder (docs/clues.md)"
	@echo "make lint   - ruff"
	@echo "make model  - rebuild the shipped area and sentiment models (nlp/models/)"
	@echo "make bench  - run the benchmarks in benchmarks/"
	@echo "make airflow-demo - Airflow standalone with the DAGs and the sample landing folder (separate venv)"
	@echo "make airflow-test - the DAG tests (dag.test() of nightly and monthly) in the Airflow venv"
	@echo "make airflow-install - the Airflow venv ($(AIRFLOW_VENV)); make airflow-celery-check - two Celery workers on this machine"
	@echo "make install - only create $(VENV) and install; make clean - remove the demo's landing files, outputs and warehouse"

$(BIN)/yingshang: requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(BIN)/yingshang

install: $(BIN)/yingshang

# The report's charts need a CJK font; install one from Debian's packages when we can (root + apt).
fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing a CJK font for the report charts (fonts-wqy-microhei)"; \
	  (apt-get install -y -qq fonts-wqy-microhei fontconfig >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fonts-wqy-microhei fontconfig >/dev/null)); \
	else echo "warning: no CJK font found; install fonts-wqy-microhei or fonts-noto-cjk for the report"; fi

# Headless Chromium for the report's browser test (skipped with a reason when absent).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing chromium for the report browser test"; \
	  (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null)); \
	else echo "warning: chromium not found; tests/test_report_browser.py will skip"; fi

# LibreOffice (headless Calc) for the test that prints the clue list and the ledger to PDF (skipped with a
# reason when absent).
office:
	@if command -v soffice >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing LibreOffice Calc (headless) for the workbook PDF test"; \
	  (apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null)); \
	else echo "warning: LibreOffice not found; the workbook PDF test will skip"; fi

# Optional: torch and transformers for a pretrained sentence encoder in the clue grouping
# (config/clues.yaml grouping.encoder; docs/clues.md). pip leaves the runtime pins as they are (nothing is upgraded).
encoder: install
	$(BIN)/python -m pip install --quiet -r requirements-encoder.txt

# The salt of the demo's hashes lives with its warehouse (DEMO_DIR=/elsewhere wrote var/hash_salt here).
demo: export YINGSHANG_SALT_FILE ?= $(DEMO_DIR)/hash_salt
demo: install fonts
	$(BIN)/yingshang sample --out $(DEMO_DIR)/landing --month $(DEMO_MONTH) --seed $(DEMO_SEED) --history $(DEMO_HISTORY)
	$(BIN)/yingshang --db $(DB) db upgrade
	$(BIN)/yingshang --db $(DB) run --landing $(DEMO_DIR)/landing
	$(BIN)/yingshang --db $(DB) clues --month $(DEMO_MONTH) --out $(DEMO_DIR)/out/问题线索清单_$(DEMO_MONTH).xlsx
	$(BIN)/yingshang --db $(DB) report --month $(DEMO_MONTH) --out $(DEMO_DIR)/out/report_$(DEMO_MONTH)
	$(BIN)/yingshang --db $(DB) summary --month $(DEMO_MONTH) --landing $(DEMO_DIR)/landing --outputs $(DEMO_DIR)/out

test: install fonts
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

model: install
	$(BIN)/python scripts/build_models.py --shared ../shared/data --real-train none

bench: install
	$(BIN)/python benchmarks/bench_tokenize.py
	$(BIN)/python benchmarks/bench_load.py --rows 200000

clean:
	rm -rf $(DEMO_DIR)/landing $(DEMO_DIR)/out $(DEMO_DIR)/warehouse.db*

# Airflow lives in its own venv: it is heavy, and the pipeline runs without it.
$(AIRFLOW_BIN)/airflow: requirements.txt requirements-dev.txt requirements-airflow.txt pyproject.toml
	@test -x $(AIRFLOW_BIN)/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_BIN)/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_BIN)/python -m pip install --quiet -r requirements-dev.txt -r requirements-airflow.txt
	$(AIRFLOW_BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(AIRFLOW_BIN)/airflow

airflow-install: $(AIRFLOW_BIN)/airflow

airflow-demo: airflow-install fonts
	AIRFLOW_VENV=$(AIRFLOW_VENV) DEMO_DIR=$(DEMO_DIR) DEMO_MONTH=$(DEMO_MONTH) DEMO_SEED=$(DEMO_SEED) bash scripts/airflow_demo.sh

airflow-test: airflow-install
	$(AIRFLOW_BIN)/python -m pytest -q tests/test_dags.py

airflow-celery-check: airflow-install
	AIRFLOW_VENV=$(AIRFLOW_VENV) bash scripts/celery_check.sh
