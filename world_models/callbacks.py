"""Adapt user callbacks (plain callables or stable-baselines3-style objects) to one interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CallbackAdapter"]


class CallbackAdapter:
    """Uniform view of the ``callback`` argument of :meth:`Dreamer.learn`.

    Accepts ``None``, a callable ``f(locals, globals) -> bool | None``, an SB3 ``BaseCallback`` (anything
    with ``init_callback`` and ``on_step``) or a list of these.

    Returning ``False`` from a callable, or from an SB3 callback's ``on_step``, stops training.

    SB3 callbacks see the agent as their ``model``: ``get_env()`` is a one-env ``DummyVecEnv`` view,
    ``get_vec_normalize_env()`` is ``None`` and, unless :meth:`Dreamer.set_logger` gave one, ``logger`` is
    an SB3 ``Logger`` without outputs (what ``EvalCallback`` records lands there). Tested with
    ``EvalCallback``, ``ProgressBarCallback``, ``CheckpointCallback``, ``StopTrainingOnMaxEpisodes``
    and ``CallbackList``.
    """

    def __init__(self, callback: Any, model: Any) -> None:
        if callback is None:
            items: list[Any] = []
        elif isinstance(callback, list | tuple):
            items = list(callback)
        else:
            items = [callback]
        for cb in items:
            if not (callable(cb) or hasattr(cb, "on_step")):
                raise ValueError(f"callback {cb!r} is neither callable nor has an on_step method")
        self.items = items
        if any(hasattr(cb, "init_callback") for cb in items) and getattr(model, "logger", None) is None:
            from stable_baselines3.common.logger import Logger

            model.set_logger(Logger(folder=None, output_formats=[]))
        for cb in self.items:
            if hasattr(cb, "init_callback"):
                cb.init_callback(model)

    def on_training_start(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> None:
        """Forward to SB3-style callbacks."""
        for cb in self.items:
            if hasattr(cb, "on_training_start"):
                cb.on_training_start(locals_, globals_)

    def on_step(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> bool:
        """Call every callback after an environment step; False if any asks to stop."""
        keep_going = True
        for cb in self.items:
            if hasattr(cb, "on_step"):
                if hasattr(cb, "update_locals"):
                    cb.update_locals(locals_)
                result = cb.on_step()
            else:
                result = _call(cb, locals_, globals_)
            keep_going = keep_going and result is not False
        return keep_going

    def on_training_end(self) -> None:
        """Forward to SB3-style callbacks."""
        for cb in self.items:
            if hasattr(cb, "on_training_end"):
                cb.on_training_end()


def _call(cb: Callable[..., Any], locals_: dict[str, Any], globals_: dict[str, Any]) -> Any:
    return cb(locals_, globals_)
