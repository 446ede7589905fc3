"""Steps per second of ``teachenv/SurrogateSkillList-v0`` with and without ``shares_only`` (one run, same
random allocations and seeds), and the ratio.

    python benchmarks/bench_surrogate_fast.py                  # 3 episodes full, 300 shares-only
    python benchmarks/bench_surrogate_fast.py --episodes 5 --fast-episodes 1000

Prints one line per path and the ratio; exits non-zero if shares-only is not faster.
"""

from __future__ import annotations

import argparse
import sys
import time

import gymnasium
import numpy as np

import teachenv  # noqa: F401  (registers the ids)
from teachenv.envs.surrogate_env import ENV_ID


def steps_per_second(shares_only: bool, episodes: int) -> float:
    env = gymnasium.make(ENV_ID, shares_only=shares_only).unwrapped
    rng = np.random.default_rng(0)
    steps, started = 0, time.perf_counter()
    for seed in range(episodes):
        env.reset(seed=seed)
        done = False
        while not done:
            action = rng.multinomial(env.cap, rng.dirichlet(np.ones(len(env.skills)))).astype(np.int64)
            _, _, terminated, truncated, _ = env.step(np.minimum(action, env.max_per_skill))
            steps, done = steps + 1, terminated or truncated
    return steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=3, help="episodes of the full path")
    parser.add_argument("--fast-episodes", type=int, default=300, help="episodes of the shares-only path")
    args = parser.parse_args(argv)
    full = steps_per_second(False, args.episodes)
    fast = steps_per_second(True, args.fast_episodes)
    print(f"full (generate + verify): {full:.2f} steps/s over {args.episodes} episodes")
    print(f"shares_only:              {fast:.1f} steps/s over {args.fast_episodes} episodes")
    print(f"ratio shares_only / full: {fast / full:.0f}x")
    return 0 if fast > full else 1


if __name__ == "__main__":
    sys.exit(main())
