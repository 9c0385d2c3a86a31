import pytest

from world_models import PRESETS, DreamerConfig


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build(name):
    cfg = DreamerConfig.from_preset(name)
    assert DreamerConfig.from_dict(cfg.to_dict()) == cfg


def test_preset_s_matches_official_2025_defaults():
    """Values of danijar/dreamerv3 configs.yaml (defaults.agent), the version of the 2025 paper."""
    cfg = DreamerConfig.from_preset("S")
    assert (cfg.deter, cfg.stoch, cfg.classes, cfg.num_bins, cfg.bin_range) == (512, 32, 32, 255, 20.0)
    assert (cfg.model_lr, cfg.actor_lr, cfg.critic_lr) == (4e-5, 4e-5, 4e-5)
    assert (cfg.agc, cfg.opt_eps, cfg.warmup) == (0.3, 1e-20, 1000)
    assert (cfg.kl_dyn, cfg.kl_rep, cfg.free_bits, cfg.unimix) == (1.0, 0.1, 1.0, 0.01)
    assert (cfg.horizon, cfg.return_lambda, cfg.critic_ema, cfg.actor_entropy) == (15, 0.95, 0.02, 3e-4)
    assert (cfg.repval_scale, cfg.slow_critic_reg, cfg.actor_grad) == (0.3, 1.0, "reinforce")
    assert (cfg.blocks, cfg.prior_layers, cfg.replay_context, cfg.gamma) == (8, 2, 1, 0.997)
    assert (cfg.batch_size, cfg.seq_len, cfg.train_ratio) == (16, 64, 512.0)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("deter", 0, "positive int"),
        ("stoch", 2.5, "positive int"),
        ("classes", 1, ">= 2"),
        ("gamma", 1.5, "[0, 1]"),
        ("unimix", 1.0, "[0, 1)"),
        ("model_lr", -1e-4, "> 0"),
        ("actor_grad", "magic", "one of"),
        ("return_norm_percentiles", (95.0, 5.0), "lo < hi"),
        ("actor_max_std", 0.01, "actor_min_std"),
        ("torch_threads", 0, "positive int"),
        ("batch_size", True, "positive int"),
        ("blocks", 3, "divisor of deter"),
        ("replay_context", 2, "0 or 1"),
        ("obs_keys", (), "non-empty tuple"),
        ("decoder_keys", "state", "non-empty tuple"),
        ("agc", -0.1, ">= 0"),
        ("warmup", -1, ">= 0"),
        ("repval_grad", 1, "a bool"),
    ],
)
def test_bad_values_name_field_value_and_expectation(field, value, expected):
    with pytest.raises(ValueError) as err:
        DreamerConfig(**{field: value})
    msg = str(err.value)
    assert f"DreamerConfig.{field}=" in msg and repr(value) in msg and expected in msg


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="preset='huge'"):
        DreamerConfig.from_preset("huge")
    with pytest.raises(ValueError, match="no field"):
        DreamerConfig.from_preset("tiny", determ=3)
