"""The consoles every ``teachenv`` command prints through, and the one way it reports a user's mistake.

In a terminal rich lays text out to the window. Anywhere else (a pipe, a log file, CI) rich would
hard-wrap every line at ``COLUMNS`` or 80 characters, breaking messages and paths in two; there a
console soft-wraps (no line breaks of its own) and is wide enough for any table to take its natural
width. This module knows nothing about what the commands print.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

#: Width of a console that does not write to a terminal: wide enough that no table is squeezed.
PIPE_WIDTH = 10_000


def make_console(*, stderr: bool = False) -> Console:
    """A console for stdout (results) or stderr (progress, messages, errors)."""
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal:
        console = Console(stderr=stderr, soft_wrap=True, width=PIPE_WIDTH)
    return console


def fail(console: Console, message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as one ``error:`` line and return the exit to raise (``raise fail(...)``)."""
    one_line = " ".join(message.split("\n"))
    console.print(f"[red]error:[/] {escape(one_line)}", highlight=False)
    return typer.Exit(code=code)
