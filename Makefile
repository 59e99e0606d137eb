# Two entry points for a new user: `make demo` (set up, run the main job) and `make test`.
# Each does all of its own set-up on a fresh machine (Debian ffmpeg, a virtual environment, the package).
VENV ?= .venv
BIN  := $(VENV)/bin
STAMP := $(VENV)/.asgml-installed
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test sync-check notebooks nbdev-test pytest lab clean-runs chromium docs serve-docs paper

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v ffmpeg >/dev/null || { echo "installing Debian ffmpeg (torchcodec needs it)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq ffmpeg; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

demo: setup
	$(BIN)/asgml demo

test: setup sync-check notebooks pytest

sync-check: setup
	@tmp=$$(mktemp -d); cp -r nbs asgml $$tmp/; \
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean; \
	if ! diff -r -q -x __pycache__ -x .ipynb_checkpoints $$tmp/nbs nbs || ! diff -r -q -x __pycache__ $$tmp/asgml asgml; then \
	  echo "nbdev-export / nbdev-clean changed the files above: run them and commit the result"; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "sync-check: notebooks and asgml/ are in sync"

# The notebooks' test: every notebook executed once, as the docs build executes it (papermill, every cell, the `eval:
# false` ones with docs/parameters.yaml), into _build/docs/executed/; a notebook that raises fails it. The docs test
# then builds the site from these copies. `make nbdev-test` runs nbdev's own runner instead.
notebooks: setup
	OMP_NUM_THREADS=1 $(BIN)/python docs/build.py --execute-only

nbdev-test: setup
	OMP_NUM_THREADS=1 $(BIN)/nbdev-test --n-workers 2

pytest: setup chromium
	$(BIN)/pytest -q -n auto --maxprocesses 4 --dist loadfile tests

# tests/test_docs.py drives Debian's headless chromium
chromium:
	@command -v chromium >/dev/null || { echo "installing Debian chromium (the docs test drives it headless)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# The docs site from the executed notebooks, without Quarto (docs/build.py); `nbdev-docs` still works where Quarto is.
docs: setup
	OMP_NUM_THREADS=1 $(BIN)/python docs/build.py

serve-docs: docs
	@echo "serving _docs/ on http://127.0.0.1:8000/ (Ctrl-C stops)"
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory _docs

lab: setup
	$(BIN)/jupyter lab --notebook-dir nbs $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# The paper: paper/main.pdf from paper/*.tex and what `asgml report` generated into paper/tables and paper/figures.
# Installs Debian's TeX Live on first use (about 230 MB to download, 1 GB on disk).
paper:
	@command -v latexmk >/dev/null && command -v pdftoppm >/dev/null || { echo "installing Debian TeX Live and poppler-utils (latexmk, pdflatex, pdftoppm)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq \
	    latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended poppler-utils; }
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error main.tex
