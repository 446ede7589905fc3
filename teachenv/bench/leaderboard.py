"""The leaderboard: per environment, agents ranked by test-accuracy gain over seeds, their paired
comparisons, and the tables (Markdown, CSV, terminal) that show them.

Only finished runs enter a mean; unfinished and failed runs are listed apart with the reason. The
ranking metric is the test gain (test accuracy at the end − at reset); the area under the
validation learning curve, data efficiency and costs are shown beside it. This module knows run
records (``teachenv.bench.runs``) and statistics (``teachenv.bench.stats``); plots and the HTML page
are drawn by ``teachenv.bench.plots`` and ``teachenv.bench.html_page`` from what it builds.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from teachenv.bench.claims import ClaimResult, Registration, evaluate_claims, registered_when
from teachenv.bench.runs import RunRecord, RunStatus
from teachenv.bench.stats import POWER, Estimate, PairedDifference, mean_ci, paired_difference
from teachenv.core.run_dir import atomic_write_text


def learning_curve_area(curve: Sequence[float]) -> float:
    """Mean validation accuracy over rounds 0..R: the trapezoid-rule area under the curve divided by R."""
    if not curve:
        return math.nan
    rounds = len(curve) - 1
    if rounds == 0:
        return float(curve[0])
    return math.fsum((curve[i] + curve[i + 1]) / 2 for i in range(rounds)) / rounds


def gain_per_1k_accepted(run: RunRecord) -> float | None:
    """Test gain per 1,000 accepted examples (None when the run accepted none)."""
    gain = run.test_gain
    return None if gain is None or run.examples_accepted == 0 else gain * 1000 / run.examples_accepted


def generated_per_accepted(run: RunRecord) -> float | None:
    return None if run.examples_accepted == 0 else run.examples_generated / run.examples_accepted


def exclusion_reason(run: RunRecord) -> str | None:
    """Why a run stays out of the means (None: it counts)."""
    if run.status is RunStatus.failed:
        return run.error or "failed"
    if run.status is RunStatus.unfinished:
        if not run.val_curve:
            return "not started (no episode.jsonl)"
        return f"unfinished after {run.rounds} round(s) (no summary.json)"
    if run.test_gain is None:
        return "finished but its log has no test accuracy at reset and at the end"
    return None


@dataclass(frozen=True)
class AgentResult:
    """One agent in one environment, over its finished runs (one per seed)."""

    environment: str
    agent: str
    rank: int
    runs: tuple[RunRecord, ...]
    test_gain: Estimate
    test_start: Estimate
    test_end: Estimate
    val_auc: Estimate
    gain_per_1k_accepted: Estimate
    generated_per_accepted: Estimate
    examples_accepted: Estimate
    teacher_tokens: Estimate
    dollars: Estimate
    seconds: Estimate

    @property
    def seeds(self) -> str:
        return ", ".join(sorted({str(r.seed) for r in self.runs}, key=_natural))

    @property
    def student_seeds(self) -> str:
        """The base students' pretraining seeds (empty for a Hugging Face model)."""
        return ", ".join(sorted({str(r.student_seed) for r in self.runs if r.student_seed is not None}, key=_natural))


@dataclass(frozen=True)
class Comparison:
    """``agent_a − agent_b`` in test gain over the seeds both ran (``agent_a`` is the higher ranked)."""

    agent_a: str
    agent_b: str
    result: PairedDifference

    @property
    def a_wins(self) -> int:
        return sum(d > 0 for d in self.result.differences.values())

    @property
    def b_wins(self) -> int:
        return sum(d < 0 for d in self.result.differences.values())


@dataclass(frozen=True)
class EnvironmentBoard:
    environment: str
    agents: tuple[AgentResult, ...]  # ranked, best first
    comparisons: tuple[Comparison, ...]  # every pair; those against the best come first
    seed_note: str
    notes: tuple[str, ...] = ()

    @property
    def runs(self) -> tuple[RunRecord, ...]:
        return tuple(r for a in self.agents for r in a.runs)


