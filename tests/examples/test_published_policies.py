"""The policies published in policies/ load safely from a clone, are small, and act in the env they were trained on."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted(p for p in (ROOT / "policies").iterdir() if p.is_dir()) if (ROOT / "policies").is_dir() else []
README = ROOT / "policies" / "README.md"


def test_the_three_policies_of_the_adr_comparison_are_published():
    assert {p.name for p in POLICIES} >= {"cpu_norand", "cpu_fullrand", "cpu_adr"}
    text = README.read_text()
    for p in POLICIES:
        assert f"policies/{p.name}" in text, f"policies/README.md does not describe {p.name}"


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_policy_is_small_policy_only_and_documented(policy: Path):
    size = sum(f.stat().st_size for f in policy.iterdir())
    assert size <= 2_000_000, f"{policy.name}: {size} bytes (the published limit is 2 MB)"
    with zipfile.ZipFile(policy / "model.zip") as z:
        assert "policy.optimizer.pth" not in z.namelist()
    meta = json.loads((policy / "meta.json").read_text())
    assert meta["policy_only"] is True and meta["args"]["seed"] == 0 and meta["num_timesteps"] > 1_000_000
    assert meta["commands"] and all(c.startswith("python examples/train_ppo.py") for c in meta["commands"])


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_evaluate_runs_a_published_policy(policy: Path, tmp_path: Path):
    import evaluate  # examples/evaluate.py

    report = evaluate.main(["--checkpoint", str(policy), "--conditions", "nominal", "--episodes", "1",
                            "--goal-timeout-s", "2", "--no-video", "--no-plot", "--out", str(tmp_path)])  # fmt: skip
    r = report["results"]["nominal"]
    assert r["episodes"] == 1 and r["consecutive_successes_mean"] >= 0
    assert report["num_timesteps"] == json.loads((policy / "meta.json").read_text())["num_timesteps"]
