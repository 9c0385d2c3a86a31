"""The named appearances of the vision experiments, all from ``wrappers.VisualRandomization`` (Table 9).

One code path renders the training data, the test sets and the "block, vision" envs, so "Table 9" means
one thing everywhere: ``"table9"`` is ``VisualRandomization()`` with its Table 9 defaults, ``"held_out"``
its :meth:`~wrappers.visual_randomization.VisualRandomization.held_out` preset (every range beyond Table 9,
coloured lights), ``"nominal"`` no randomization.
"""

from __future__ import annotations

import gymnasium as gym

from wrappers.visual_randomization import VisualRandomization

__all__ = ["APPEARANCES", "with_appearance"]

APPEARANCES = ("table9", "held_out", "nominal")
"""Appearances :func:`with_appearance` accepts."""


def with_appearance(env: gym.Env, appearance: str) -> gym.Env:
    """Wrap ``env`` in the named appearance randomization (one code path for training, test and held-out).

    Args:
        env: a Dactyl env.
        appearance: ``"table9"`` (``VisualRandomization()``, Dactyl Table 9), ``"held_out"``
            (``VisualRandomization.held_out``: every range beyond Table 9, coloured lights) or ``"nominal"``
            (``env`` unchanged).

    Returns:
        The wrapped env.

    Raises:
        ValueError: for an unknown ``appearance``.
    """
    if appearance not in APPEARANCES:
        raise ValueError(f"appearance must be one of {APPEARANCES}, got {appearance!r}")
    if appearance == "table9":
        return VisualRandomization(env)
    if appearance == "held_out":
        return VisualRandomization.held_out(env)
    return env