@dataclass(frozen=True)
class Leaderboard:
    environments: tuple[EnvironmentBoard, ...]
    excluded: tuple[RunRecord, ...]
    #: The suites' pre-registered claims, each tested per environment (see ``teachenv.bench.claims``).
    claims: tuple[ClaimResult, ...] = ()

    @property
    def agents(self) -> list[str]:
        """Every agent, in a stable order (plots give each one colour across environments)."""
        return sorted({a.agent for env in self.environments for a in env.agents})


def build_leaderboard(runs: Sequence[RunRecord], registrations: Sequence[Registration] = ()) -> Leaderboard:
    counted = [r for r in runs if exclusion_reason(r) is None]
    excluded = tuple(r for r in runs if exclusion_reason(r) is not None)
    by_env: dict[str, list[RunRecord]] = defaultdict(list)
    for run in counted:
        by_env[run.environment].append(run)
    return Leaderboard(environments=tuple(_environment_board(env, by_env[env]) for env in sorted(by_env)),
                       excluded=excluded, claims=tuple(evaluate_claims(_claim_inputs(by_env), registrations)))


def _claim_inputs(by_env: dict[str, list[RunRecord]]) -> dict[str, dict[str, dict[Hashable, tuple[float, float | None]]]]:
    """Per environment and agent, each pair key's test gain and when its earliest run started (None if any
    run's start is unknown: such a seed cannot count for a claim)."""
    inputs: dict[str, dict[str, dict[Hashable, tuple[float, float | None]]]] = {}
    for env, runs in by_env.items():
        by_agent: dict[str, list[RunRecord]] = defaultdict(list)
        for run in runs:
            by_agent[run.agent].append(run)
        inputs[env] = {}
        for agent, agent_runs in by_agent.items():
            gains = _by_pair_key(agent_runs)
            starts: dict[Hashable, list[float | None]] = defaultdict(list)
            for run in agent_runs:
                starts[run.pair_key].append(run.started_at)
            inputs[env][agent] = {
                key: (gain, None if None in starts[key] else min(starts[key]))  # type: ignore[type-var]
                for key, gain in gains.items()
            }
    return inputs


def _environment_board(environment: str, runs: list[RunRecord]) -> EnvironmentBoard:
    by_agent: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        by_agent[run.agent].append(run)
    unranked = [_agent_result(environment, agent, tuple(rs)) for agent, rs in by_agent.items()]
    unranked.sort(key=lambda a: (-a.test_gain.mean, a.agent))
    agents = tuple(replace(a, rank=i) for i, a in enumerate(unranked, 1))
    gains = {a.agent: _by_pair_key(a.runs) for a in agents}
    comparisons = tuple(
        Comparison(a.agent, b.agent, paired_difference(gains[a.agent], gains[b.agent]))
        for a, b in itertools.combinations(agents, 2)
    )
    notes = tuple(
        f"{a.agent}: {len(a.runs)} runs but {len(keys)} distinct seed(s); runs that share a seed count each in "
        f"the means and are averaged before pairing"
        for a in agents if len(keys := {r.pair_key for r in a.runs}) < len(a.runs)
    )
    return EnvironmentBoard(environment, agents, comparisons, seed_note(runs), notes)


def _agent_result(environment: str, agent: str, runs: tuple[RunRecord, ...]) -> AgentResult:
    def over(value: Callable[[RunRecord], float | None]) -> Estimate:
        return mean_ci(v for r in runs if (v := value(r)) is not None)

    return AgentResult(
        environment=environment, agent=agent, rank=0, runs=runs,
        test_gain=over(lambda r: r.test_gain),
        test_start=over(lambda r: r.test_start),
        test_end=over(lambda r: r.test_end),
        val_auc=over(lambda r: learning_curve_area(r.val_curve)),
        gain_per_1k_accepted=over(gain_per_1k_accepted),
        generated_per_accepted=over(generated_per_accepted),
        examples_accepted=over(lambda r: r.examples_accepted),
        teacher_tokens=over(lambda r: r.teacher_tokens),
        dollars=over(lambda r: r.dollars),
        seconds=over(lambda r: r.seconds),
    )


