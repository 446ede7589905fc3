"""Pre-registered claims of a suite: what it was run to show, fixed in git before the seeds that test it.

A suite file may list ``claims: ["weakest-skill > random", ...]`` (agent labels; "A's test gain is
greater than B's"). A claim is *registered* by the first commit of the suite file that contains it;
``teachenv bench`` looks that commit up (``registrations``) and writes it to ``claims.json`` in the
suite's runs directory, and every run directory's ``bench.json`` records when the episode first
started. The leaderboard then tests each claim, in each environment, only on the seeds both agents
ran after the claim's commit: data seen before a claim was written cannot confirm it. The family of
(claim × environment) tests is corrected with Holm's method.

This module knows claim syntax, git and the test of a claim on paired gains; it does not read run
directories (``teachenv.bench.runs``) or draw tables (``teachenv.bench.leaderboard``).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from teachenv.bench.stats import CONFIDENCE, Estimate, holm, mean_ci, p_value_greater

#: Written by ``teachenv bench`` into the suite's runs directory; read by the leaderboard.
CLAIMS_FILE = "claims.json"
#: The family-wise error rate every claim is held to (after Holm's correction).
ALPHA = 1 - CONFIDENCE

_CLAIM = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*$")


@dataclass(frozen=True)
class Claim:
    """``better > worse``: ``better``'s test gain exceeds ``worse``'s, paired by seed."""

    better: str
    worse: str

    @property
    def text(self) -> str:
        return f"{self.better} > {self.worse}"


def parse_claim(text: str) -> Claim:
    """``"weakest-skill > random"`` → ``Claim``; a ValueError that shows the expected form otherwise."""
    match = _CLAIM.match(text) if isinstance(text, str) else None
    if match is None or match.group(1) == match.group(2):
        raise ValueError(f"claim {text!r} is not of the form 'AGENT_A > AGENT_B' (two different agent labels "
                         "of the suite, e.g. 'weakest-skill > random')")
    return Claim(match.group(1), match.group(2))


@dataclass(frozen=True)
class Registration:
    """A claim and the commit that registered it (None where it is not committed: nothing counts)."""

    claim: Claim
    commit: str | None = None
    registered_at: float | None = None  # the commit's committer time, Unix seconds
    why_unregistered: str | None = None

    def as_json(self) -> dict:
        return {"claim": self.claim.text, "commit": self.commit, "registered_at": self.registered_at,
                "why_unregistered": self.why_unregistered}

    @classmethod
    def from_json(cls, data: Mapping) -> Registration:
        return cls(parse_claim(str(data["claim"])), data.get("commit"), data.get("registered_at"),
                   data.get("why_unregistered"))


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _claims_in(text: str) -> set[str]:
    """The claims a version of the suite file lists, normalised (unreadable versions list none)."""
    try:
        data = yaml.safe_load(text)
        return {parse_claim(c).text for c in data.get("claims") or []} if isinstance(data, dict) else set()
    except (yaml.YAMLError, ValueError, TypeError, AttributeError):
        return set()


def registrations(suite_file: Path, claims: Sequence[Claim]) -> list[Registration]:
    """For each claim, the earliest commit of ``suite_file`` that lists it (git history of that file)."""
    suite_file = suite_file.resolve()
    folder = suite_file.parent
    top = _git(folder, "rev-parse", "--show-toplevel")
    if top is None:
        return [Registration(c, why_unregistered="the suite file is not in a git repository") for c in claims]
    root = Path(top.strip()).resolve()
    relative = suite_file.relative_to(root).as_posix()
    history = _git(root, "log", "--reverse", "--format=%H %ct", "--", relative) or ""
    first_seen: dict[str, tuple[str, float]] = {}
    for line in history.splitlines():
        commit, _, seconds = line.partition(" ")
        for text in _claims_in(_git(root, "show", f"{commit}:{relative}") or ""):
            first_seen.setdefault(text, (commit, float(seconds)))
    return [
        Registration(c, *first_seen[c.text]) if c.text in first_seen
        else Registration(c, why_unregistered="not in any commit of the suite file: commit it before running seeds")
        for c in claims
    ]


def write_registrations(runs_dir: Path, suite_name: str, items: Sequence[Registration]) -> Path:
    from teachenv.core.run_dir import atomic_write_json

    runs_dir.mkdir(parents=True, exist_ok=True)
    path = runs_dir / CLAIMS_FILE
    atomic_write_json(path, {"suite": suite_name, "claims": [r.as_json() for r in items]})
    return path


def read_registrations(root: Path) -> list[Registration]:
    """Every ``claims.json`` at or below ``root`` (a suite's runs directory, or a folder of suites)."""
    found = [root / CLAIMS_FILE] if (root / CLAIMS_FILE).is_file() else sorted(root.rglob(CLAIMS_FILE))
    items: dict[str, Registration] = {}
    for path in found:
        for data in json.loads(path.read_text(encoding="utf-8")).get("claims", []):
            registration = Registration.from_json(data)
            items.setdefault(registration.claim.text, registration)
    return list(items.values())


@dataclass(frozen=True)
class ClaimResult:
    """One claim tested in one environment on the seeds run after its registration."""

    environment: str
    registration: Registration
    estimate: Estimate  # better − worse test gain over the counted seeds, with its 95% interval
    seeds: tuple[Hashable, ...]  # the pair keys counted
    seeds_before: tuple[Hashable, ...]  # pair keys both agents ran, left out: run before the registration
    p_value: float | None = None  # one-sided paired t-test
    p_holm: float | None = None  # after Holm's correction over every claim × environment

    @property
    def supported(self) -> bool:
        return self.p_holm is not None and self.p_holm < ALPHA and self.estimate.mean > 0

    @property
    def verdict(self) -> str:
        if self.registration.registered_at is None:
            return "not registered"
        if len(self.seeds) < 2:
            return "too few seeds"
        return "supported" if self.supported else "not supported"


def started_after(started_at: float | None, registration: Registration) -> bool:
    """A run counts for a claim only if it is known to have started after the claim's commit."""
    return (registration.registered_at is not None and started_at is not None
            and started_at >= registration.registered_at)


def evaluate_claims(environments: Mapping[str, Mapping[str, Mapping[Hashable, tuple[float, float | None]]]],
                items: Sequence[Registration]) -> list[ClaimResult]:
    """Each claim in each environment that ran both of its agents.

    ``environments[env][agent][pair_key] = (test gain, started_at)``. The one-sided p-values of every
    testable (claim, environment) are Holm-corrected together."""
    results = []
    for environment, agents in environments.items():
        for registration in items:
            claim = registration.claim
            if claim.better not in agents or claim.worse not in agents:
                continue
            better, worse = agents[claim.better], agents[claim.worse]
            both = [k for k in better if k in worse]
            counted = [k for k in both if started_after(better[k][1], registration)
                       and started_after(worse[k][1], registration)]
            differences = [better[k][0] - worse[k][0] for k in counted]
            results.append(ClaimResult(
                environment, registration, mean_ci(differences), tuple(counted),
                tuple(k for k in both if k not in counted), p_value_greater(differences),
            ))
    testable = [i for i, r in enumerate(results) if r.p_value is not None]
    adjusted = holm([results[i].p_value for i in testable])  # type: ignore[misc]
    for i, p in zip(testable, adjusted, strict=True):
        results[i] = ClaimResult(**{**results[i].__dict__, "p_holm": p})
    return results


def registered_when(registration: Registration) -> str:
    if registration.registered_at is None:
        return registration.why_unregistered or "not registered"
    when = datetime.fromtimestamp(registration.registered_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{(registration.commit or '')[:10]} ({when})"
