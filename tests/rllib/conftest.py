"""RLlib tests: skipped as a whole when Ray RLlib (the ``[rllib]`` extra) is not installed."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("ray.rllib", reason="Ray RLlib is not installed: pip install -e '.[rllib]' to run the RLlib tests")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
