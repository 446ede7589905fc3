"""``teachenv serve CONFIG_OR_ID``: one environment served through OpenEnv on HTTP / WebSocket.

This module resolves what to serve (a config file, or a registered id with its default) and
starts uvicorn; ``teachenv.openenv.server`` knows the served environment. openenv-core and the web
stack are imported only when the command runs, never at CLI start-up.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)


def resolve_config(config_or_id: str, overrides: list[str]):
    """The RunConfig of a config file, or of a registered ``teachenv/...`` id's default."""
    from teachenv.core.config import load_config
    from teachenv.core.errors import ConfigError

    if Path(config_or_id).is_file():
        return load_config(config_or_id, overrides)
    from teachenv.envs.registration import ENVIRONMENTS, id_defaults

    if config_or_id not in ENVIRONMENTS:
        import difflib

        close = difflib.get_close_matches(config_or_id, ENVIRONMENTS, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"{config_or_id!r} is neither a config file nor a registered environment id.{hint} "
                          f"Ids: {', '.join(sorted(ENVIRONMENTS))} (`teachenv list`).")
    return load_config(None, overrides, base=id_defaults(config_or_id))  # what gymnasium.make(id) builds


def serve(
    config_or_id: Annotated[str, typer.Argument(help="A run config (YAML) or a registered id, e.g. teachenv/SkillList-v0.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a config value: key.path=value (repeatable).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    name: Annotated[str | None, typer.Option(help="Run name: the run directory is <runs_dir>/<name>.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a run directory of the same name that holds a run.")] = False,
) -> None:
    """Serve an environment through OpenEnv (reset / step / state over WebSocket), one session at a time."""
    from teachenv.core.errors import TeachEnvError
    from teachenv.openenv import OPENENV_MISSING

    if importlib.util.find_spec("openenv") is None:
        console.print(f"[red]error:[/] {escape(OPENENV_MISSING)}")
        raise typer.Exit(code=2)
    overrides = list(set_ or []) + ([f"name={json.dumps(name)}"] if name is not None else [])
    try:
        cfg = resolve_config(config_or_id, overrides)
        from teachenv.core.run_dir import RunDirectory

        run_dir = RunDirectory(Path(cfg.runs_dir) / (cfg.name or "served"))
        if run_dir.episode_path.exists() and not overwrite:
            raise TeachEnvError(f"Run directory {str(run_dir.root)!r} already holds a run; each session of the "
                                "served environment starts it over: pass --overwrite, or --name to pick another.")
        import uvicorn

        from teachenv.openenv.server import create

        app = create(cfg)
    except TeachEnvError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(code=2) from None
    console.print(f"[bold]teachenv serve[/] {cfg.env.id} ({cfg.name}) at http://{host}:{port} — one session at a "
                  f"time, writing {run_dir.root}; connect with teachenv.openenv.connect(url)", soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
