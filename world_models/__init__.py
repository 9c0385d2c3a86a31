"""Dreamer (DreamerV3-style world-model agent) for Gymnasium environments."""

from world_models.agent import Dreamer, RecurrentState
from world_models.config import PRESETS, DreamerConfig

__all__ = ["PRESETS", "Dreamer", "DreamerConfig", "RecurrentState"]
