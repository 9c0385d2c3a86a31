"""A run's metrics.csv and its committed JSON form read back as the same rows (``ppo.plots.read_metrics``)."""

import math

from ppo.plots import read_metrics
from ppo_steps_table import write_json

HEADER = "timesteps,return_mean,consecutive_successes_mean,drop_rate,success_rate\n"


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_json_form_reads_like_the_csv(tmp_path):
    csv_path = tmp_path / "metrics.csv"
    csv_path.write_text(HEADER + "512,-1.5,0.25,0.5,0.1\n1024,,0.75,0.0,nan\n")
    json_path = tmp_path / "m.json"
    write_json(csv_path, json_path, source="test")
    from_csv, from_json = read_metrics(csv_path), read_metrics(json_path)
    assert len(from_csv) == len(from_json) == 2
    for a, b in zip(from_csv, from_json, strict=True):
        assert a.keys() == b.keys()
        assert all(_same(a[k], b[k]) for k in a)
    # rotation progress is derived for logs without the column: return - 5 successes + 20 drops
    assert from_json[0]["rotation_progress_mean"] == -1.5 - 5 * 0.25 + 20 * 0.5
    assert math.isnan(from_json[1]["return_mean"]) and math.isnan(from_json[1]["success_rate"])
