# The course's entry points. Each target creates .venv and installs what is missing,
# so on a fresh machine `make book` and `make test` are the whole set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# MathJax 3, served with the site so that the math renders offline.
MATHJAX_VERSION := 3.2.2
MATHJAX := _mathjax/mathjax
# Each chapter as a ready-to-run .ipynb, served beside its page.
IPYNB := _ipynb/notebooks
# The chapter `make fresh-install` runs in a brand-new environment.
FRESH_CHAPTER := notebooks/05_initialization.md
# Debian's Chromium for the browser tests (its own download cannot work offline).
CHROMIUM := /usr/bin/chromium
# The pinned versions: when they change, every executed output is dropped. (A change of
# coursepkg re-executes only the chapters that use the changed code: book/_ext/notebook_deps.py.)
DEPS_HASH = $(shell cat constraints.txt | sha256sum | cut -c1-16)

.PHONY: help install deps-check book site-test fresh-install student instructor test lint format bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[book,test,teach,browser,lab]'
	touch $@

install: $(STAMP)  ## create .venv and install the package with the book and test tools

$(MATHJAX)/tex-chtml.js:
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)
	cd $(MATHJAX) && npm pack --silent mathjax@$(MATHJAX_VERSION) > /dev/null \
		&& tar xzf mathjax-$(MATHJAX_VERSION).tgz --strip-components=2 package/es5 \
		&& rm mathjax-$(MATHJAX_VERSION).tgz

$(CHROMIUM):
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

deps-check:
	@if [ "$$(cat _build/.deps-hash 2>/dev/null)" != "$(DEPS_HASH)" ]; then \
		echo "constraints.txt changed: dropping every executed output"; rm -rf _build; \
		mkdir -p _build && echo "$(DEPS_HASH)" > _build/.deps-hash; fi

book: $(STAMP) $(MATHJAX)/tex-chtml.js deps-check  ## execute the notebooks and build the website into _build/html
	mkdir -p $(IPYNB) && for f in notebooks/[0-9][0-9]_*.md; do \
		$(BIN)/jupytext --quiet --to ipynb "$$f" -o "$(IPYNB)/$$(basename "$${f%.md}").ipynb"; done
	@# An inherited MPLBACKEND (CI sets Agg) would keep the kernels from showing figures.
	@# On failure, show the tracebacks of the notebooks that raised (myst-nb files them away).
	env -u MPLBACKEND $(BIN)/jupyter-book build . -W -n --keep-going \
		|| { cat _build/html/reports/notebooks/*.err.log 2>/dev/null; exit 1; }

student: $(STAMP)  ## write the student edition (no solutions, outputs cleared) to _build/student
	$(BIN)/python -m coursepkg student-edition _build/student

instructor: book  ## copy the executed chapters, solutions included, to _build/instructor
	$(BIN)/python -m coursepkg instructor-edition _build/instructor

lint: $(STAMP)  ## ruff: style and static checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check coursepkg tests benchmarks conftest.py book/_ext

# The tests execute every chapter once (nbmake, through conftest.py) and hand the outputs
# to the book's cache; the book build then executes nothing, and a kernel it started
# would stop it (tests/offline/no-kernel.py). Two workers, one thread each: on 2 cores
# that is faster than one worker with 2 threads, whose small matrix products barely
# use the second core.
test: lint deps-check  ## every test: lint, unit, chapters, student edition, grading; the book; the site in a browser
	env -u MPLBACKEND OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist worksteal \
		--nbmake tests notebooks --ignore=tests/site
	profile=$$(mktemp -d) && mkdir -p $$profile/profile_default/startup \
		&& cp tests/offline/no-kernel.py $$profile/profile_default/startup/ \
		&& IPYTHONDIR=$$profile $(MAKE) book
	$(MAKE) site-test
	$(MAKE) fresh-install

site-test: $(STAMP) $(CHROMIUM)  ## open every page of the built site in headless Chromium
	$(BIN)/python -m pytest tests/site

fresh-install:  ## install the course as a student does into a brand-new venv, and run a chapter there
	@# The package and JupyterLab, nothing more: a missing dependency cannot hide behind .venv.
	rm -rf _build/fresh-venv && $(PYTHON) -m venv _build/fresh-venv
	_build/fresh-venv/bin/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt '.[lab]'
	_build/fresh-venv/bin/jupytext --to ipynb $(FRESH_CHAPTER) -o _build/fresh-venv/chapter.ipynb
	cd "$$(mktemp -d)" && COURSE_QUICK=1 $(CURDIR)/_build/fresh-venv/bin/jupyter execute --timeout=600 \
		$(CURDIR)/_build/fresh-venv/chapter.ipynb
	rm -rf _build/fresh-venv

format: $(STAMP)  ## format the code with ruff
	$(BIN)/ruff format coursepkg tests benchmarks conftest.py book/_ext

clean:  ## remove the build and the virtual environment
	rm -rf _build _mathjax _ipynb $(VENV)

bench: $(STAMP)  ## time every chapter, fit() against a bare loop, and the tests, against the budgets
	$(BIN)/python benchmarks/bench.py
