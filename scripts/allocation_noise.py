"""Why one teacher's test gain varies from seed to seed: its allocations against its gains, from logged runs.

Reads finished run directories (``teachenv bench`` output; no episode is run) and prints, per episode, the
share of the episode's accepted examples each skill got, the smallest share a skill got in any round, the
rounds in which a skill was starved (under ``--starved`` of the round), the per-skill change of test
accuracy and the test gain; then, per agent, the spread of the test gain beside the spread that evaluation
sampling alone would give, and, for one agent (``--agent``), which skills' test changes carry the variance
of its gain and how the gain goes with each skill's share.

- *Evaluation noise* of one episode's gain is the binomial standard deviation of its final test accuracy,
  ``sqrt(sum_k p_k (1 - p_k) / n_k) / K`` over the K skills' ``n_k`` test items (``task.test_per_skill``).
  It is an upper bound for the gain: the test items are the same at the start and the end (and for every
  agent and seed), so what they share cancels.
- *Replicate SD*: where the same agent and seed were run more than once (two runs directories of one suite),
  the pooled SD of the gain within a seed: same allocations and data, so what is left is evaluation and
  training noise (training is not bit-identical from run to run on CPU).
- *Share of variance by skill*: the test gain is the mean over skills of each skill's change, so its variance
  splits exactly into ``cov(change_k / K, gain)``, one term per skill (terms may be negative).

It owns reading episode logs into these numbers; it knows nothing of how an allocation is chosen.

    python scripts/allocation_noise.py runs/suites/cpu-offline --agent random
"""

# No `from __future__ import annotations`: the dataclass below is then resolvable when the file is loaded
# as a script module outside sys.modules (tests/script_loader.py).
import argparse
import json
import math
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from teachenv.bench.runs import find_run_dirs


@dataclass
class Episode:
    """One finished episode: what it allocated and what it gained."""

    label: str
    agent: str
    seed: int
    skills: list[str]
    shares_by_round: list[dict[str, float]]
    test_start: dict[str, float]
    test_end: dict[str, float]
    test_items: int
    val_change_by_round: list[dict[str, float]] = field(default_factory=list)

    @property
    def test_gain(self) -> float:
        return statistics.fmean(self.test_end.values()) - statistics.fmean(self.test_start.values())

    def total_shares(self) -> dict[str, float]:
        """Each skill's share of the episode's examples (rounds weighted equally: each round trains as long)."""
        return {s: statistics.fmean(r.get(s, 0.0) for r in self.shares_by_round) for s in self.skills}

    def min_share(self) -> float:
        return min(r.get(s, 0.0) for r in self.shares_by_round for s in self.skills)

    def starved(self, below: float) -> list[tuple[int, str]]:
        """(round, skill) where the skill got under ``below`` of the round's examples."""
        return [(k + 1, s) for k, r in enumerate(self.shares_by_round) for s in self.skills if r.get(s, 0.0) < below]

    def eval_sd(self) -> float:
        """Binomial SD of the final test accuracy from the test items alone (see the module docstring)."""
        var = sum(p * (1 - p) / self.test_items for p in self.test_end.values())
        return math.sqrt(var) / len(self.skills)

    def change(self, skill: str) -> float:
        return self.test_end[skill] - self.test_start[skill]


def read_episode(path: Path, root: Path) -> Episode | None:
    """The episode logged in ``path``, or None if it did not finish (no summary.json)."""
    summary_path = path / "summary.json"
    if not summary_path.is_file():
        return None
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    bench_path = path / "bench.json"
    agent = (json.loads(bench_path.read_text(encoding="utf-8"))["agent"] if bench_path.is_file()
             else config["agent"]["policy"]["name"])
    rows = [json.loads(line) for line in (path / "episode.jsonl").read_text(encoding="utf-8").splitlines() if line]
    rows = [r for r in rows if r["round"] > 0]
    start, end = summary["test_accuracy_by_skill"]["start"], summary["test_accuracy_by_skill"]["end"]
    skills = list(start)
    shares, val_changes = [], []
    for row in rows:
        accepted = row["accepted_by_skill"]
        total = sum(accepted.values()) or 1
        shares.append({s: accepted.get(s, 0) / total for s in skills})
        val_changes.append(dict(row.get("reward_by_skill") or {}))
    return Episode(label=path.relative_to(root).as_posix() if path != root else path.name, agent=agent,
                   seed=int(config["seed"]), skills=skills, shares_by_round=shares, test_start=start, test_end=end,
                   test_items=int(config["task"]["test_per_skill"]), val_change_by_round=val_changes)


def read_episodes(roots: list[Path]) -> list[Episode]:
    episodes = []
    for root in roots:
        for path in find_run_dirs(root):
            episode = read_episode(path, root)
            if episode is not None:
                episodes.append(episode)
    return episodes


def agent_spread(episodes: list[Episode]) -> dict[str, float]:
    """Mean and SD of the test gain over episodes, the RMS evaluation SD, and the share of the variance it is."""
    gains = [e.test_gain for e in episodes]
    sd = statistics.stdev(gains) if len(gains) > 1 else float("nan")
    eval_sd = math.sqrt(statistics.fmean(e.eval_sd() ** 2 for e in episodes))
    return {"n": len(gains), "mean": statistics.fmean(gains), "sd": sd, "min": min(gains), "max": max(gains),
            "eval_sd": eval_sd, "eval_share": eval_sd ** 2 / sd ** 2 if sd and sd > 0 else float("nan")}


