"""RLlib (Ray) training of the Dactyl policy: the asymmetric LSTM RLModule, the env creator, callbacks, config,
checkpoints and an evaluation adapter. Used by ``examples/train_rllib.py`` and ``examples/evaluate_rllib.py``;
needs the ``[rllib]`` extra (``pip install -e ".[rllib]"``). Imported as ``dactyl_rllib`` with ``examples/`` on
``sys.path`` (as ``ppo``).
"""
