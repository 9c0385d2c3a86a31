"""Export a trained checkpoint as a small policy-only checkpoint (no optimizer state): what ``policies/`` holds.

The export is about a third of a training checkpoint (Adam's moments are twice the network) and loads like any
checkpoint: ``evaluate.py --checkpoint OUT`` gives the same results as the source; ``train_ppo.py --resume OUT``
continues with a fresh optimizer. Nothing is unpickled (``examples/ppo/checkpoint.py``); convert an old pickled
checkpoint first with ``examples/convert_checkpoint.py``.

    python examples/export_policy.py runs/adr3_adr/final policies/cpu_adr --note '{"command": "..."}'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ppo.checkpoint import MODEL_FILE, export_policy  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (also read by tests/test_docs_commands.py)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="checkpoint directory (or its model.zip) written by train_ppo.py")
    parser.add_argument("out", type=Path, help="directory of the policy-only export (replaced if it exists)")
    parser.add_argument("--note", default=None, help="JSON object of extra keys for the export's meta.json")
    return parser


def main(argv: list[str] | None = None) -> Path:
    """Export ``src`` to ``out`` and print the export's size."""
    args = build_parser().parse_args(argv)
    note = None
    if args.note is not None:
        try:
            note = json.loads(args.note)
        except json.JSONDecodeError as err:
            raise ValueError(f"--note must be a JSON object, got {args.note!r}: {err}") from err
        if not isinstance(note, dict):
            raise ValueError(f"--note must be a JSON object, got {args.note!r}")
    out = export_policy(args.src, args.out, note)
    size = sum(f.stat().st_size for f in out.iterdir())
    zipped = (out / MODEL_FILE).stat().st_size
    print(f"{out}: policy-only checkpoint, {size / 1e6:.2f} MB ({zipped / 1e6:.2f} MB model.zip)")
    return out


if __name__ == "__main__":
    main()
