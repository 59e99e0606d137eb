# Two entry points for a new user: `make demo` (set up, run the main job) and `make test`.
# Each does all of its own set-up on a fresh machine (Debian ffmpeg, a virtual environment, the package).
VENV ?= .venv
BIN  := $(VENV)/bin
STAMP := $(VENV)/.asgml-installed
PYTHON ?= python3

.PHONY: setup demo test sync-check nbdev-test pytest lab clean-runs paper

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

test: setup sync-check nbdev-test pytest

sync-check: setup
	@tmp=$$(mktemp -d); cp -r nbs asgml $$tmp/; \
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean; \
	if ! diff -r -q -x __pycache__ -x .ipynb_checkpoints $$tmp/nbs nbs || ! diff -r -q -x __pycache__ $$tmp/asgml asgml; then \
	  echo "nbdev-export / nbdev-clean changed the files above: run them and commit the result"; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "sync-check: notebooks and asgml/ are in sync"

nbdev-test: setup
	OMP_NUM_THREADS=1 $(BIN)/nbdev-test --n-workers 2

pytest: setup
	$(BIN)/pytest -q tests

lab: setup
	$(BIN)/jupyter lab --notebook-dir nbs $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# The paper: paper/main.pdf from paper/*.tex and what `asgml report` generated into paper/tables and paper/figures.
# Installs Debian's TeX Live on first use (about 230 MB to download, 1 GB on disk).
paper:
	@command -v latexmk >/dev/null && command -v pdftoppm >/dev/null || { echo "installing Debian TeX Live and poppler-utils (latexmk, pdflatex, pdftoppm)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq \
	    latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended poppler-utils; }
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error main.tex
