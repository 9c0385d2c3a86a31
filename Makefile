# gym-dactyl developer tasks. `make train` and `make test` install what they need first.
PYTHON ?= python
export MUJOCO_GL ?= egl

.PHONY: install system-gl train test docs-check lint format demo bench

# Headless rendering needs EGL + Mesa (Debian names); installed only when missing, as root, with apt.
system-gl:
	@if ! ldconfig -p 2>/dev/null | grep -q "libEGL_mesa.so.0"; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends libegl1 libgl1-mesa-dri libosmesa6 >/dev/null; \
	  else echo "note: install libegl1 and libgl1-mesa-dri for headless rendering (videos, cameras)"; fi; \
	fi

install: system-gl
	$(PYTHON) -m pip install -q "torch==2.13.0" || $(PYTHON) -m pip install -q "torch>=2.3"
	$(PYTHON) -m pip install -q -e ".[all,test]"

# Main job: RecurrentPPO (asymmetric LSTM actor-critic) under the full randomization stack, a few minutes on a CPU.
train: install
	$(PYTHON) examples/train_ppo.py --preset quick --logdir runs/ppo_quick

# The "ci" hypothesis profile (tests/conftest.py): derandomized, the same examples on every run.
test: install
	HYPOTHESIS_PROFILE=ci $(PYTHON) -m pytest -q -p no:cacheprovider

# Every `python examples/...` / `python benchmarks/...` command in README.md and docs/*.md parses with its
# script's own argparse parser, and docs/ppo.md's tables are what the committed data prints; every figure row of
# the README's results and benchmark tables names its committed raw data, and no doc points at missing evidence.
docs-check:
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/test_docs_commands.py tests/test_docs_evidence.py

lint:
	ruff check .
	ruff format --check gym_dactyl

format:
	ruff format gym_dactyl
	ruff check --fix .

# Plays the best published policy (policies/README.md) for one episode with the paper's 80 s goal timeout: prints
# its consecutive successes and writes the video runs/demo/eval_nominal.mp4. The default episode (seed 1003)
# scores 9, near that policy's median of 11 over evaluate.py's 100 episodes (seeds 1000-1099; seed 1000 scores
# 0, so a shorter demo would show a failure). DEMO_POLICY=policies/<name>, DEMO_SEED and DEMO_TIMEOUT_S change it.
DEMO_POLICY ?= policies/cpu_norand_2m
DEMO_SEED ?= 1003
DEMO_TIMEOUT_S ?= 80
demo:
	$(PYTHON) examples/evaluate.py --checkpoint $(DEMO_POLICY) --conditions nominal --episodes 1 \
	  --seed $(DEMO_SEED) --goal-timeout-s $(DEMO_TIMEOUT_S) --no-plot --out runs/demo

# Writes the raw output the README's benchmark figures are read from (docs/benchmarks/*.json).
bench:
	$(PYTHON) benchmarks/env_throughput.py --clock cpu --repeats 5 --json docs/benchmarks/env_throughput_discrete_cpuclock.json
	$(PYTHON) benchmarks/env_throughput.py --clock cpu --repeats 5 --action-type continuous \
	  --json docs/benchmarks/env_throughput_continuous_cpuclock.json
	$(PYTHON) benchmarks/env_throughput.py --repeats 5 --json docs/benchmarks/env_throughput_discrete_wallclock.json
	$(PYTHON) benchmarks/wrapper_overhead.py --clock cpu --json docs/benchmarks/wrapper_overhead_cpuclock.json
	$(PYTHON) benchmarks/render_throughput.py --seconds 1 --rounds 5 --json docs/benchmarks/render_throughput.json
	$(PYTHON) benchmarks/dreamer_throughput.py --presets tiny small --json docs/benchmarks/dreamer_throughput_cpu.json
	$(PYTHON) benchmarks/ppo_throughput.py --preset cpu --n-envs 4 --steps 32768 --repeats 2 \
	  --variants pipeline previous hybrid-lean hybrid in-process before sb3 update-threads floor \
	  --json docs/benchmarks/ppo_throughput_cpu_idle_remeasure.json
	$(PYTHON) benchmarks/ppo_throughput.py --preset cpu --n-envs 1 2 4 8 --steps 16384 \
	  --variants pipeline hybrid-lean floor --json docs/benchmarks/ppo_throughput_envs_idle_remeasure.json
	$(PYTHON) benchmarks/ppo_inference.py --preset cpu --calls 2000 --blocks 6 --json docs/benchmarks/ppo_inference_cpu.json
