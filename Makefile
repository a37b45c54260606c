# Two commands a newcomer needs: `make demo` (set up + the tour) and `make test` (set up + tests + ruff).
# torch==2.13.0 is installed FIRST so pip never pulls a CUDA build.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.genlab-setup

.PHONY: setup demo test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,hard,distributed,text]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/genlab tour

# the suite CI runs: everything but the tests marked `slow` (heavy UAI problems, long trainings)
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

# everything, slow tests included (tens of minutes on 2 cores)
test-all: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python benchmarks/pgm_vs_peers.py
	$(BIN)/python benchmarks/uai2014.py --task PR
	$(BIN)/python benchmarks/uai2014.py --task MAP --answer
	$(BIN)/python benchmarks/uai2014.py --task MAR --answer
	$(BIN)/python benchmarks/uai2014.py --task PR --answer
	$(BIN)/python benchmarks/pgm_learning_vs_peers.py
	$(BIN)/python benchmarks/image_tasks.py
	$(BIN)/python benchmarks/gaussian_vs_pgmpy.py
	$(BIN)/python benchmarks/hmm_vs_hmmlearn.py
	$(BIN)/python benchmarks/seq_bits_per_char.py
	$(BIN)/python benchmarks/watermark_vs_peers.py --per-size 6

clean:
	rm -rf $(VENV) runs .pytest_cache
