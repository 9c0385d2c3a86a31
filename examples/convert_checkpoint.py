"""Convert an old pickled PPO checkpoint (``vecnormalize.pkl``, cloudpickled ``model.zip``) to the safe format.

**This unpickles the old files, i.e. runs whatever code they hold: convert only checkpoints you trust**
(ones you trained yourself). The result loads without unpickling anything (see ``examples/ppo/checkpoint.py``):
``model.zip`` re-saved without run state, ``model.json``, ``vecnormalize.npz`` + ``vecnormalize.json`` and the
old ``meta.json``; the directory is replaced atomically and ``vecnormalize.pkl`` is gone.

    python examples/convert_checkpoint.py runs/ppo_quick/final [--out runs/ppo_quick/final_safe]
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ppo.checkpoint import LEGACY_VECNORM_FILE, META_FILE, MODEL_FILE, load_checkpoint, save_checkpoint  # noqa: E402


def convert(src: Path, out: Path | None = None) -> Path:
    """Unpickle the old checkpoint ``src`` (trusted!) and write it in the safe format to ``out`` (default: ``src``)."""
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    src = Path(src)
    if not (src / MODEL_FILE).is_file() or not (src / LEGACY_VECNORM_FILE).is_file():
        raise FileNotFoundError(
            f"{str(src)!r} is not an old checkpoint: it needs {MODEL_FILE} and {LEGACY_VECNORM_FILE}"
        )
    with (src / LEGACY_VECNORM_FILE).open("rb") as f:
        vecnorm = pickle.load(f)  # trusted by the user who runs this script
    if not isinstance(vecnorm, VecNormalize):
        raise ValueError(f"{str(src / LEGACY_VECNORM_FILE)!r} holds a {type(vecnorm).__name__}, not VecNormalize")
    model = RecurrentPPO.load(src / MODEL_FILE, device="cpu")
    model._vec_normalize_env = vecnorm  # what save_checkpoint reads through get_vec_normalize_env()
    meta = json.loads((src / META_FILE).read_text()) if (src / META_FILE).is_file() else {}
    meta = {k: v for k, v in meta.items() if k not in ("saved_at", "observation_space", "action_space")}
    meta["converted_from"] = "pickled checkpoint (examples/convert_checkpoint.py)"
    return save_checkpoint(out or src, model, meta)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, help="old checkpoint directory (model.zip + vecnormalize.pkl)")
    parser.add_argument("--out", type=Path, default=None, help="write here instead of replacing the directory")
    args = parser.parse_args(argv)
    print(f"unpickling {args.checkpoint} (runs any code it holds: only convert checkpoints you trust)")
    path = convert(args.checkpoint, args.out)
    load_checkpoint(path)  # the converted checkpoint loads safely
    print(f"wrote {path} in the safe format")
    return path


if __name__ == "__main__":
    main()
