"""``teachenv`` commands: ``run`` one episode of a config, ``list`` what is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="teachenv: environments whose agent is a teacher of a student LLM.")
console = Console(stderr=True)


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="A run config (YAML), e.g. configs/quickstart.yaml.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value: key.path=value (repeatable).")] = None,
    seed: Annotated[int | None, typer.Option(help="Episode seed (overrides the config's `seed`).")] = None,
    name: Annotated[str | None, typer.Option(help="Run name (default: the config's name or file stem).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run directory of the same name.")] = False,
) -> None:
    """Run one episode: the config's agent teaches its student; writes runs/<name>/."""
    from teachenv.cli.report import print_outcome, round_progress
    import json

    from teachenv.core.config import load_config
    from teachenv.core.errors import TeachEnvError
    from teachenv.core.run_dir import RunDirectory

    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"seed={seed}")
    if name is not None:
        overrides.append(f"name={json.dumps(name)}")  # quoted: a name like 2024 stays a string
    try:
        cfg = load_config(config, overrides)
        run_dir = RunDirectory(Path(cfg.runs_dir) / (cfg.name or "run"))
        console.print(f"[bold]teachenv run[/] {cfg.name} → {run_dir.root}  (seed {cfg.seed})")
        from teachenv.cli.episode import run_episode

        with round_progress(console, cfg.env.max_rounds) as tracker:
            outcome = run_episode(cfg, run_dir, overwrite=overwrite, on_phase=tracker.phase,
                                  on_round=tracker.round_done, progress=True)
    except TeachEnvError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(code=2) from None
    print_outcome(Console(), outcome)


@app.command("list")
def list_() -> None:
    """List registered tasks, policies, engines, backends, environments and shipped configs."""
    import gymnasium

    import teachenv  # noqa: F401  (registers the environment ids)
    from teachenv.core import registry

    out = Console()
    for reg in (registry.tasks, registry.policies, registry.engines, registry.backends):
        out.print(f"[bold]{reg.group.split('.')[-1]}[/]: {', '.join(reg.names())}")
    from rich.table import Table

    from teachenv.envs.defaults import CHEAP_DEFAULTS
    from teachenv.envs.registration import ENVIRONMENTS

    table = Table("environment id", "structure", "offline world", title="environments", title_justify="left")
    for env_id in sorted(i for i in gymnasium.registry if i.startswith("teachenv/")):
        entry, default = ENVIRONMENTS.get(env_id, (str(gymnasium.registry[env_id].entry_point), None))
        table.add_row(env_id, entry.rpartition(":")[2].removesuffix("Env"),
                      (default or CHEAP_DEFAULTS)["task"]["name"] if env_id in ENVIRONMENTS else "?")
    out.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
