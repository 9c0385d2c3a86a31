import pytest

from world_models import PRESETS, DreamerConfig


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_build(name):
    cfg = DreamerConfig.from_preset(name)
    assert DreamerConfig.from_dict(cfg.to_dict()) == cfg


def test_preset_s_matches_reference():
    cfg = DreamerConfig.from_preset("S")
    assert (cfg.deter, cfg.stoch, cfg.classes, cfg.num_bins) == (512, 32, 32, 255)
    assert (cfg.model_lr, cfg.model_eps, cfg.model_clip) == (1e-4, 1e-8, 1000.0)
    assert (cfg.actor_lr, cfg.critic_lr, cfg.ac_eps, cfg.ac_clip) == (3e-5, 3e-5, 1e-5, 100.0)
    assert (cfg.kl_dyn, cfg.kl_rep, cfg.free_bits, cfg.unimix) == (0.5, 0.1, 1.0, 0.01)
    assert (cfg.horizon, cfg.return_lambda, cfg.critic_ema, cfg.actor_entropy) == (15, 0.95, 0.02, 3e-4)


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
