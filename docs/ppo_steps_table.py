"""Print the step-range table of docs/ppo.md from a run's metrics.csv (means of the rows in each range)."""

import csv
import sys

RANGES = [(0, 20e3), (240e3, 260e3), (490e3, 510e3), (740e3, 760e3), (990e3, 1010e3), (1240e3, 1260e3),
          (1490e3, 1510e3), (1740e3, 1760e3), (1990e3, 2040e3)]  # fmt: skip

rows = list(csv.DictReader(open(sys.argv[1])))
for lo, hi in RANGES:
    sel = [r for r in rows if lo <= float(r["timesteps"]) <= hi]
    if not sel:
        continue

    def mean(key: str, sel: list = sel) -> float:
        return sum(float(r[key]) for r in sel) / len(sel)

    print(f"| {lo / 1e3:g}k–{hi / 1e3:g}k | {mean('return_mean'):+.2f} | {mean('rotation_progress_mean'):+.2f} | "
          f"{mean('consecutive_successes_mean'):.2f} | {mean('success_rate'):.2f} | {mean('drop_rate'):.2f} | "
          f"{mean('episode_length_mean'):.0f} |")  # fmt: skip
