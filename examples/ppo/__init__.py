"""Helpers for ``examples/train_ppo.py`` and ``examples/evaluate.py``: RecurrentPPO on Dactyl-v0.

The scripts put ``examples/`` on ``sys.path`` and import this package as ``ppo``; a saved model refers
to :class:`ppo.policy.AsymmetricRecurrentPolicy` by that name, so loading one needs the same path.

Modules:
    config: the training arguments (a dataclass), presets and the dataclass -> argparse bridge.
    policy: the asymmetric actor-critic LSTM policy (actor: policy keys, critic: clean ``state``).
    envs: env factories for training and the evaluation conditions (nominal, randomized, shifted, vision).
    vision: loading and checking the vision condition's pose estimator (``--pose-model``).
    checkpoint: atomic checkpoints (model + VecNormalize statistics + metadata) and their loading.
    callbacks: Dactyl metrics logging and periodic checkpoints as SB3 callbacks.
    vec_env: the vector env that steps several envs per worker process (observations in shared memory).
    pipeline: the vector env and the RecurrentPPO model of ``train_ppo.py`` (also used by the throughput benchmark).
"""
