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
# Debian's Chromium for the browser tests (its own download cannot work offline).
CHROMIUM := /usr/bin/chromium
# What the executed outputs depend on besides the notebooks themselves.
CODE_HASH = $(shell cat constraints.txt $$(find coursepkg -name '*.py' | sort) | sha256sum | cut -c1-16)

.PHONY: help install book site-test student instructor test lint format bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[book,test,teach,browser]'
	touch $@

install: $(STAMP)  ## create .venv and install the package with the book and test tools

$(MATHJAX)/tex-chtml.js:
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)
	cd $(MATHJAX) && npm pack --silent mathjax@$(MATHJAX_VERSION) > /dev/null \
		&& tar xzf mathjax-$(MATHJAX_VERSION).tgz --strip-components=2 package/es5 \
		&& rm mathjax-$(MATHJAX_VERSION).tgz

$(CHROMIUM):
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

book: $(STAMP) $(MATHJAX)/tex-chtml.js  ## execute the notebooks and build the website into _build/html
	@# Cached outputs are reused only while coursepkg and the pinned versions are unchanged.
	@if [ "$$(cat _build/.code-hash 2>/dev/null)" != "$(CODE_HASH)" ]; then \
		echo "coursepkg or constraints.txt changed: re-executing every notebook"; rm -rf _build; fi
	mkdir -p $(IPYNB) && for f in notebooks/[0-9][0-9]_*.md; do \
		$(BIN)/jupytext --quiet --to ipynb "$$f" -o "$(IPYNB)/$$(basename "$${f%.md}").ipynb"; done
	@# An inherited MPLBACKEND (CI sets Agg) would keep the kernels from showing figures.
	env -u MPLBACKEND $(BIN)/jupyter-book build . -W -n --keep-going
	echo "$(CODE_HASH)" > _build/.code-hash

student: $(STAMP)  ## write the student edition (no solutions, outputs cleared) to _build/student
	$(BIN)/python -m coursepkg student-edition _build/student

instructor: book  ## copy the executed chapters, solutions included, to _build/instructor
	$(BIN)/python -m coursepkg instructor-edition _build/instructor

lint: $(STAMP)  ## ruff: style and static checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check coursepkg tests benchmarks conftest.py book/_ext

test: lint  ## every test: lint, unit, claims, grading, student edition; the book; the site in a browser
	$(BIN)/python -m pytest --ignore=tests/site
	$(MAKE) book
	$(MAKE) site-test

site-test: $(STAMP) $(CHROMIUM)  ## open every page of the built site in headless Chromium
	$(BIN)/python -m pytest tests/site

format: $(STAMP)  ## format the code with ruff
	$(BIN)/ruff format coursepkg tests benchmarks conftest.py book/_ext

clean:  ## remove the build and the virtual environment
	rm -rf _build _mathjax _ipynb $(VENV)

bench: $(STAMP)  ## time fit() against a bare PyTorch loop (ratio of medians)
	$(BIN)/python benchmarks/fit_overhead.py
