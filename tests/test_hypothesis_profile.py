"""The hypothesis profile of tests/conftest.py reaches every hypothesis test that is collected."""

from __future__ import annotations

import os

import pytest
from hypothesis import is_hypothesis_test, settings


def _hypothesis_items(session: pytest.Session) -> list[pytest.Item]:
    return [i for i in session.items if isinstance(i, pytest.Function) and is_hypothesis_test(i.function)]


def test_profile_is_chosen_from_the_environment() -> None:
    expected = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
    assert settings._current_profile == expected
    assert settings.default.derandomize is (expected == "ci")


def test_ci_profile_is_derandomized() -> None:
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None
    assert not settings.get_profile("dev").derandomize


def test_every_collected_hypothesis_test_uses_the_loaded_profile(request: pytest.FixtureRequest) -> None:
    """No module overrides ``derandomize``: each test's settings inherit it from the loaded profile."""
    items = _hypothesis_items(request.session)
    wrong = [
        i.nodeid
        for i in items
        if i.function._hypothesis_internal_use_settings.derandomize != settings.default.derandomize
    ]
    assert not wrong, wrong
