"""RLlib end to end on a local Ray (2 CPUs): train a few iterations under ADR, checkpoint, resume, evaluate."""

import pytest

pytest.importorskip("ray.rllib", reason="Ray RLlib is not installed: pip install -e '.[rllib]' to run the RLlib tests")


import json

import ray

pytestmark = pytest.mark.slow  # ~1-2 min on 2 free cores (Ray start-up, actor creation); still run by CI


@pytest.fixture(scope="module")
def ray_local():
    yield
    ray.shutdown()


def test_train_resume_evaluate_smoke(tmp_path, ray_local):
    import evaluate_rllib
    import train_rllib

    tiny = ["--num-cpus", "2", "--num-env-runners", "1", "--num-envs-per-env-runner", "2", "--n-steps", "32",
            "--batch-size", "32", "--n-epochs", "1", "--dense-units", "8", "--lstm-units", "8", "--max-seq-len", "8",
            "--logdir", str(tmp_path / "run")]
    final = train_rllib.main([*tiny, "--total-timesteps", "100", "--randomization", "all", "--adr",
                              "--checkpoint-every", "64"])
    meta = json.loads((final / "meta.json").read_text())
    assert meta["timesteps"] >= 100 and meta["args"]["adr"] is True and "ranges" in json.dumps(meta["adr"])
    assert (final / "policy.pt").is_file() and (final / "normalization.json").is_file()
    assert list((tmp_path / "run" / "checkpoints").iterdir())
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("timesteps,wall_s,episodes") and len(rows) >= 2
    assert (tmp_path / "run" / "adr.csv").is_file() and (tmp_path / "run" / "adr_state.json").is_file()
    norm = json.loads((final / "normalization.json").read_text())
    assert norm["count"] > 0 and any(s != 0 for s in norm["std"])  # the filter learned statistics

    # resume: the settings and the step count come from the checkpoint
    final2 = train_rllib.main(["--num-cpus", "2", "--resume", str(final), "--total-timesteps", "200"])
    meta2 = json.loads((final2 / "meta.json").read_text())
    assert meta2["timesteps"] >= 200 > meta["timesteps"]
    assert meta2["args"]["lstm_units"] == 8 and meta2["args"]["adr"] is True

    report = evaluate_rllib.main(["--checkpoint", str(final2), "--conditions", "nominal,randomized",
                                  "--episodes", "2", "--goal-timeout-s", "2"])
    assert report["results"]["nominal"]["episodes"] == 2
    assert all(e["length"] > 0 for e in report["episodes"]["randomized"])


def test_resume_rejects_a_non_checkpoint(tmp_path):
    import train_rllib

    with pytest.raises(ValueError, match="not a checkpoint of train_rllib.py"):
        train_rllib.main(["--resume", str(tmp_path)])
