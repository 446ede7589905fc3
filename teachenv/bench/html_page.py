"""The leaderboard as one self-contained HTML page: the tables of ``teachenv.bench.leaderboard`` and the
PNGs of ``teachenv.bench.plots`` embedded as base64 data URIs, inline CSS, no script and no external
resource, so the file can be mailed or archived alone. It renders; it computes nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path

from teachenv.bench.leaderboard import (
    AGENT_HEADERS,
    CLAIM_HEADERS,
    CLAIMS_EXPLANATION,
    EXCLUDED_HEADERS,
    EXPLANATION,
    PAIRED_HEADERS,
    Leaderboard,
    agent_rows,
    claim_rows,
    excluded_rows,
    paired_rows,
    summary_line,
)
from teachenv.bench.plots import PlotFiles
from teachenv.core.run_dir import atomic_write_text

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f0f0f0; }
td.text, th.text { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
img { max-width: 100%; margin: 0.4em 0; border: 1px solid #eee; }
.note { color: #555; }
.runs img { max-width: 48%; }
"""


#: Columns of words, aligned left; the others hold numbers, aligned right.
TEXT_COLUMNS = frozenset({"agent", "agent A", "agent B", "run", "status", "environment", "reason", "claim",
                          "registered", "seeds counted", "verdict"})


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    align = ['class="text"' if h in TEXT_COLUMNS else "" for h in headers]
    head = "".join(f"<th {a}>{escape(h)}</th>" for a, h in zip(align, headers))
    body = "".join("<tr>" + "".join(f"<td {a}>{escape(c)}</td>" for a, c in zip(align, row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def render(board: Leaderboard, plots: PlotFiles) -> str:
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>teachenv leaderboard</title>", f"<style>{STYLE}</style></head><body>",
             "<h1>teachenv leaderboard</h1>", f"<p>{escape(summary_line(board))}</p>",
             f'<p class="note">{escape(EXPLANATION)}</p>']
    for env in board.environments:
        parts += [f"<h2>{escape(env.environment)}</h2>", f'<p class="note">{escape(env.seed_note)}</p>',
                  *[f'<p class="note">{escape(n)}</p>' for n in env.notes],
                  table(AGENT_HEADERS, agent_rows(env))]
        if env.comparisons:
            parts += ["<h3>Paired comparisons (test gain, over the seeds both agents ran)</h3>",
                      table(PAIRED_HEADERS, paired_rows(env))]
        parts += [image(p, p.stem) for p in plots.environments.get(env.environment, [])]
        run_images = [image(plots.runs[r.path], r.name) for r in env.runs if r.path in plots.runs]
        if run_images:
            parts += [f'<details class="runs"><summary>Learning curve of each run ({len(run_images)})</summary>',
                      *run_images, "</details>"]
    if board.claims:
        parts += ["<h2>Pre-registered claims</h2>", f'<p class="note">{escape(CLAIMS_EXPLANATION)}</p>',
                  table(CLAIM_HEADERS, claim_rows(board))]
    if board.excluded:
        parts += ["<h2>Runs not in the means</h2>", table(EXCLUDED_HEADERS, excluded_rows(board))]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(board: Leaderboard, plots: PlotFiles, path: Path) -> Path:
    atomic_write_text(path, render(board, plots))
    return path