def _by_pair_key(runs: Sequence[RunRecord]) -> dict[Hashable, float]:
    """Test gain per pair key (episode seed, base-student seeds); runs sharing a key are averaged."""
    groups: dict[Hashable, list[float]] = defaultdict(list)
    for run in runs:
        groups[run.pair_key].append(run.test_gain)  # type: ignore[arg-type]  (counted runs have one)
    return {key: math.fsum(values) / len(values) for key, values in groups.items()}


def seed_note(runs: Sequence[RunRecord]) -> str:
    """What one seed varies in these runs: always the episode's sampling; the base student's pretraining
    seed too when it differs between runs (named by its config key)."""
    episode = "A seed varies the episode's sampling (data generated, adapter init, training order)"
    local = [r for r in runs if r.student_seed is not None]
    by_key: dict[str, set[int]] = defaultdict(set)
    for run in local:
        by_key[str(run.student_seed_key)].add(run.student_seed)  # type: ignore[arg-type]  (not None here)
    if len({r.student_seed for r in runs}) > 1:
        varied = "; ".join(f"{key}: {', '.join(map(str, sorted(seeds)))}" for key, seeds in sorted(by_key.items()))
        return f"{episode} and the base student's pretraining seed ({varied}); pairs match both seeds."
    models = ", ".join(sorted({r.student for r in runs if r.student is not None}))
    fixed = f"pretraining seed {local[0].student_seed}" if local else "not built locally"
    return f"{episode}; the base student is the same in every run ({models}, {fixed})."


def _natural(text: str) -> tuple[int, int, str]:
    """Sort key: numbers in numeric order, then other labels."""
    return (0, int(text), "") if text.lstrip("-").isdigit() else (1, 0, text)


# -- tables: one set of string rows, rendered as Markdown, HTML (html_page) and in the terminal --------

AGENT_HEADERS = ("#", "agent", "n", "test gain ±CI", "test start→end", "val AUC ±CI", "gain/1k acc",
                 "gen/acc", "accepted", "teacher tok", "dollars", "wall s")
PAIRED_HEADERS = ("agent A", "agent B", "pairs", "A − B test gain ±CI", "min. detectable", "A wins", "B wins",
                  "unpaired A/B")
CLAIM_HEADERS = ("claim", "environment", "registered", "seeds counted", "run before", "A − B ±CI", "p",
                 "p (Holm)", "verdict")
EXCLUDED_HEADERS = ("run", "status", "agent", "environment", "seed", "reason")
EXPLANATION = ("Ranked by test gain (test accuracy at the end − at reset). ±CI: half-width of the 95% "
               "Student-t interval over seeds (n/a with one seed). val AUC: mean validation accuracy over "
               "rounds 0..R (trapezoid rule / R). gain/1k acc: test gain per 1,000 accepted examples. "
               "gen/acc: examples generated per example accepted. Other columns are means over seeds. "
               f"min. detectable: the smallest true difference the paired comparison detects with {POWER:.0%} "
               "power at its number of seeds and spread (two-sided, 5%): differences below it are not resolved.")
CLAIMS_EXPLANATION = ("Pre-registered claims (the suite's `claims`): each tested on the seeds both agents ran "
                      "after the commit that added it, by a one-sided paired t-test; p (Holm) is corrected for "
                      "the number of claims × environments, and a claim is supported when it is below 0.05.")


