"""Run a suite's episodes: skip finished ones, resume unfinished ones, record failures.

Each episode is ``teachenv run`` in its own subprocess (``teachenv run <run dir>/bench-config.yaml
--name <episode> --resume``: an unfinished run continues from its last finished round; started through
``teachenv.bench.episode_process`` so that it dies with the worker that waits for it), with ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` set to the suite's threads per worker and
its output appended to ``<run dir>/bench.log``. A bounded pool of ``workers`` threads manages the
subprocesses; with ``ray.address`` set, each thread instead hands its episode to Ray, which runs
the same command on a cluster node; Ray retries a task whose worker died (``ray.retries``) and the
retry resumes the run. A run directory is finished iff its ``summary.json`` exists, and one writer at a
time holds it (``RunDirectory.writer_lock``).

Every run directory gets ``bench.json`` (suite, agent, environment, seed: what the leaderboard
reads). A failed attempt writes ``error.json`` (the output's last lines, the return code, the
attempt's seconds) and does not stop the other episodes; a later successful attempt removes it.

Episodes that would build the same not-yet-cached tiny student do not build it at once: the first
of them runs alone (other episodes run beside it), the rest once it has finished.

This module knows how to run and record episodes, not what is in them (``teachenv.bench.suite``)
nor how the leaderboard reads them.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from teachenv.bench.claims import parse_claim, registrations, write_registrations
from teachenv.bench.runs import BenchCell
from teachenv.bench.suite import BENCH_FILE, Episode, Suite
from teachenv.core.config import dump_config
from teachenv.core.errors import ConfigError, TeachEnvError
from teachenv.core.run_dir import RunDirectory, atomic_write_json, atomic_write_text

CONFIG_FILE = "bench-config.yaml"
LOG_FILE = "bench.log"
ERROR_FILE = "error.json"
ERROR_LINES = 20
RAY_MISSING = "ray.address is set but Ray is not installed: pip install 'teachenv[ray]'"

Status = Literal["finished", "unfinished", "failed", "new"]


@dataclass(frozen=True)
class Attempt:
    """What one run of an episode's subprocess came to."""

    returncode: int
    seconds: float
    error: str | None = None  # the output's last lines when it failed


@dataclass
class Result:
    episode: Episode
    outcome: Literal["done", "skipped", "failed"]
    seconds: float = 0.0
    error: str | None = None

    @property
    def error_line(self) -> str:
        lines = [line for line in (self.error or "").splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


# -- run directory files ---------------------------------------------------------------------


def status(episode: Episode) -> Status:
    run_dir = RunDirectory(episode.run_dir)
    if run_dir.summary_path.exists():
        return "finished"
    if (run_dir.root / ERROR_FILE).exists():
        return "failed"
    return "unfinished" if run_dir.episode_path.exists() else "new"


def write_bench_record(episode: Episode, *, starting: bool) -> None:
    """bench.json: the run's suite cell and, once it first starts here, when (``started_at``, kept from the
    first attempt: the suite's pre-registered claims count only runs started after them)."""
    path = episode.run_dir / BENCH_FILE
    try:
        started_at = BenchCell.read(path).started_at
    except (OSError, ValueError):
        started_at = None
    if started_at is None and starting:
        started_at = round(time.time(), 3)
    atomic_write_text(path, episode.bench_record().model_copy(update={"started_at": started_at}).model_dump_json())


def prepare(episode: Episode) -> list[str]:
    """Write bench.json and the resolved config; the ``teachenv`` arguments that run the episode."""
    root = episode.run_dir
    root.mkdir(parents=True, exist_ok=True)
    write_bench_record(episode, starting=True)
    atomic_write_text(root / CONFIG_FILE, dump_config(episode.config))
    # --resume continues a run the directory holds from its last finished round, or starts one.
    return ["run", str(root / CONFIG_FILE), "--name", episode.name, "--resume"]


def record(episode: Episode, attempt: Attempt) -> Result:
    error_path = episode.run_dir / ERROR_FILE
    if attempt.returncode == 0 and RunDirectory(episode.run_dir).summary_path.exists():
        error_path.unlink(missing_ok=True)
        return Result(episode, "done", attempt.seconds)
    error = attempt.error or f"exited with code {attempt.returncode} but wrote no summary.json"
    atomic_write_json(error_path, {"error": error, "returncode": attempt.returncode,
                                   "attempt_seconds": round(attempt.seconds, 2)})
    return Result(episode, "failed", attempt.seconds, error)


# -- one attempt (here or on a Ray node) -------------------------------------------------------


def run_attempt(args: list[str], threads: int, log_path: str) -> Attempt:
    """Run ``teachenv *args`` in a child process with its output appended to ``log_path``.

    A plain function of plain values, so that a Ray worker can run it as it is."""
    from teachenv.bench import episode_process

    command = episode_process.command(args)
    # A wide console: rich would wrap a message at 80 columns in a log file, and the last line of the
    # output is what error.json and the summary table show.
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "COLUMNS": "240"}
    started = time.perf_counter()
    with open(log_path, "ab") as log:
        log.write(f"\n# {time.strftime('%Y-%m-%d %H:%M:%S')} threads={threads}: {' '.join(command)}\n".encode())
        log.flush()
        offset = log.tell()
        returncode = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
    seconds = time.perf_counter() - started
    if returncode == 0:
        return Attempt(0, seconds)
    with open(log_path, "rb") as log:
        log.seek(offset)
        tail = log.read().decode(errors="replace").splitlines()[-ERROR_LINES:]
    return Attempt(returncode, seconds, "\n".join(tail) or f"exited with code {returncode} and printed nothing")


