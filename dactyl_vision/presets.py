"""The named appearances of the vision experiments, all from ``wrappers.VisualRandomization`` (Table 9).

One code path renders the training data, the test sets and the "block, vision" envs, so "Table 9" means
one thing everywhere: ``"table9"`` is ``VisualRandomization()`` with its Table 9 defaults, ``"held_out"``
its :meth:`~wrappers.visual_randomization.VisualRandomization.held_out` preset (every range beyond Table 9,
coloured lights), ``"nominal"`` no randomization.
"""

from __future__ import annotations

import gymnasium as gym

from wrappers.visual_randomization import HELD_OUT, HELD_OUT_FACTORS, VisualRandomization

__all__ = ["APPEARANCES", "FACTOR_APPEARANCES", "with_appearance"]

APPEARANCES = ("table9", "held_out", "nominal")
"""The appearances of the experiments: training, held-out test, nominal."""

FACTOR_APPEARANCES = tuple(f"held_out_{name}" for name in HELD_OUT_FACTORS)
"""Table 9 with one factor at its held-out ranges (``"held_out_cameras"``, ``"held_out_lights"``,
``"held_out_light_colour"``, ``"held_out_object_saturation"``, ``"held_out_object_value"``,
``"held_out_object_material"``, ``"held_out_robot"``; groups of
:data:`~wrappers.visual_randomization.HELD_OUT_FACTORS`): which part of the held-out appearance an estimator
fails on."""


def with_appearance(env: gym.Env, appearance: str) -> gym.Env:
    """Wrap ``env`` in the named appearance randomization (one code path for training, test and held-out).

    Args:
        env: a Dactyl env.
        appearance: ``"table9"`` (``VisualRandomization()``, Dactyl Table 9), ``"held_out"``
            (``VisualRandomization.held_out``: every range beyond Table 9, coloured lights), ``"nominal"``
            (``env`` unchanged) or one of :data:`FACTOR_APPEARANCES` (``"held_out_<factor>"``: Table 9 with
            that factor's rows of ``HELD_OUT``).

    Returns:
        The wrapped env.

    Raises:
        ValueError: for an unknown ``appearance``.
    """
    if appearance not in APPEARANCES + FACTOR_APPEARANCES:
        raise ValueError(f"appearance must be one of {APPEARANCES + FACTOR_APPEARANCES}, got {appearance!r}")
    if appearance in FACTOR_APPEARANCES:
        factor = HELD_OUT_FACTORS[appearance.removeprefix("held_out_")]
        return VisualRandomization(env, **{key: HELD_OUT[key] for key in factor})
    if appearance == "table9":
        return VisualRandomization(env)
    if appearance == "held_out":
        return VisualRandomization.held_out(env)
    return env
