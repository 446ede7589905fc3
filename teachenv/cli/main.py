"""``teachenv`` commands: ``run`` (or resume) one episode of a config, ``bench`` a suite of episodes,
``leaderboard`` over run directories, ``list`` what is registered. Heavy imports stay inside the
commands, so that start-up and ``--help`` are fast."""

from __future__ import annotations

import atexit
import gc
import os
from pathlib import Path
from typing import Annotated

import typer

from teachenv.cli.console import fail, make_console
from teachenv.student.hub import set_offline

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="teachenv: environments whose agent is a teacher of a student LLM.")
console = make_console(stderr=True)
OFFLINE_HELP = ("Hub access for models and data sets: --offline never downloads (local files and the Hugging Face "
                "cache only), --online may. Default: as HF_HUB_OFFLINE / HF_DATASETS_OFFLINE say (online if unset).")


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="A run config (YAML), e.g. configs/quickstart.yaml.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value: key.path=value (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option(help="Episode seed (overrides the config's `seed`).")] = None,
    name: Annotated[str | None, typer.Option(help="Run name (default: the config's name or file stem).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory of the same name.")] = False,
    resume: Annotated[bool, typer.Option(help="Continue the run of this name from its last finished round "
                                              "(same config and --set values); start it if there is none.")] = False,
    offline: Annotated[bool | None, typer.Option("--offline/--online", help=OFFLINE_HELP)] = None,
) -> None:
    """Run one episode: the config's agent teaches its student; writes runs/<name>/."""
    from teachenv.cli.crash_points import CrashPoint
    from teachenv.cli.report import print_outcome, round_progress
    import json

    from teachenv.core.config import load_config
    from teachenv.core.errors import TeachEnvError
    from teachenv.core.run_dir import RunDirectory

    if overwrite and resume:
        raise fail(console, "--overwrite replaces the run and --resume continues it: pass one of them.")
    set_offline(offline)
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    if name is not None:
        overrides.append(f"name={json.dumps(name)}")  # quoted: a name like 2024 stays a string
    try:
        cfg = load_config(config, overrides)
        crash = CrashPoint.from_environ()  # TEACHENV_CRASH_AT: tests kill the run at a chosen point
        root = Path(cfg.runs_dir) / (cfg.name or "run")
        run_dir = crash.run_directory(root) if crash else RunDirectory(root)
        make_console().print(f"[bold]teachenv run[/] {cfg.name} → {run_dir.root}  (seed {cfg.seed})")
        from teachenv.cli.episode import run_episode

        with round_progress(console, cfg.env.max_rounds) as tracker:
            outcome = run_episode(cfg, run_dir, overwrite=overwrite, resume=resume,
                                  on_phase=crash.on_phase(tracker.phase) if crash else tracker.phase,
                                  on_round=tracker.round_done, progress=True,
                                  trainer_callbacks=crash.trainer_callbacks() if crash else (),
                                  agent_trainer_callbacks=crash.agent_trainer_callbacks() if crash else ())
    except TeachEnvError as exc:
        raise fail(console, str(exc)) from None
    if outcome.already_finished:
        console.print(f"{run_dir.root} already finished; nothing to resume.")
    elif outcome.resumed_from is not None:
        console.print(f"resumed after round {outcome.resumed_from}")
    print_outcome(make_console(), outcome)


@app.command()
def leaderboard(
    runs_dir: Annotated[Path, typer.Argument(help="Folder searched recursively for run directories, e.g. runs/.")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: RUNS_DIR/leaderboard).")] = None,
) -> None:
    """Rank agents per environment by test gain over seeds; writes Markdown, CSV, plots and an HTML page."""
    from teachenv.bench.claims import read_registrations
    from teachenv.bench.leaderboard import build_leaderboard, print_leaderboard, write_outputs
    from teachenv.bench.runs import load_runs
    from teachenv.core.errors import TeachEnvError

    try:
        board = build_leaderboard(load_runs(runs_dir), read_registrations(runs_dir))
    except TeachEnvError as exc:
        raise fail(console, str(exc)) from None
    outputs = write_outputs(board, out or runs_dir / "leaderboard")
    print_leaderboard(make_console(), board)
    console.print(f"wrote {outputs.markdown}, {outputs.csv.name}, {outputs.paired_csv.name}, "
                  f"{outputs.html.name} and {len(outputs.plots)} plot(s)", soft_wrap=True)


@app.command()
def bench(
    suite: Annotated[Path, typer.Argument(help="A suite file (YAML), e.g. configs/suites/cpu-offline.yaml.")],
    workers: Annotated[int | None, typer.Option(min=1, help="Episodes run at once (default: the suite's `workers`).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the episodes and their status; run nothing.")] = False,
    offline: Annotated[bool | None, typer.Option("--offline/--online", help=OFFLINE_HELP)] = None,
) -> None:
    """Run a suite: agents × environments × seeds, one run directory each; finished ones are skipped."""
    set_offline(offline)  # the episodes' processes inherit it
    from teachenv.bench.runner import print_plan, print_results, run_suite
    from teachenv.bench.suite import expand, load_suite
    from teachenv.core.errors import TeachEnvError

    try:
        loaded = load_suite(suite)
        episodes = expand(loaded)
        pool = workers or loaded.config.workers
        if dry_run:
            print_plan(make_console(), loaded, episodes, pool)
            return
        results = run_suite(loaded, episodes, workers=pool, console=console)
    except TeachEnvError as exc:
        raise fail(console, str(exc)) from None
    print_results(make_console(), results)
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(code=1)


@app.command("list")
def list_() -> None:
    """List registered tasks, policies, engines, backends and environments (runnable recipes are in configs/)."""
    import gymnasium

    import teachenv  # noqa: F401  (registers the environment ids)
    from teachenv.core import registry

    out = make_console()
    for reg in (registry.tasks, registry.policies, registry.engines, registry.backends):
        out.print(f"[bold]{reg.group.split('.')[-1]}[/]: {', '.join(reg.names())}")
    from rich.table import Table

    from teachenv.envs.registration import ENVIRONMENTS

    table = Table("environment id", "structure", "offline world", title="environments", title_justify="left")
    for env_id in sorted(i for i in gymnasium.registry if i.startswith("teachenv/")):
        entry, world = ENVIRONMENTS.get(env_id, (str(gymnasium.registry[env_id].entry_point), "?"))
        table.add_row(env_id, entry.rpartition(":")[2].removesuffix("Env"), world)
    out.print(table)


# Commands in their own modules (each imports its heavy parts only when it runs).
from teachenv.cli.models import app as models_app  # noqa: E402
from teachenv.cli.serve import serve  # noqa: E402

app.command()(serve)
app.add_typer(models_app, name="models")


def main() -> None:
    # Idle OpenMP threads sleep instead of spinning: with spinning, two runs sharing the cores (or a run
    # beside other work) wait on each other's busy threads and crawl, ~5-20x slower. Read once, when
    # torch loads, so it is set here, before any command imports torch; a value the user set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # At exit, Python's collector walks every object still alive (torch and transformers make hundreds of
    # thousands): ~0.5 s of CPU per process here, for memory the process is giving back anyway. Registered first,
    # this runs after every other exit handler and freezes what is left, so the final collections skip it;
    # exit handlers, file closing and module teardown still run as before.
    atexit.register(gc.freeze)
    app()


if __name__ == "__main__":
    main()
