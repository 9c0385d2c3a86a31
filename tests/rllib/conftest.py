"""RLlib tests: ``examples/`` on the path. Each module skips itself (with the reason) without Ray RLlib."""

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
