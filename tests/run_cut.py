"""Cut a finished run directory back to its first rounds and prepare it for resuming, as a crash would
leave it: for tests that an agent's memory comes back on resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from teachenv.core.run_dir import RunDirectory, atomic_write_jsonl


def cut_after_round(whole: Path, cut: Path, round_index: int = 1) -> RunDirectory:
    """A copy of the run in ``whole`` at ``cut`` whose log ends after ``round_index``, ready to resume."""
    shutil.copytree(whole, cut)
    lines = (cut / "episode.jsonl").read_text().splitlines()
    atomic_write_jsonl(cut / "episode.jsonl", [json.loads(line) for line in lines[:round_index + 1]])
    run_dir = RunDirectory(cut)
    assert run_dir.prepare_resume(run_dir.config_path.read_text())
    return run_dir
