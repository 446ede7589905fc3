"""Where the variance of a paired comparison of two teachers comes from.

Runs agent A and agent B (default: weakest-skill vs random) on one recipe and, holding everything else
at the base setting, varies ONE source of randomness at a time over ``--draws`` values:

- ``eval``: which held-out items make the validation / test splits (``task.split_seed``). In the offline
  worlds the tiny student is pretrained without the held-out items, so this also builds (once, minutes,
  then cached) another base student: it is evaluation sampling and base student together;
- ``train``: the training order (the seed each round's fine-tune gets; offset at the student's call);
- ``data``: the examples drawn (the episode's data seed the engine's per-skill streams start from);
- ``agent``: the policy's own randomness (the seed its ``reset`` gets);
- ``student``: the base student (``student.tiny.seed``; each value builds and caches a tiny student once,
  minutes each, so it is only run when named in ``--sources``);
- ``all``: the episode seed, everything at once (what a suite's seeds vary).

For each source it prints the standard deviation of the paired difference A − B in test gain (test
accuracy after the last round minus before the first) over the draws. Sources whose SD is near the
``all`` row's are where the noise lives. The script intervenes only at the engine's and the student's
calls (it offsets the seeds they are handed); it changes no library code. It knows recipes, not
teachers: agents are named by policy configs.

    python scripts/variance_decomposition.py --draws 3 --rounds 1 --examples 400 --steps 40
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

SOURCES = ("eval", "train", "data", "agent", "student", "all")
#: A large odd number: offsets of different draws never meet.
STRIDE = 1_000_003


def episode(base: Path, overrides: list[str], policy_yaml: str, *, source: str, draw: int, seed: int) -> float:
    """The test gain of one episode of the policy ``policy_yaml`` with ``source`` set to its ``draw``-th value."""
    import gymnasium

    import teachenv  # noqa: F401  (registers the ids)
    from teachenv.agents.base import build_policy
    from teachenv.core.config import load_config
    from teachenv.envs.teaching_env import INFO_ROUND, INFO_STATE

    def at(name: str) -> int:
        return draw if source == name else 0

    extra = [f"agent.policy={policy_yaml}", f"seed={seed + at('all')}"]
    if at("eval"):
        extra.append(f"task.split_seed={at('eval')}")
    if at("student"):
        extra.append(f"student.tiny.seed={at('student')}")
    config = load_config(base, [*overrides, *extra])
    env = gymnasium.make(config.env.id, config=config)
    inner = env.unwrapped
    generate, train = inner.engine.generate, inner.student.train

    def offset_generate(action, rng):  # noqa: ANN001, ANN202
        if not at("data"):
            return generate(action, rng)
        sequence = rng.bit_generator.seed_seq
        shifted = np.random.SeedSequence(int(sequence.entropy) + STRIDE * at("data"), spawn_key=sequence.spawn_key)
        return generate(action, np.random.default_rng(shifted))

    def offset_train(examples, seed):  # noqa: ANN001, ANN202
        return train(examples, seed=(seed + STRIDE * at("train")) % (2**31 - 1))

    inner.engine.generate, inner.student.train = offset_generate, offset_train
    try:
        policy = build_policy(config.agent.policy)
        policy.attach(inner)
        policy.reset(config.seed + STRIDE * at("agent"))
        _, info = env.reset(seed=config.seed)
        first = info[INFO_ROUND]
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(policy.act(info[INFO_STATE]))
            done = terminated or truncated
        return info[INFO_ROUND].test.accuracy - first.test.accuracy
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="configs/quickstart.yaml", help="the recipe (a run config)")
    parser.add_argument("--a", default="{name: weakest-skill, focus: 2, replay_share: 0.5}", help="agent A's policy")
    parser.add_argument("--b", default="{name: random}", help="agent B's policy")
    parser.add_argument("--sources", default="eval,train,data,agent,all",
                        help=f"comma-separated, of {', '.join(SOURCES)}")
    parser.add_argument("--draws", type=int, default=3, help="values per source (at least 2)")
    parser.add_argument("--seed", type=int, default=0, help="the base episode seed")
    parser.add_argument("--rounds", type=int, help="env.max_rounds (default: the recipe's)")
    parser.add_argument("--examples", type=int, help="env.examples_per_round (default: the recipe's)")
    parser.add_argument("--steps", type=int, help="student.train.max_steps (default: the recipe's)")
    parser.add_argument("--json", help="also write the per-draw differences here")
    args = parser.parse_args(argv)
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or args.draws < 2:
        parser.error(f"--sources {unknown} not of {SOURCES}" if unknown else f"--draws {args.draws}: need at least 2")
    overrides = [f"env.max_rounds={args.rounds}"] if args.rounds else []
    overrides += [f"env.examples_per_round={args.examples}"] if args.examples else []
    overrides += [f"student.train.max_steps={args.steps}"] if args.steps else []
    started, rows, done = time.perf_counter(), {}, {}
    print("| source varied | draws | A − B test gain per draw | mean | SD |")
    print("|---|---|---|---|---|")
    for source in sources:
        diffs = []
        for draw in range(args.draws):
            key = (source, draw) if draw else ("base", 0)  # draw 0 of every source is the base setting: run once
            if key not in done:
                done[key] = (episode(Path(args.base), overrides, args.a, source=source, draw=draw, seed=args.seed)
                             - episode(Path(args.base), overrides, args.b, source=source, draw=draw, seed=args.seed))
            diffs.append(done[key])
        rows[source] = diffs
        print(f"| {source} | {args.draws} | {', '.join(f'{d:+.3f}' for d in diffs)} | "
              f"{statistics.fmean(diffs):+.3f} | {statistics.stdev(diffs):.3f} |", flush=True)
    print(f"wall {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