def local_executor(threads: int) -> Callable[[list[str], Path], Attempt]:
    return lambda args, run_dir: run_attempt(args, threads, str(run_dir / LOG_FILE))


def ray_executor(address: str, threads: int, gpus: float, retries: int) -> Callable[[list[str], Path], Attempt]:
    """Run attempts as Ray tasks on the cluster at ``address``.

    The run directories must be on storage every Ray node shares (the task writes bench.log, the run
    and its summary there, and this process reads them back), and teachenv must be installed on the
    nodes. Each task reserves ``threads`` CPUs and ``gpus`` GPUs; Ray sets CUDA_VISIBLE_DEVICES. A task
    whose worker dies is run again up to ``retries`` times (``teachenv run --resume``: it continues
    from the last finished round); an episode that fails is not (Ray retries system failures only)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(RAY_MISSING) from None
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    remote = ray.remote(run_attempt).options(num_cpus=threads, num_gpus=gpus, max_retries=retries)

    def execute(args: list[str], run_dir: Path) -> Attempt:
        try:
            return ray.get(remote.remote(args, threads, str(run_dir / LOG_FILE)))
        except ray.exceptions.RayError as exc:  # the node or the task died: a failed attempt, not a crash
            return Attempt(-1, 0.0, f"Ray task failed: {exc}")

    return execute


# -- the tiny student each episode may build --------------------------------------------------


def student_build_key(episode: Episode) -> str | None:
    """The cache directory of the tiny student this episode would build, or None if it builds none
    (a Hugging Face model, an untrained plumbing model, or one already cached here)."""
    from teachenv.envs.build import build_task
    from teachenv.student.lora_student import tiny_recipe, tiny_vlm_recipe
    from teachenv.tasks.base import GeneratedTask

    student = episode.config.student
    if tiny_recipe(student) is None or student.model == "plumbing":
        return None
    try:
        task = build_task(episode.config)
    except TeachEnvError:
        return None  # the episode will report it
    if not isinstance(task, GeneratedTask):
        return None
    if task.modality == "image":
        from teachenv.student.tiny_vlm import tiny_vlm_path

        if student.model == "tiny-context":
            return None  # no vision recipe: the episode reports it
        recipe = tiny_vlm_recipe(student)
        path = tiny_vlm_path(recipe, task) if recipe is not None and recipe.pretrain_steps > 0 else None
    else:
        from teachenv.student.tiny_model import tiny_student_path

        recipe = tiny_recipe(student)
        path = tiny_student_path(recipe, task) if recipe is not None and recipe.pretrain_steps > 0 else None
    return None if path is None or path.is_dir() else str(path)


# -- the suite ---------------------------------------------------------------------------------


def run_suite(suite: Suite, episodes: list[Episode], *, workers: int, console: Console) -> list[Result]:
    """Run every unfinished episode, ``workers`` at a time; one Result per episode, in suite order."""
    threads = suite.config.threads(workers)
    ray_settings = suite.config.ray
    execute = (ray_executor(ray_settings.address, threads, ray_settings.gpus_per_episode, ray_settings.retries)
               if ray_settings.address else local_executor(threads))
    if suite.config.claims:
        write_registrations(suite.runs_dir, suite.config.name,
                            registrations(suite.path, [parse_claim(c) for c in suite.config.claims]))
    results: dict[str, Result] = {}
    todo = []
    for episode in episodes:
        if status(episode) == "finished":
            if not (episode.run_dir / BENCH_FILE).exists():
                write_bench_record(episode, starting=False)  # when it started is unknown
            results[episode.name] = Result(episode, "skipped")
        else:
            todo.append(episode)
    keys = {e.name: key for e in todo if (key := student_build_key(e)) is not None}
    # Builders first, so that each missing student starts building at once.
    todo.sort(key=lambda e: e.name not in keys)
    where = f"Ray at {ray_settings.address}" if ray_settings.address else "local processes"
    console.print(f"[bold]teachenv bench[/] {suite.config.name}: {len(episodes)} episodes, {len(results)} finished "
                  f"already, {len(todo)} to run on {workers} worker(s) ({where}, {threads} thread(s) each) "
                  f"→ {suite.runs_dir}")
    if todo:
        with _progress(console) as progress:
            bar = progress.add_task("", total=len(todo))
            for result in schedule(todo, keys, workers, execute, progress, bar):
                results[result.episode.name] = result
    return [results[e.name] for e in episodes]


def schedule(todo: list[Episode], keys: dict[str, str], workers: int,
              execute: Callable[[list[str], Path], Attempt], progress: Progress, bar) -> list[Result]:
    """Run ``todo`` on a pool of ``workers``; of episodes sharing a student build key, one at a time
    until one of them has finished (and so built the student)."""
    waiting, done = list(todo), []
    building, built = set(), set()
    failed = 0

    def attempt(episode: Episode) -> Attempt:
        try:
            return execute(prepare(episode), episode.run_dir)
        except OSError as exc:  # could not write the run directory or start the process
            return Attempt(-1, 0.0, f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as pool:
        running: dict[Future[Attempt], Episode] = {}
        while waiting or running:
            for episode in list(waiting):
                if len(running) >= workers:
                    break
                key = keys.get(episode.name)
                if key is not None and key not in built:
                    if key in building:
                        continue
                    building.add(key)
                waiting.remove(episode)
                running[pool.submit(attempt, episode)] = episode
            progress.update(bar, description=f"running {len(running)}, failed {failed}")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                episode = running.pop(future)
                result = record(episode, future.result())
                key = keys.get(episode.name)
                if key is not None and key in building:
                    building.discard(key)
                    if result.outcome == "done":
                        built.add(key)
                failed += result.outcome == "failed"
                line = f"done   {escape(episode.name)} ({result.seconds:.0f} s)" if result.outcome == "done" else \
                    f"[red]failed[/] {escape(episode.name)} ({result.seconds:.0f} s): {escape(result.error_line)}"
                progress.console.print(line, highlight=False)
                progress.advance(bar)
                done.append(result)
        progress.update(bar, description=f"running 0, failed {failed}")
    return done


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("episodes"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                    TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)


# -- what the command prints -------------------------------------------------------------------


def print_results(console: Console, results: list[Result]) -> None:
    table = Table("episode", "status", "seconds", "error (last line)", title="teachenv bench", title_justify="left")
    styles = {"done": "green", "skipped": "dim", "failed": "red"}
    for result in results:
        seconds = f"{result.seconds:.0f}" if result.outcome != "skipped" else "-"
        table.add_row(escape(result.episode.name), f"[{styles[result.outcome]}]{result.outcome}[/]", seconds,
                      escape(result.error_line))
    console.print(table)
    counts = {outcome: sum(r.outcome == outcome for r in results) for outcome in styles}
    console.print(f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed "
                  f"of {len(results)} episodes")


def print_plan(console: Console, suite: Suite, episodes: list[Episode], workers: int) -> None:
    """What ``--dry-run`` shows: each episode, its status and what a run would do with it."""
    actions = {"finished": "skip", "unfinished": "resume", "failed": "retry", "new": "run"}
    table = Table("episode", "status", "would", "last error", title=f"suite {suite.config.name} → {suite.runs_dir}",
                  title_justify="left")
    for episode in episodes:
        state = status(episode)
        error = ""
        if state == "failed":
            error = Result(episode, "failed", error=json.loads((episode.run_dir / ERROR_FILE).read_text())
                           .get("error")).error_line
        table.add_row(escape(episode.name), state, actions[state], escape(error))
    console.print(table)
    where = f"Ray at {suite.config.ray.address}" if suite.config.ray.address else "local processes"
    console.print(f"{len(episodes)} episodes; {workers} worker(s) ({where}), "
                  f"{suite.config.threads(workers)} thread(s) each")