def agent_rows(board: EnvironmentBoard) -> list[tuple[str, ...]]:
    return [
        (str(a.rank), a.agent, str(a.test_gain.n), a.test_gain.format(signed=True),
         f"{a.test_start.format(ci=False)} → {a.test_end.format(ci=False)}", a.val_auc.format(),
         a.gain_per_1k_accepted.format(signed=True, ci=False), a.generated_per_accepted.format(2, ci=False),
         a.examples_accepted.format(0, ci=False), a.teacher_tokens.format(0, ci=False),
         a.dollars.format(4, ci=False), a.seconds.format(0, ci=False))
        for a in board.agents
    ]


def paired_rows(board: EnvironmentBoard) -> list[tuple[str, ...]]:
    return [
        (c.agent_a, c.agent_b, str(c.result.n_pairs), c.result.estimate.format(signed=True),
         _plain(c.result.minimum_detectable), str(c.a_wins), str(c.b_wins),
         f"{len(c.result.only_a)} / {len(c.result.only_b)}")
        for c in board.comparisons
    ]


def claim_rows(board: Leaderboard) -> list[tuple[str, ...]]:
    return [
        (r.registration.claim.text, r.environment, registered_when(r.registration),
         ", ".join(_pair_label(k) for k in r.seeds) or "none", str(len(r.seeds_before)),
         r.estimate.format(signed=True), _plain(r.p_value, 4), _plain(r.p_holm, 4), r.verdict)
        for r in board.claims
    ]


def _plain(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _pair_label(key: Hashable) -> str:
    """A pair key (episode seed, base-student seed) as its episode seed, with the student's when it has one."""
    if isinstance(key, tuple) and len(key) == 2:
        return str(key[0]) if key[1] is None else f"{key[0]}/{key[1]}"
    return str(key)


def excluded_rows(board: Leaderboard) -> list[tuple[str, ...]]:
    return [(r.name, r.status.value, r.agent, r.environment, str(r.seed), exclusion_reason(r) or "")
            for r in board.excluded]


def summary_line(board: Leaderboard) -> str:
    counted = sum(len(env.runs) for env in board.environments)
    return (f"{counted} finished run(s) in {len(board.environments)} environment(s); "
            f"{len(board.excluded)} unfinished or failed run(s) left out of the means.")


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), "|" + "---|" * len(headers), *map(line, rows)])


def to_markdown(board: Leaderboard, plots: dict[str, list[Path]], out_dir: Path) -> str:
    """The leaderboard as Markdown; ``plots`` maps an environment to its PNGs (linked relative to ``out_dir``)."""
    parts = ["# Leaderboard", "", summary_line(board), EXPLANATION, ""]
    for env in board.environments:
        parts += [f"## {env.environment}", "", env.seed_note, *[f"- {n}" for n in env.notes], "",
                  _markdown_table(AGENT_HEADERS, agent_rows(env)), ""]
        if env.comparisons:
            parts += ["Paired comparisons (test gain, over the seeds both agents ran):", "",
                      _markdown_table(PAIRED_HEADERS, paired_rows(env)), ""]
        parts += [f"![{p.stem}]({p.relative_to(out_dir).as_posix()})" for p in plots.get(env.environment, [])]
        parts.append("")
    if board.claims:
        parts += ["## Pre-registered claims", "", CLAIMS_EXPLANATION, "", _markdown_table(CLAIM_HEADERS, claim_rows(board)), ""]
    if board.excluded:
        parts += ["## Runs not in the means", "", _markdown_table(EXCLUDED_HEADERS, excluded_rows(board)), ""]
    return "\n".join(parts)


