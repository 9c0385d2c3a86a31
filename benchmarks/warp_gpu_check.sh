#!/usr/bin/env bash
# The GPU check of DactylWarp-v0 (issue 17, docs/warp.md), for a session that has a GPU. One script, < 8 minutes of
# wall time in all (each phase has its own time limit, so one that runs long cannot starve the others):
#
#   0. compile: MuJoCo Warp's kernels compile on first use (NVRTC on a GPU; several minutes on a CPU) into Warp's
#      kernel cache (~/.cache/warp/<version>, or $WARP_CACHE_PATH): 2 worlds, nominal and fully randomized, one
#      step each, so the timed phases start warm                                   (limit 180 s)
#   1. benchmarks/warp_throughput.py at N = 1024, 4096, 16384, with every supported randomization (--randomize all)
#      and nominal, with the CPU Dactyl-v0 floor in the same run                   (limit 170 s)
#   2. examples/train_ppo_warp_native.py: a short native-PPO run, 4096 worlds, goal z, 3 updates (limit 60 s)
#   3. benchmarks/warp_episode_stats.py: 256 worlds x 2 episodes vs Dactyl-v0    (limit 50 s)
#
# Everything it writes goes to $OUT (default ./warp_gpu_check): one JSON per phase (the throughput JSON is rewritten
# after every run with "complete": false until the last, so a phase cut short keeps what it measured), each phase's
# console log, and status.json (per phase: exit code, wall seconds; rc 124/130/137 = hit its limit). A compile cut
# short is not lost: Warp caches each compiled module, and the next phase compiles the rest.
#
# Needs the [warp] extra (warp-lang, mujoco-warp) and a CUDA torch in the Python on PATH; it stops at once with a
# clear message otherwise.
#
#   OUT=/tmp/gpu bash benchmarks/warp_gpu_check.sh            # DEVICE=cuda:0 by default
#   DEVICE=cpu SIZES=2 PPO_ENVS=2 STATS_ENVS=2 OUT=/tmp/smoke bash benchmarks/warp_gpu_check.sh   # CPU smoke of the script
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-warp_gpu_check}"
DEVICE="${DEVICE:-cuda:0}"
SIZES="${SIZES:-1024 4096 16384}"
PPO_ENVS="${PPO_ENVS:-4096}"
STATS_ENVS="${STATS_ENVS:-256}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"

DEVICE="$DEVICE" python - <<'EOF' || { echo "warp_gpu_check: needs the [warp] extra (pip install -e '.[warp]') and a CUDA torch"; exit 2; }
import os
import mujoco_warp, torch, warp  # noqa: F401
if os.environ["DEVICE"].startswith("cuda"):
    assert torch.cuda.is_available(), "torch.cuda.is_available() is False"
    print("torch", torch.__version__, "| warp", warp.__version__, "| GPU", torch.cuda.get_device_name(0))
EOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.csv" 2>&1

STATUS="$OUT/status.json"
echo "{" > "$STATUS"
phase() {  # phase NAME LIMIT_S COMMAND...
  local name="$1" limit="$2"; shift 2
  local t0; t0=$(date +%s.%N)
  echo "== $name (limit ${limit}s): $*"
  timeout --signal=INT --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local dt; dt=$(python -c "import time; print(round(time.time() - $t0, 1))")
  tail -n 12 "$OUT/$name.log"
  echo "  \"$name\": {\"rc\": $rc, \"wall_s\": $dt, \"command\": \"$*\"}," >> "$STATUS"
}

phase compile 180 python benchmarks/warp_throughput.py --device "$DEVICE" --num-envs 2 --steps 1 --floor-steps 10 \
  --randomize all --json "$OUT/warp_compile.json"
# shellcheck disable=SC2086  # SIZES is a list of numbers
phase throughput 170 python benchmarks/warp_throughput.py --device "$DEVICE" --num-envs $SIZES \
  --steps 10 --floor-steps 200 --randomize all --json "$OUT/warp_throughput_gpu.json"
phase native_ppo 60 python examples/train_ppo_warp_native.py --device "$DEVICE" --n-envs "$PPO_ENVS" --n-steps 16 \
  --total-timesteps $((PPO_ENVS * 16 * 3)) --minibatches "$(( PPO_ENVS < 4 ? 1 : 4 ))" --checkpoint-every 1000 \
  --goal z --seed 0 --logdir "$OUT/native_ppo"
phase episode_stats 50 python benchmarks/warp_episode_stats.py --device "$DEVICE" --num-envs "$STATS_ENVS" \
  --episodes-per-world 2 --json "$OUT/warp_episode_stats_gpu.json"
echo "  \"device\": \"$DEVICE\"" >> "$STATUS"
echo "}" >> "$STATUS"
cat "$STATUS"