def replicate_sd(episodes: list[Episode]) -> tuple[float, int]:
    """Pooled within-seed SD of the gain over seeds run more than once, and how many such seeds (nan, 0: none)."""
    by_seed: dict[int, list[float]] = {}
    for e in episodes:
        by_seed.setdefault(e.seed, []).append(e.test_gain)
    groups = [g for g in by_seed.values() if len(g) > 1]
    if not groups:
        return float("nan"), 0
    squares = sum(sum((x - statistics.fmean(g)) ** 2 for x in g) for g in groups)
    return math.sqrt(squares / sum(len(g) - 1 for g in groups)), len(groups)


def variance_by_skill(episodes: list[Episode]) -> dict[str, float]:
    """Each skill's term ``cov(change_k / K, gain) / var(gain)`` (they sum to 1)."""
    gains = [e.test_gain for e in episodes]
    var = statistics.variance(gains)
    skills = episodes[0].skills
    return {s: statistics.covariance([e.change(s) / len(skills) for e in episodes], gains) / var for s in skills}


def correlation(xs: list[float], ys: list[float]) -> float:
    try:
        return statistics.correlation(xs, ys)
    except statistics.StatisticsError:  # a constant column
        return float("nan")


def fmt(x: float, signed: bool = False) -> str:
    return "nan" if x != x else (f"{x:+.3f}" if signed else f"{x:.3f}")


def print_report(episodes: list[Episode], agent: str, starved_below: float, out=sys.stdout) -> None:
    skills = episodes[0].skills
    print("## Episodes\n", file=out)
    print("| agent | seed | run | share " + " / ".join(skills) + " | min round share | starved (round:skill) | "
          "test change " + " / ".join(skills) + " | test gain | eval SD |", file=out)
    print("|---" * 9 + "|", file=out)
    for e in sorted(episodes, key=lambda e: (e.agent, e.seed, e.label)):
        shares = e.total_shares()
        starved = " ".join(f"{k}:{s}" for k, s in e.starved(starved_below)) or "-"
        print(f"| {e.agent} | {e.seed} | {e.label} | " + " / ".join(f"{shares[s]:.2f}" for s in skills)
              + f" | {e.min_share():.3f} | {starved} | " + " / ".join(fmt(e.change(s), True) for s in skills)
              + f" | {fmt(e.test_gain, True)} | {fmt(e.eval_sd())} |", file=out)
    print("\n## Spread of the test gain per agent\n", file=out)
    print("| agent | episodes | mean | SD | min | max | evaluation SD | evaluation share of variance | "
          "replicate SD (seeds) |", file=out)
    print("|---|---|---|---|---|---|---|---|---|", file=out)
    by_agent: dict[str, list[Episode]] = {}
    for e in episodes:
        by_agent.setdefault(e.agent, []).append(e)
    for name, group in sorted(by_agent.items()):
        s = agent_spread(group)
        print(f"| {name} | {s['n']} | {fmt(s['mean'], True)} | {fmt(s['sd'])} | {fmt(s['min'], True)} | "
              f"{fmt(s['max'], True)} | {fmt(s['eval_sd'])} | {fmt(s['eval_share'])} | "
              f"{fmt(replicate_sd(group)[0])} ({replicate_sd(group)[1]}) |", file=out)
    group = by_agent.get(agent, [])
    if len(group) < 3:
        print(f"\n(fewer than 3 episodes of agent {agent!r}: no per-skill breakdown)", file=out)
        return
    print(f"\n## {agent}: what its gain goes with ({len(group)} episodes)\n", file=out)
    gains = [e.test_gain for e in group]
    share_var = variance_by_skill(group)
    print("| skill | share of gain variance | corr(gain, episode share) | corr(gain, min round share) | "
          "mean val change in a starved round | starved rounds |", file=out)
    print("|---|---|---|---|---|---|", file=out)
    for s in skills:
        corr_share = correlation([e.total_shares()[s] for e in group], gains)
        corr_min = correlation([min(r.get(s, 0.0) for r in e.shares_by_round) for e in group], gains)
        starved_changes = [e.val_change_by_round[k - 1].get(s, 0.0) for e in group
                           for k, sk in e.starved(starved_below) if sk == s]
        mean_starved = fmt(statistics.fmean(starved_changes), True) if starved_changes else "-"
        print(f"| {s} | {fmt(share_var[s], True)} | {fmt(corr_share, True)} | {fmt(corr_min, True)} | "
              f"{mean_starved} | {len(starved_changes)} |", file=out)
    corr_min_all = correlation([e.min_share() for e in group], gains)
    print(f"\ncorr(gain, smallest share of any skill in any round) = {fmt(corr_min_all, True)}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="folders holding run directories (a suite's runs_dir)")
    parser.add_argument("--agent", default="random", help="the agent whose gain is broken down by skill")
    parser.add_argument("--starved", type=float, default=0.05,
                        help="a skill is starved in a round when it gets under this share of it (default 0.05)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.runs if not p.is_dir()]
    if missing:
        parser.error(f"not a folder: {', '.join(missing)}; pass the folders that hold run directories")
    if not 0 < args.starved < 1:
        parser.error(f"--starved {args.starved}: give a share between 0 and 1, e.g. 0.05")
    episodes = read_episodes(args.runs)
    if not episodes:
        parser.error(f"no finished run directories (with summary.json) under {', '.join(map(str, args.runs))}")
    print_report(episodes, args.agent, args.starved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
