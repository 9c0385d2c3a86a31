"""Rollout inference per vector step: sb3-contrib's calls vs ``ppo.lean.LeanRollout``, CPU time, same process.

On the preset's model (``cpu``: 4 envs, 128-unit dense + LSTM, continuous actions) and real normalised observations
of ``Dactyl-v0``, times one rollout step's inference three ways, in alternating blocks (``--blocks``, the order
reversed every other block) so that load drifts hit all alike:

* ``sb3_forward``: ``RecurrentActorCriticPolicy.forward`` (what sb3-contrib's ``RecurrentPPO.collect_rollouts``
  calls: actor and critic together);
* ``sb3_split``: ``OverlappedRecurrentPPO``'s actor and critic through sb3-contrib's methods (the pipeline before
  the lean path);
* ``lean``: ``LeanRollout.actor`` + ``LeanRollout.critic``;
* ``fused``: ``lean`` with each ``torch.lstm`` call replaced by a hand-written cell (one ``addmm`` on the
  concatenated input and state, the four gates by ``chunk``): the "fused inference" lever of docs/ppo.md. It is
  not used by the pipeline: it changes the summation order inside the gate products, so it equals sb3-contrib only
  to rounding (the largest absolute difference is printed), and this benchmark only measures what it would save.

Prints CPU microseconds per vector step (median over blocks) and the ratios, and checks that the first three give
bitwise the same actions, log-probabilities, values and LSTM states from the same random-number state.

    python benchmarks/ppo_inference.py [--preset cpu] [--n-envs 4] [--calls 2000] [--blocks 6] [--json out.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "examples"), str(ROOT), str(ROOT / "benchmarks")]
os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import torch as th  # noqa: E402
from evidence import write_json  # noqa: E402
from ppo.config import PRESETS, TrainArgs, apply_preset  # noqa: E402
from ppo.envs import make_train_env_fn  # noqa: E402
from ppo.lean import LeanRollout  # noqa: E402
from ppo.pipeline import make_model, make_vec_env, make_vecnormalize, no_distribution_validation  # noqa: E402
from sb3_contrib.common.recurrent.type_aliases import RNNStates  # noqa: E402

WAYS = ("sb3_forward", "sb3_split", "lean", "fused")
BITWISE = WAYS[:3]  # the ways that must agree bit for bit (``fused`` agrees to rounding)


class FusedCellRollout(LeanRollout):
    """``LeanRollout`` with a hand-written single-step LSTM cell: ``addmm`` on ``[x, h]``, gates by ``chunk``.

    The gate order (input, forget, cell, output) and the formulas are ``torch.nn.LSTM``'s; only the products are
    summed in another order, so the results match to float rounding, not bitwise.
    """

    def __init__(self, policy: Any) -> None:
        super().__init__(policy)
        self.pi_lstm = self._fuse(self.pi_lstm)  # type: ignore[assignment]
        self.vf_lstm = self._fuse(self.vf_lstm)  # type: ignore[assignment]

    @staticmethod
    def _fuse(weights: list[th.Tensor]) -> tuple[th.Tensor, th.Tensor]:
        w_ih, w_hh, b_ih, b_hh = (w.detach() for w in weights)
        return th.cat([w_ih, w_hh], dim=1).t().contiguous(), b_ih + b_hh

    @staticmethod
    def _lstm(  # type: ignore[override]
        features: th.Tensor, states: tuple[th.Tensor, th.Tensor], starts: th.Tensor, weights: Any
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        w, b = weights
        keep = (1.0 - starts).view(-1, 1)
        c = keep * states[1][0]
        gates = th.addmm(b, th.cat([features, keep * states[0][0]], dim=1), w)
        i, f, g, o = gates.chunk(4, dim=1)
        c = th.sigmoid(f) * c + th.sigmoid(i) * th.tanh(g)
        h = th.sigmoid(o) * th.tanh(c)
        return h, (h.unsqueeze(0), c.unsqueeze(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=tuple(PRESETS), default="cpu")
    parser.add_argument("--n-envs", type=int, default=None, help="batch size (default: the preset's n_envs)")
    parser.add_argument("--calls", type=int, default=2000, help="vector steps timed per block and way")
    parser.add_argument("--blocks", type=int, default=6, help="blocks per way (order reversed every other block)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, metavar="PATH")
    args = parser.parse_args()
    for name in ("calls", "blocks"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    th.set_num_threads(1)
    targs = apply_preset(TrainArgs(preset=args.preset, seed=args.seed, randomization="none",
                                   **({} if args.n_envs is None else {"n_envs": args.n_envs})))  # fmt: skip
    groups = dict.fromkeys(("observation", "physics", "unmodeled"), False)
    fns = [make_train_env_fn(r, targs.seed, goal=targs.goal, action_type=targs.action_type,
                             goal_timeout_s=targs.goal_timeout_s, groups=groups, scale=1.0, wrist=targs.wrist)
           for r in range(targs.n_envs)]  # fmt: skip
    venv = make_vecnormalize(make_vec_env(fns, workers=0), targs)
    try:
        model = make_model(targs, venv)
        obs = venv.reset()
        rng = np.random.default_rng(args.seed)
        for _ in range(20):  # a few steps so the statistics and the observations are not the reset ones
            obs = venv.step(rng.uniform(-1, 1, (targs.n_envs, *venv.action_space.shape)).astype(np.float32))[0]
    finally:
        venv.close()
    policy = model.policy
    policy.set_training_mode(False)
    n, hidden = targs.n_envs, targs.lstm_units
    states = RNNStates(*(tuple(th.randn(1, n, hidden) for _ in range(2)) for _ in range(2)))
    starts = th.zeros(n)
    starts[0] = 1.0
    lean = LeanRollout(policy)

    def sb3_forward() -> Any:
        return policy.forward(obs_t, states, starts)

    def sb3_split() -> Any:
        a, lp, s_pi = model._actor(obs_t, states.pi, starts)
        v, s_vf = model._critic(obs_t, states.vf, starts)
        return a, v, lp, RNNStates(s_pi, s_vf)

    def lean_way() -> Any:
        a, lp, s_pi = lean.actor(obs_t, states.pi, starts)
        v, s_vf = lean.critic(obs_t, states.vf, starts)
        return a, v, lp, RNNStates(s_pi, s_vf)

    def fused_way() -> Any:
        a, lp, s_pi = fused.actor(obs_t, states.pi, starts)
        v, s_vf = fused.critic(obs_t, states.vf, starts)
        return a, v, lp, RNNStates(s_pi, s_vf)

    fused = FusedCellRollout(policy)
    ways: dict[str, Callable[[], Any]] = {"sb3_forward": sb3_forward, "sb3_split": sb3_split, "lean": lean_way,
                                          "fused": fused_way}  # fmt: skip
    per_call: dict[str, list[float]] = {w: [] for w in WAYS}
    with th.inference_mode(), no_distribution_validation():
        obs_t = policy.obs_to_tensor(obs)[0]
        outs = {}
        for name, fn in ways.items():
            th.manual_seed(args.seed)
            a, v, lp, s = fn()
            outs[name] = [a, v, lp, s.pi[0], s.pi[1], s.vf[0], s.vf[1]]
        equal = all(th.equal(x, y) for name in BITWISE[1:] for x, y in zip(outs[name], outs[WAYS[0]], strict=True))
        fused_diff = max(float((x - y).abs().max()) for x, y in zip(outs["fused"], outs["lean"], strict=True))
        for fn in ways.values():  # warm-up
            for _ in range(100):
                fn()
        for block in range(args.blocks):
            for name in WAYS if block % 2 == 0 else WAYS[::-1]:
                fn = ways[name]
                c0 = time.process_time()
                for _ in range(args.calls):
                    fn()
                per_call[name].append((time.process_time() - c0) / args.calls * 1e6)
    med = {w: float(np.median(v)) for w, v in per_call.items()}
    print(f"preset {args.preset}, {n} envs, LSTM {hidden}; load average {os.getloadavg()[0]:.2f}; "
          f"bitwise equal outputs (sb3_forward, sb3_split, lean): {equal}; fused vs lean: largest absolute "
          f"difference {fused_diff:.2e}")  # fmt: skip
    for w in WAYS:
        print(f"  {w:12s} {med[w]:8.1f} CPU us per vector step (blocks: {', '.join(f'{x:.0f}' for x in per_call[w])})")
    ratios = {"sb3_forward/lean": med["sb3_forward"] / med["lean"], "sb3_split/lean": med["sb3_split"] / med["lean"],
              "lean/fused": med["lean"] / med["fused"], "lean-fused_us": med["lean"] - med["fused"]}  # fmt: skip
    for key, value in ratios.items():
        print(f"  {key:18s} {value:.2f}")
    if fused_diff > 1e-4:
        raise SystemExit(f"the fused cell differs from torch.lstm by {fused_diff:.2e}: not the same LSTM")
    if args.json:
        write_json(args.json, {
            "preset": args.preset, "n_envs": n, "lstm_units": hidden, "calls": args.calls, "blocks": args.blocks,
            "bitwise_equal": equal, "fused_max_abs_diff": fused_diff, "cpu_us_per_step": per_call,
            "median_cpu_us_per_step": med, "ratios": ratios,
            "load_average": list(os.getloadavg()), "nice": os.nice(0),
        })  # fmt: skip
    if not equal:
        raise SystemExit("sb3_forward, sb3_split and lean disagree: LeanRollout is not sb3-contrib's computation")


if __name__ == "__main__":
    main()
