"""A GPU-native PPO loop for ``DactylWarp-v0`` (``examples/train_ppo_warp_native.py``): everything stays on the device.

The script puts ``examples/`` on ``sys.path`` and imports this package as ``warp_ppo`` (like ``ppo``). Written
here rather than taken from a library: rsl-rl-lib 5.5 (installable) loads checkpoints with
``torch.load(weights_only=False)`` and needs tensordict, GitPython and onnx; skrl 2.1 (installable) also loads
with ``weights_only=False``. This project's rule is that loading a checkpoint never unpickles arbitrary objects,
and the policy must be the project's asymmetric LSTM actor-critic (``examples/ppo/policy.py``'s design).

Modules:
    model: the asymmetric LSTM actor-critic in plain torch (actor: policy keys; critic: the clean ``state``).
    normalize: running observation / return statistics on the device.
    algo: device rollout storage, GAE, the PPO clipped loss and update, and the training loop.
    checkpoint: atomic checkpoints (tensors loaded with ``weights_only=True``, metadata as JSON).
"""
