"""Train a teacher policy with Stable-Baselines3 PPO on the surrogate student, save it, and rank it on the
surrogate against the baseline policies.

Trains on ``teachenv/SurrogateSkillList-v0`` with ``shares_only`` (milliseconds a round) through
``teachenv.agents.ppo_spaces.wrap`` (``FlattenObservation`` of the skill list's observation, weights per skill as
the action), seeded; prints one line per PPO update (mean episode return of the episodes finished in it);
saves the SB3 ``.zip`` and beside it a JSON with the training curve and the final evaluation: the saved
checkpoint loaded as the registered ``ppo`` policy, and weakest-skill, learning-progress, uniform and random,
each for ``--eval-episodes`` episodes on the same surrogate (same episode seeds for every agent), ranked by
test gain (test accuracy at the end − at reset). Needs ``pip install 'teachenv[rl]'``.

    python scripts/train_ppo_teacher.py --out agents/checkpoints/ppo-arith-surrogate.zip   # the shipped one
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import teachenv  # noqa: E402,F401  (registers the ids)
from teachenv.agents.base import Policy, build_policy  # noqa: E402
from teachenv.agents.ppo_spaces import wrap  # noqa: E402
from teachenv.bench.stats import mean_ci  # noqa: E402
from teachenv.core.config import ComponentSpec  # noqa: E402
from teachenv.envs.surrogate_env import ENV_ID  # noqa: E402
from teachenv.envs.teaching_env import INFO_ROUND, INFO_STATE  # noqa: E402

#: The baselines the checkpoint is ranked against (the CPU suite's options).
BASELINES: dict[str, dict[str, Any]] = {
    "weakest-skill": {"name": "weakest-skill", "focus": 2, "replay_share": 0.5},
    "learning-progress": {"name": "learning-progress"},
    "uniform": {"name": "uniform"},
    "random": {"name": "random"},
}
#: Episode seeds of the evaluation start here, apart from the training episodes' seeds.
EVAL_SEED0 = 10_000


def train(timesteps: int, seed: int, n_steps: int) -> tuple[Any, list[dict[str, float]]]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    curve: list[dict[str, float]] = []

    class Curve(BaseCallback):
        """Mean return of the episodes finished in each update, as a line and in ``curve``."""

        def __init__(self) -> None:
            super().__init__()
            self.returns: list[float] = []

        def _on_step(self) -> bool:
            self.returns += [info["episode"]["r"] for info in self.locals["infos"] if "episode" in info]
            return True

        def _on_rollout_end(self) -> None:
            mean = float(np.mean(self.returns)) if self.returns else float("nan")
            curve.append({"update": len(curve) + 1, "timesteps": self.num_timesteps, "episodes": len(self.returns),
                          "mean_return": round(mean, 5)})
            print(f"update {len(curve)}: {self.num_timesteps} steps, {len(self.returns)} episodes, "
                  f"mean return {mean:+.4f}", flush=True)
            self.returns = []

    env = wrap(gymnasium.make(ENV_ID, shares_only=True))
    model = PPO("MlpPolicy", env, n_steps=n_steps, batch_size=min(60, n_steps), gamma=1.0, gae_lambda=0.95,
                learning_rate=1e-3, n_epochs=10, policy_kwargs={"net_arch": [32, 32]}, seed=seed, device="cpu",
                verbose=0)
    model.learn(total_timesteps=timesteps, callback=Curve())
    return model, curve


def test_gains(policy: Policy, episodes: int) -> list[float]:
    """The policy's test gain in each of ``episodes`` surrogate episodes (seeds from ``EVAL_SEED0``)."""
    env = gymnasium.make(ENV_ID, shares_only=True).unwrapped
    policy.attach(env)
    gains = []
    for seed in range(EVAL_SEED0, EVAL_SEED0 + episodes):
        policy.reset(seed)
        _, info = env.reset(seed=seed)
        start, done = info[INFO_ROUND].test.accuracy, False
        while not done:
            _, _, terminated, truncated, info = env.step(policy.act(info[INFO_STATE]))
            done = terminated or truncated
        gains.append(info[INFO_ROUND].test.accuracy - start)
    return gains


def summarise(gains: list[float]) -> dict[str, Any]:
    estimate = mean_ci(gains)  # the leaderboard's Student-t interval
    half = estimate.half_width if estimate.half_width is not None else float("nan")
    return {"test_gain_mean": round(estimate.mean, 5), "ci95": round(half, 5), "per_seed": [round(g, 4) for g in gains]}


def evaluate(checkpoint: Path, episodes: int) -> dict[str, Any]:
    agents = {"ppo": {"name": "ppo", "checkpoint": str(checkpoint)}, **BASELINES}
    results = {label: summarise(test_gains(build_policy(ComponentSpec(**spec)), episodes)) for label, spec in agents.items()}
    ranking = sorted(results, key=lambda label: -results[label]["test_gain_mean"])
    for place, label in enumerate(ranking, 1):
        r = results[label]
        print(f"{place}. {label}: test gain {r['test_gain_mean']:+.4f} ± {r['ci95']:.4f} ({episodes} episodes)", flush=True)
    return {"episodes": episodes, "first_seed": EVAL_SEED0, "agents": results, "ranking": ranking}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="the checkpoint (.zip); its JSON is written beside it")
    parser.add_argument("--timesteps", type=int, default=30_000, help="environment steps (3 per episode)")
    parser.add_argument("--n-steps", type=int, default=240, help="steps per PPO update")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=50, help="surrogate episodes per agent in the evaluation")
    args = parser.parse_args(argv)
    if args.out.suffix != ".zip":
        parser.error(f"--out {args.out} must end in .zip (SB3 writes a zip archive)")
    started = time.perf_counter()
    model, curve = train(args.timesteps, args.seed, args.n_steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(args.out))
    trained = time.perf_counter() - started
    print(f"saved {args.out} after {trained:.0f} s", flush=True)
    report = {"command": "python scripts/train_ppo_teacher.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "env": ENV_ID, "shares_only": True, "timesteps": args.timesteps, "n_steps": args.n_steps,
              "seed": args.seed, "train_seconds": round(trained, 1), "curve": curve,
              "evaluation": evaluate(args.out, args.eval_episodes)}
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
