"""What ``teachenv run`` shows: a live line per round and the per-skill before/after table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from teachenv.core.records import RoundResult


class RoundTracker:
    """A live progress line over rounds. It starts at the first phase, i.e. after the student is
    built, because the build shows its own progress bar and rich allows one live display at a time."""

    def __init__(self, console: Console, rounds: int) -> None:
        self.console, self.rounds = console, rounds
        self.progress: Progress | None = None
        self.accuracy = "-"

    def phase(self, name: str, round_index: int) -> None:
        if not self.console.is_terminal:  # a log gets the per-round lines only
            return
        if self.progress is None:
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     TextColumn("{task.completed}/{task.total} rounds"), TimeElapsedColumn(),
                                     console=self.console, transient=True)
            self.progress.start()
            self.task_id = self.progress.add_task("", total=self.rounds)
        label = "reset" if round_index == 0 else f"round {round_index}"
        self.progress.update(self.task_id, description=f"{label}: {name:<8} val acc {self.accuracy}")

    def round_done(self, result: RoundResult) -> None:
        self.accuracy = f"{result.val.accuracy:.3f}"
        reward = "" if result.reward is None else f"  reward {result.reward:+.3f}"
        kept = "" if result.round == 0 else f"  accepted {result.examples_accepted}/{result.examples_generated}"
        self.console.print(f"round {result.round}: val acc {self.accuracy}{reward}{kept}")
        if self.progress is not None and result.round > 0:
            self.progress.advance(self.task_id)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


@contextmanager
def round_progress(console: Console, rounds: int) -> Iterator[RoundTracker]:
    tracker = RoundTracker(console, rounds)
    try:
        yield tracker
    finally:
        tracker.stop()


def print_outcome(console: Console, outcome) -> None:
    first, last = outcome.first, outcome.last
    table = Table(title=f"{outcome.run_dir.root}: {last.round} rounds")
    table.add_column("skill")
    for col in ("val before", "val after", "Δ val", "test before", "test after", "Δ test"):
        table.add_column(col, justify="right")
    for skill in first.val.accuracy_by_skill:
        v0, v1 = first.val.accuracy_by_skill[skill], last.val.accuracy_by_skill[skill]
        t0, t1 = first.test.accuracy_by_skill[skill], last.test.accuracy_by_skill[skill]
        table.add_row(skill, f"{v0:.3f}", f"{v1:.3f}", f"{v1 - v0:+.3f}", f"{t0:.3f}", f"{t1:.3f}", f"{t1 - t0:+.3f}")
    v0, v1, t0, t1 = first.val.accuracy, last.val.accuracy, first.test.accuracy, last.test.accuracy
    table.add_row("[bold]mean", f"{v0:.3f}", f"{v1:.3f}", f"{v1 - v0:+.3f}", f"{t0:.3f}", f"{t1:.3f}", f"{t1 - t0:+.3f}")
    console.print(table)
    cost = last.cost
    console.print(
        f"examples generated {cost.examples_generated}, accepted {cost.examples_accepted}; "
        f"teacher tokens {cost.teacher_tokens}; ${cost.dollars:.4f}; "
        f"wall {outcome.seconds:.0f} s; peak memory {outcome.peak_memory_mb:.0f} MiB"
        + (f"; truncated by {', '.join(last.truncated_by)}" if last.truncated_by else ""),
        soft_wrap=True,
    )
    calls = outcome.teacher_calls
    if calls is not None and calls["hits"] + calls["misses"] > 0:
        console.print(
            f"teacher calls: {calls['hits']} from the response cache, {calls['misses']} new "
            f"({calls['new_prompt_tokens'] + calls['new_completion_tokens']} new tokens)",
            soft_wrap=True,
        )
