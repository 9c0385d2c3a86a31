# gym-dactyl developer tasks. `make test` installs what it needs, then runs the suite.
PYTHON ?= python
export MUJOCO_GL ?= egl

.PHONY: install test lint format demo bench

install:
	$(PYTHON) -m pip install -q "torch==2.13.0" || $(PYTHON) -m pip install -q "torch>=2.3"
	$(PYTHON) -m pip install -q -e ".[test]"

test: install
	$(PYTHON) -m pytest -q -p no:cacheprovider

lint:
	ruff check .
	ruff format --check gym_dactyl

format:
	ruff format gym_dactyl
	ruff check --fix .

demo:
	$(PYTHON) examples/random_rollout.py

bench:
	$(PYTHON) benchmarks/env_throughput.py
