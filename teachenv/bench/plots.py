"""The leaderboard's PNG plots, drawn with matplotlib's object API (``Figure`` renders through Agg; pyplot
and its global state are never touched).

Per environment: learning curves (mean validation accuracy per agent over rounds with a shaded 95%
band; one small panel per skill) and accuracy against cost (one point per run). Per run: its
learning curve, overall and per skill. This module draws what ``teachenv.bench.leaderboard`` built;
it computes no ranking and writes no table. Import it lazily: matplotlib is slow to import.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter, MaxNLocator

from teachenv.bench.leaderboard import EnvironmentBoard, Leaderboard
from teachenv.bench.runs import RunRecord
from teachenv.bench.stats import mean_ci

DPI = 90
BAND_ALPHA = 0.2


@dataclass(frozen=True)
class PlotFiles:
    environments: dict[str, list[Path]] = field(default_factory=dict)  # environment → its PNGs
    runs: dict[Path, Path] = field(default_factory=dict)  # run directory → its learning-curve PNG

    @property
    def all_files(self) -> tuple[Path, ...]:
        return (*(p for ps in self.environments.values() for p in ps), *self.runs.values())


def slug(text: str) -> str:
    """A file-name-safe form of a label: ``teachenv/SkillList-v0 · arith`` → ``teachenv-skilllist-v0-arith``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def write_plots(board: Leaderboard, out_dir: Path) -> PlotFiles:
    colours = agent_colours(board.agents)
    files = PlotFiles()
    used: set[str] = set()
    for env in board.environments:
        name = _unique(slug(env.environment), used)
        files.environments[env.environment] = [
            _save(learning_curves(env, colours), out_dir / f"{name}-learning.png"),
            _save(skill_curves(env, colours), out_dir / f"{name}-skills.png"),
            _save(accuracy_vs_cost(env, colours), out_dir / f"{name}-cost.png"),
        ]
    used.clear()
    for run in (r for env in board.environments for r in env.runs):
        files.runs[run.path] = _save(run_curve(run), out_dir / "runs" / f"{_unique(slug(run.name), used)}.png")
    return files


def agent_colours(agents: Sequence[str]) -> dict[str, str]:
    """One colour per agent, the same in every environment's plots."""
    palette = [f"C{i}" for i in range(10)]
    return {agent: palette[i % len(palette)] for i, agent in enumerate(agents)}


def learning_curves(env: EnvironmentBoard, colours: dict[str, str]) -> Figure:
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for agent in env.agents:
        _band(ax, agent.runs, lambda r: r.val_curve, colours[agent.agent], f"{agent.agent} (n={len(agent.runs)})")
    ax.set(title=f"{env.environment}: validation accuracy", xlabel="round", ylabel="val accuracy")
    _round_ticks(ax, env.runs)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def skill_curves(env: EnvironmentBoard, colours: dict[str, str]) -> Figure:
    skills = list(dict.fromkeys(s for r in env.runs for s in r.val_curve_by_skill))
    cols = min(4, max(len(skills), 1))
    rows = max(math.ceil(len(skills) / cols), 1)
    fig = Figure(figsize=(3.0 * cols, 2.4 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
    for i, (ax, skill) in enumerate(zip(axes.flat, skills)):
        for agent in env.agents:
            _band(ax, agent.runs, lambda r, s=skill: r.val_curve_by_skill.get(s, ()), colours[agent.agent], agent.agent)
        ax.set_title(skill, fontsize="medium")
        ax.grid(alpha=0.3)
        _round_ticks(ax, env.runs)
        if i + cols >= len(skills):  # the lowest panel of its column
            ax.set_xlabel("round")
            ax.tick_params(labelbottom=True)
    for ax in list(axes.flat)[len(skills):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), fontsize="small")
    fig.suptitle(f"{env.environment}: validation accuracy per skill")
    return fig


def accuracy_vs_cost(env: EnvironmentBoard, colours: dict[str, str]) -> Figure:
    """Test gain against accepted examples, teacher tokens (when any run spent some) and wall seconds."""
    costs: list[tuple[str, Callable[[RunRecord], float | None]]] = [
        ("accepted examples", lambda r: r.examples_accepted)]
    if any(r.teacher_tokens for r in env.runs):
        costs.append(("teacher tokens", lambda r: r.teacher_tokens))
    costs.append(("wall seconds", lambda r: r.seconds))
    fig = Figure(figsize=(3.6 * len(costs), 3.6), layout="constrained")
    axes = fig.subplots(1, len(costs), squeeze=False, sharey=True)[0]
    for ax, (label, cost) in zip(axes, costs):
        for agent in env.agents:
            points = [(x, r.test_gain) for r in agent.runs if (x := cost(r)) is not None]
            if points:
                xs, ys = zip(*points)
                ax.scatter(xs, ys, color=colours[agent.agent], label=agent.agent, alpha=0.8, edgecolors="none")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 120k, not 120000 (wide tick labels collide)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test gain")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"{env.environment}: test gain vs cost (one point per run)")
    return fig


def run_curve(run: RunRecord) -> Figure:
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    rounds = range(len(run.val_curve))
    for skill, curve in run.val_curve_by_skill.items():
        ax.plot(rounds, curve, linewidth=1, alpha=0.7, marker=".", label=skill)
    ax.plot(rounds, run.val_curve, color="black", linewidth=2.2, marker="o", label="overall")
    if run.test_start is not None and run.test_end is not None:
        ax.plot([0, run.rounds], [run.test_start, run.test_end], linestyle="none", marker="s", markersize=7,
                markerfacecolor="none", markeredgecolor="black", label="test (reset, end)")
    base = "" if run.student_seed is None else f", student seed {run.student_seed}"
    ax.set(title=f"{run.name}: {run.agent}, seed {run.seed}{base}", xlabel="round", ylabel="val accuracy")
    ax.set_xticks(list(rounds))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def _band(ax, runs: Sequence[RunRecord], curve: Callable[[RunRecord], Sequence[float]], colour: str,
          label: str) -> None:
    """The mean curve over runs and its 95% t-band (drawn where at least two runs reach that round)."""
    curves = [c for r in runs if (c := curve(r))]
    if not curves:
        return
    rounds = range(max(len(c) for c in curves))
    estimates = [mean_ci(c[k] for c in curves if k < len(c) and not math.isnan(c[k])) for k in rounds]
    ax.plot(rounds, [e.mean for e in estimates], color=colour, marker="o", markersize=3, label=label)
    low = [math.nan if e.low is None else e.low for e in estimates]
    high = [math.nan if e.high is None else e.high for e in estimates]
    ax.fill_between(rounds, low, high, color=colour, alpha=BAND_ALPHA, linewidth=0)


def _round_ticks(ax, runs: Sequence[RunRecord]) -> None:
    last = max((r.rounds for r in runs), default=0)
    ax.set_xticks(range(0, last + 1, max(1, math.ceil((last + 1) / 12))))


def _unique(name: str, used: set[str]) -> str:
    candidate, k = name, 2
    while candidate in used:
        candidate, k = f"{name}-{k}", k + 1
    used.add(candidate)
    return candidate


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