def _number(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else repr(float(value))


def write_csvs(board: Leaderboard, out_dir: Path) -> tuple[Path, Path]:
    """``leaderboard.csv`` (one row per environment × agent) and ``paired.csv`` (one row per pair of agents)."""
    from io import StringIO

    def estimate(e: Estimate, ci: bool = False) -> list[str]:
        return [_number(e.mean), _number(e.low), _number(e.high)] if ci else [_number(e.mean)]

    table = StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["environment", "rank", "agent", "n_seeds", "seeds", "student_seeds", "test_gain_mean",
                     "test_gain_ci_low", "test_gain_ci_high", "test_start_mean", "test_end_mean", "val_auc_mean",
                     "val_auc_ci_low", "val_auc_ci_high", "gain_per_1k_accepted_mean", "generated_per_accepted_mean",
                     "examples_accepted_mean", "teacher_tokens_mean", "dollars_mean", "seconds_mean"])
    for env in board.environments:
        for a in env.agents:
            writer.writerow([env.environment, a.rank, a.agent, a.test_gain.n, a.seeds, a.student_seeds,
                             *estimate(a.test_gain, True),
                             *estimate(a.test_start), *estimate(a.test_end), *estimate(a.val_auc, True),
                             *estimate(a.gain_per_1k_accepted), *estimate(a.generated_per_accepted),
                             *estimate(a.examples_accepted), *estimate(a.teacher_tokens), *estimate(a.dollars),
                             *estimate(a.seconds)])
    paired = StringIO()
    writer = csv.writer(paired, lineterminator="\n")
    writer.writerow(["environment", "agent_a", "agent_b", "n_pairs", "diff_mean", "diff_ci_low", "diff_ci_high",
                     "min_detectable_diff", "a_wins", "b_wins", "unpaired_a", "unpaired_b"])
    for env in board.environments:
        for c in env.comparisons:
            writer.writerow([env.environment, c.agent_a, c.agent_b, c.result.n_pairs,
                             *estimate(c.result.estimate, True), _number(c.result.minimum_detectable),
                             c.a_wins, c.b_wins, len(c.result.only_a), len(c.result.only_b)])
    paths = out_dir / "leaderboard.csv", out_dir / "paired.csv"
    atomic_write_text(paths[0], table.getvalue())
    atomic_write_text(paths[1], paired.getvalue())
    return paths


def print_leaderboard(console: Console, board: Leaderboard) -> None:
    for env in board.environments:
        console.print(_rich_table(env.environment, AGENT_HEADERS, agent_rows(env)))
        console.print(f"[dim]{env.seed_note}[/]", soft_wrap=True)
        for note in env.notes:
            console.print(f"[yellow]{note}[/]", soft_wrap=True)
        if env.comparisons:
            console.print(_rich_table(f"{env.environment}: paired", PAIRED_HEADERS, paired_rows(env)))
    if board.claims:
        console.print(_rich_table("pre-registered claims", CLAIM_HEADERS, claim_rows(board)))
        console.print(f"[dim]{CLAIMS_EXPLANATION}[/]", soft_wrap=True)
    if board.excluded:
        console.print(_rich_table("runs not in the means", EXCLUDED_HEADERS, excluded_rows(board)))
    console.print(summary_line(board), soft_wrap=True)


def _rich_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(*headers, title=title, title_justify="left")
    for row in rows:
        table.add_row(*row)
    return table


@dataclass(frozen=True)
class Outputs:
    out_dir: Path
    markdown: Path
    csv: Path
    paired_csv: Path
    html: Path
    plots: tuple[Path, ...]


def write_outputs(board: Leaderboard, out_dir: Path) -> Outputs:
    """Write the tables, the plots and the HTML page into ``out_dir``."""
    from teachenv.bench.html_page import write_html
    from teachenv.bench.plots import write_plots

    out_dir.mkdir(parents=True, exist_ok=True)
    plots = write_plots(board, out_dir / "plots")
    markdown = out_dir / "leaderboard.md"
    atomic_write_text(markdown, to_markdown(board, plots.environments, out_dir))
    csv_path, paired_path = write_csvs(board, out_dir)
    html = write_html(board, plots, out_dir / "leaderboard.html")
    return Outputs(out_dir, markdown, csv_path, paired_path, html, plots.all_files)
