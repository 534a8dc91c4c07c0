# Exposure: `make run` starts the site (and a Celery worker where Redis answers); `make test` runs the suite.
# `make run` installs requirements.txt only; `make test`, `lint` and `bench` add requirements-dev.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
LOCAL_REDIS ?= redis://127.0.0.1:6379/0

# MYPY=0 leaves mypy out of `make lint` (a quicker check while editing; CI always runs it).
MYPY ?= 1
# AUDIT=0 leaves the dependency audit (network) out of `make lint`.
AUDIT ?= 1
# pytest-xdist workers for `make test-fast`; the full `make test` stays serial (the real-worker,
# fault and load tests share one broker and purge its queues).
FAST_WORKERS ?= 2

.PHONY: run setup test test-fast lint audit dev worker bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

dev: $(VENV)/.installed-dev

# Redis is used when REDIS_URL is set or a local Redis answers; otherwise tasks run eagerly.
REDIS_PROBE = $(PY) -c "import os,sys,redis; url=os.environ.get('REDIS_URL') or '$(LOCAL_REDIS)'; \
  redis.Redis.from_url(url, socket_connect_timeout=1).ping(); print(url)" 2>/dev/null

setup: $(VENV)/.installed
	@export REDIS_URL=$$($(REDIS_PROBE)); \
	$(PY) manage.py migrate --noinput -v0 && \
	$(PY) manage.py collectstatic --noinput -v0 && \
	$(PY) manage.py survey_import --if-missing && \
	$(PY) manage.py statistics_rebuild --if-missing && \
	$(PY) manage.py classifier_setup && \
	$(PY) manage.py create_researcher

run: setup
	@export REDIS_URL=$$($(REDIS_PROBE)); \
	if [ -n "$$REDIS_URL" ]; then \
	  echo "Redis answers at $$REDIS_URL: starting a Celery worker (with the periodic sweep)."; \
	  $(VENV)/bin/celery -A config worker --beat -Q default,exports --loglevel INFO --concurrency 2 \
	    --schedule var/celerybeat-schedule & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	else \
	  echo "No Redis: Celery tasks run eagerly inside the web process."; \
	fi; \
	echo "Exposure runs at http://$(HOST):$(PORT)/  (researchers: http://$(HOST):$(PORT)/admin/)"; \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

worker: $(VENV)/.installed
	$(VENV)/bin/celery -A config worker -Q default,exports --loglevel INFO

test: $(VENV)/.installed-dev
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: everything but the slow tests (browser, worker, subprocess, load, fault,
# memory), on FAST_WORKERS processes. `make test` still runs the whole suite.
test-fast: $(VENV)/.installed-dev
	$(PY) -m pytest -m "not slow" -n $(FAST_WORKERS) $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
ifneq ($(MYPY),0)
	$(VENV)/bin/mypy
endif
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit -c pyproject.toml -r config surveys classifier -ll -q
ifneq ($(AUDIT),0)
	$(PY) tools/audit.py --unreachable-ok
endif

# Known vulnerabilities of the pinned requirements: pip-audit where its service answers, else
# PyPI's package-level JSON; tools/audit.py prints which, and what it could not check.
audit: $(VENV)/.installed-dev
	$(PY) tools/audit.py

# Benchmarks against same-run baselines, with PostgreSQL and Redis started if they are down.
# BENCH_COUNT responses in the database benches and `results` (default 1,000,000);
# BENCH_ONLY="submit classify" runs some of them; BENCH_RESPONSES (submit) and BENCH_TEXTS
# (classify) size the others.
bench: $(VENV)/.installed-dev
	bash bench/services.sh
	$(PY) bench/run_all.py $(if $(BENCH_COUNT),--count $(BENCH_COUNT)) \
	  $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) $(if $(BENCH_SKIP),--skip $(BENCH_SKIP)) \
	  $(if $(BENCH_RESPONSES),--responses $(BENCH_RESPONSES)) \
	  $(if $(BENCH_TEXTS),--texts $(BENCH_TEXTS)) $(if $(BENCH_QUICK),--quick)

clean:
	rm -rf var/static var/celerybeat-schedule .pytest_cache
