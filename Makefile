# The two commands of the quick start are `make dev` and `make test`; each
# creates .venv and installs the project into it when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c "import hashlib;print(hashlib.sha1(open('pyproject.toml','rb').read()).hexdigest()[:12])")
# checkov pins libraries the project pins differently: it gets a venv of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV := .venv-checkov/bin/checkov

.PHONY: dev test test-py312 test-fast fuzz chaos soak screenshots lint format bench images images-push synth lock clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet checkov==$(CHECKOV_VERSION)

dev: $(STAMP)
	$(VENV)/bin/queuefirst dev $(ARGS)

test: $(STAMP) $(CHECKOV)
	CHECKOV=$(CHECKOV) $(PY) -m pytest $(ARGS)

# The images' default Python: the kit and its real-server tests in a venv of its own.
PY312 ?= python3.12
test-py312:
	$(MAKE) VENV=.venv312 PYTHON=$(PY312) test ARGS="tests/unit tests/integration $(ARGS)"

# schemathesis against `queuefirst dev` running the shop, long: at least 2,000 cases, a fresh seed.
FUZZ_EXAMPLES ?= 80
fuzz: $(STAMP)
	QUEUEFIRST_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/e2e/test_contract.py -s -q $(ARGS)

# The chaos run at scale (make test runs 600 commands): runtimes SIGKILLed, PostgreSQL restarted;
# and the FIFO group-order scenario 200 times beside busy loops (make test runs it 20 times).
CHAOS_COMMANDS ?= 5000
FIFO_STRESS_RUNS ?= 200
chaos: $(STAMP)
	QUEUEFIRST_CHAOS_COMMANDS=$(CHAOS_COMMANDS) QUEUEFIRST_FIFO_STRESS_RUNS=$(FIFO_STRESS_RUNS) \
	  $(PY) -m pytest tests/chaos -s -q $(ARGS)

# The convergence property at length (make test runs 200 examples); prints its runtime.
SOAK_EXAMPLES ?= 2000
soak: $(STAMP)
	QUEUEFIRST_PROPERTY_EXAMPLES=$(SOAK_EXAMPLES) $(PY) -m pytest tests/shop/test_property.py -q \
	  --timeout 7200 --durations=1 $(ARGS)

# The console's screenshots the README shows, taken by its browser tests (make test keeps them in /tmp).
screenshots: $(STAMP)
	QUEUEFIRST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(PY) -m pytest tests/e2e/test_admin_console.py -q $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest tests/unit $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench infra
	$(VENV)/bin/ruff format --check src tests bench infra
	$(VENV)/bin/mypy --strict src
	cd infra && MYPYPATH=../src ../$(VENV)/bin/mypy --strict --config-file ../pyproject.toml queuefirst_infra app.py

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench infra
	$(VENV)/bin/ruff check --fix src tests bench infra

# Every benchmark, each a ratio measured in one run; tables in bench/results/latest.md.
bench: $(STAMP)
	$(PY) bench/worker_apply.py --write
	$(PY) bench/cold_start.py --write
	$(PY) bench/e2e_local.py --write
	$(PY) bench/invoke_overhead.py
	$(PY) bench/gateway_load.py

# One image per function on a shared base (docker buildx bake); see images/README.md.
images: $(STAMP)
	scripts/install-docker.sh
	$(VENV)/bin/queuefirst bakefile
	PYTHON_BASE=$$(scripts/make-python-base.sh) FINGERPRINTS=$$($(VENV)/bin/queuefirst plan --fingerprints) \
	  FINGERPRINT_PARTS=$$($(VENV)/bin/queuefirst plan --fingerprint-parts) \
	  SCHEMA_REVISIONS=$$($(VENV)/bin/queuefirst plan --schema-revisions) docker buildx bake

images-push: $(STAMP)
	scripts/install-docker.sh
	scripts/start-registry.sh
	$(VENV)/bin/queuefirst bakefile
	PYTHON_BASE=$$(scripts/make-python-base.sh) FINGERPRINTS=$$($(VENV)/bin/queuefirst plan --fingerprints) \
	  FINGERPRINT_PARTS=$$($(VENV)/bin/queuefirst plan --fingerprint-parts) \
	  SCHEMA_REVISIONS=$$($(VENV)/bin/queuefirst plan --schema-revisions) REGISTRY=localhost:5000/ docker buildx bake --push

synth: $(STAMP)
	cd infra && ../$(PY) app.py

lock:
	scripts/lock.sh

clean:
	rm -rf $(VENV) .venv312 .venv-checkov .queuefirst .pytest_cache .mypy_cache .ruff_cache .hypothesis
