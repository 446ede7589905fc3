"""Fit the surrogate student's learning dynamics from logged real episodes, and say how well it predicts others.

Reads every ``episode.jsonl`` below the given run folders (episodes of one world and one base-student
recipe: the script checks that their configs agree on task, student and round size), holds out the
episodes of ``--holdout-seeds``, and fits ``teachenv.student.surrogate``'s parameters to the rest by least
squares on one-round-ahead predictions of the per-skill validation accuracy (a grid search: per skill
ceiling and rate, shared transfer and forgetting). Then it rolls the fitted model out over each held-out
episode from its round-0 accuracies with the episode's own accepted allocations and reports the mean
absolute error of the per-skill accuracy after each round, against the baseline that predicts no change.
Random-allocation episodes (the ``random`` policy) are what lets the fit see the whole action space.

    python scripts/fit_surrogate.py RUNS_DIR [RUNS_DIR ...] --out teachenv/student/surrogate_arith.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from teachenv.student.surrogate import SurrogateParams, dynamics, shares_of, step  # noqa: E402

CEILINGS = np.linspace(0.05, 1.0, 20)
RATES = np.array([0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 12, 20, 40])
TRANSFERS = np.array([0.0, 0.01, 0.02, 0.05, 0.1, 0.2])
FORGETTINGS = np.array([0.0, 0.01, 0.02, 0.05, 0.1, 0.2])


def read_episodes(folders: list[Path]) -> list[dict]:
    episodes, signature = [], None
    for folder in folders:
        for log in sorted(folder.glob("**/episode.jsonl")):
            config = yaml.safe_load((log.parent / "config.yaml").read_text())
            this = json.dumps([config["task"], config["env"].get("examples_per_round"),
                               config["student"].get("train"), config["student"].get("model")], sort_keys=True)
            if signature not in (None, this):
                raise SystemExit(f"{log} was run with another task, student or round size than the episodes before it: "
                                 "fit one world and one recipe at a time")
            signature = this
            rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
            seed = config.get("seed")
            episodes.append({"path": f"{folder.name}/{log.parent.relative_to(folder)}", "seed": seed,
                             "accuracy": [r["val_accuracy_by_skill"] for r in rows],
                             "accepted": [r.get("accepted_by_skill", {}) for r in rows[1:]]})
    if not episodes:
        raise SystemExit(f"no episode.jsonl below {', '.join(map(str, folders))}")
    return episodes


def transitions(episodes: list[dict], skill: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(accuracy before, share of the skill, accuracy after) of every logged round."""
    before, share, after = [], [], []
    for episode in episodes:
        for k, accepted in enumerate(episode["accepted"]):
            before.append(episode["accuracy"][k][skill])
            share.append(shares_of(accepted).get(skill, 0.0))
            after.append(episode["accuracy"][k + 1][skill])
    return np.array(before), np.array(share), np.array(after)


def fit(episodes: list[dict]) -> SurrogateParams:
    skills = list(episodes[0]["accuracy"][0])
    data = {s: transitions(episodes, s) for s in skills}
    best = None
    c, r = np.meshgrid(CEILINGS, RATES, indexing="ij")
    for transfer in TRANSFERS:
        for forgetting in FORGETTINGS:
            total, chosen = 0.0, {}
            for skill in skills:
                p, x, y = data[skill]
                pred = dynamics(p, x, c[..., None], r[..., None], transfer, forgetting)  # (ceilings, rates, rounds)
                sse = ((pred - y) ** 2).sum(axis=-1)
                i, j = np.unravel_index(np.argmin(sse), sse.shape)
                total += sse[i, j]
                chosen[skill] = (float(CEILINGS[i]), float(RATES[j]))
            if best is None or total < best[0]:
                best = (total, transfer, forgetting, chosen)
    _, transfer, forgetting, chosen = best
    start = {s: float(np.mean([e["accuracy"][0][s] for e in episodes])) for s in skills}
    return SurrogateParams(start=start, ceiling={s: v[0] for s, v in chosen.items()},
                           rate={s: v[1] for s, v in chosen.items()}, transfer=float(transfer),
                           forgetting=float(forgetting), fitted_on=[e["path"] for e in episodes])


def rollout_errors(params: SurrogateParams, episodes: list[dict]) -> dict:
    """Mean absolute per-skill accuracy error after each round: the open-loop rollout against no change."""
    by_round: dict[int, dict[str, list[float]]] = {}
    for episode in episodes:
        predicted, start = dict(episode["accuracy"][0]), episode["accuracy"][0]
        for k, accepted in enumerate(episode["accepted"], start=1):
            predicted = step(params, predicted, shares_of(accepted))
            actual = episode["accuracy"][k]
            errors = by_round.setdefault(k, {"surrogate": [], "no_change": []})
            errors["surrogate"] += [abs(predicted[s] - actual[s]) for s in actual]
            errors["no_change"] += [abs(start[s] - actual[s]) for s in actual]
    return {k: {name: float(np.mean(v)) for name, v in errors.items()} for k, errors in sorted(by_round.items())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="folders with logged episodes (searched recursively)")
    parser.add_argument("--holdout-seeds", default="4", help="episode seeds held out of the fit (comma-separated)")
    parser.add_argument("--out", type=Path, default=None, help="write the fitted parameters here (JSON)")
    args = parser.parse_args(argv)
    held = {int(s) for s in args.holdout_seeds.split(",") if s.strip()}
    episodes = read_episodes(args.runs)
    train = [e for e in episodes if e["seed"] not in held]
    test = [e for e in episodes if e["seed"] in held]
    if not train or not test:
        raise SystemExit(f"--holdout-seeds {args.holdout_seeds} leaves {len(train)} episodes to fit and {len(test)} "
                         "to test: both must be non-empty")
    params = fit(train)
    report = {"fitted_episodes": len(train), "held_out_episodes": len(test),
              "params": params.model_dump(exclude={"fitted_on"}),
              "held_out_mae_by_round": rollout_errors(params, test),
              "fitted_mae_by_round": rollout_errors(params, train)}
    print(json.dumps(report, indent=2))
    print("| round | surrogate MAE (held out) | no-change MAE (held out) |\n| --- | --- | --- |")
    for k, errors in report["held_out_mae_by_round"].items():
        print(f"| {k} | {errors['surrogate']:.3f} | {errors['no_change']:.3f} |")
    if args.out:
        args.out.write_text(params.model_dump_json(indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
