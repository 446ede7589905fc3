"""Benchmark suites: the suite file's schema and its expansion into episodes.

A suite file names a base run config and the matrix to run over it::

    name: cpu-offline
    base: ../quickstart.yaml          # relative to the suite file
    seeds: [0, 1, 2]
    set: {env.max_rounds: 3}          # overrides for every episode
    agents:                           # label → overrides
      uniform: {agent.policy: {name: uniform}}
    environments:                     # label → overrides
      SkillList-v0: {env.id: teachenv/SkillList-v0}

Each (environment, agent, seed) is one episode named ``<environment>/<agent>/seed-<seed>`` under the
suite's ``runs_dir``. Overrides are applied in the order ``set``, environment, agent, so an agent's
override wins; a value replaces the whole node at its key path (``agent.policy: {name: random}``
drops the base's ``focus``). Every episode's config is validated with teachenv's config loader when
the suite is expanded, so a bad override fails before anything runs, naming the episode.
This module knows the shape of a suite, not how its episodes are run (``teachenv.bench.runner``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from teachenv.bench.claims import parse_claim
from teachenv.bench.runs import BENCH_FILE, BenchCell  # noqa: F401  (BENCH_FILE: the runner's name for it)
from teachenv.core.config import RunConfig, StrictModel, format_validation_error, load_config, read_yaml
from teachenv.core.errors import ConfigError

#: Labels become folder names of run directories.
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: Keys the suite sets itself for each episode; an override of them would be silently replaced.
SUITE_OWNED_KEYS = {"name": "the run name is <environment>/<agent>/seed-<seed>",
                    "seed": "list the seeds under `seeds`", "runs_dir": "set the suite's `runs_dir`"}
class RaySettings(StrictModel):
    """Spread episodes over a Ray cluster instead of local worker processes."""

    address: str | None = Field(
        None, description="Cluster address given to ray.init ('auto', 'ray://head:10001'); None runs locally. "
        "The suite's runs_dir must be on storage every Ray node shares."
    )
    gpus_per_episode: float = Field(0, ge=0, description="GPUs Ray reserves for each episode (GPU recipes: 1).")
    retries: int = Field(1, ge=0, description="Times Ray runs an episode again whose worker died (a killed "
                         "process, a lost node); the retry resumes it from its last finished round.")


class SuiteConfig(StrictModel):
    """The suite file. Unknown keys are errors."""

    name: str = Field(description="Suite name: the `suite` of each run's bench.json and the default runs_dir.")
    base: str = Field(description="The run config every episode starts from, relative to the suite file.")
    runs_dir: str | None = Field(None, description="Where the run directories go (default: runs/suites/<name>).")
    seeds: list[int] = Field(min_length=1, description="Episode seeds: each agent runs each environment once per seed.")
    overrides: dict[str, Any] = Field(
        default_factory=dict, alias="set", description="key.path → value, applied to every episode."
    )
    agents: dict[str, dict[str, Any]] = Field(min_length=1, description="Agent label → its overrides.")
    environments: dict[str, dict[str, Any]] = Field(min_length=1, description="Environment label → its overrides.")
    vary_student_seed: bool = Field(
        False, description="Also set student.tiny.seed (student.tiny_context.seed for tiny-context) to the "
        "episode seed (a differently pretrained tiny student per seed, each built once)."
    )
    workers: int = Field(1, ge=1, description="Episodes run at once (local processes, or Ray tasks in flight).")
    threads_per_worker: int | None = Field(
        None, ge=1, description="OMP / MKL threads of each episode (default: this machine's cores // workers, ≥ 1)."
    )
    ray: RaySettings = Field(default_factory=RaySettings)
    claims: list[str] = Field(
        default_factory=list, description="Pre-registered claims, 'AGENT_A > AGENT_B' (A's test gain exceeds B's). "
        "Commit them before running the seeds that test them: the leaderboard counts only runs started after "
        "the commit that added each claim, and corrects for their number (Holm)."
    )

    @field_validator("base")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("name")
    @classmethod
    def _name_is_a_label(cls, value: str) -> str:
        return _check_label(value)

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"lists a seed twice: {seeds}")
        return seeds

    @field_validator("agents", "environments")
    @classmethod
    def _labels(cls, matrix: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for label, overrides in matrix.items():
            _check_label(label)
            _check_override_keys(overrides, where=label)
        return matrix

    @model_validator(mode="after")
    def _claims_name_agents(self) -> SuiteConfig:
        for text in self.claims:
            claim = parse_claim(text)
            missing = [label for label in (claim.better, claim.worse) if label not in self.agents]
            if missing:
                raise ValueError(f"claim {text!r} names {', '.join(map(repr, missing))}, not an agent of the suite "
                                 f"(agents: {', '.join(self.agents)})")
        return self

    @field_validator("overrides")
    @classmethod
    def _set_keys(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        return _check_override_keys(overrides, where="set")

    def threads(self, workers: int) -> int:
        """Threads per episode when ``workers`` episodes run at once."""
        if self.threads_per_worker is not None:
            return self.threads_per_worker
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, cores // workers)


def _check_label(label: str) -> str:
    if not LABEL.match(label):
        raise ValueError(f"label {label!r} is not a folder name: use letters, digits, '.', '_' and '-' "
                         "(it names the run directory)")
    return label


def _check_override_keys(overrides: dict[str, Any], where: str) -> dict[str, Any]:
    for key in overrides:
        parts = key.split(".")
        if not all(part.strip() for part in parts):
            raise ValueError(f"{where}: override key {key!r} is not a key path like env.max_rounds")
        if parts[0] in SUITE_OWNED_KEYS and len(parts) == 1:
            raise ValueError(f"{where}: {key!r} is set by the suite ({SUITE_OWNED_KEYS[parts[0]]})")
    return overrides


@dataclass(frozen=True)
class Episode:
    """One (environment, agent, seed) of a suite with its validated run config."""

    suite: str
    environment: str
    agent: str
    seed: int
    config: RunConfig

    @property
    def name(self) -> str:
        return episode_name(self.environment, self.agent, self.seed)

    @property
    def run_dir(self) -> Path:
        return Path(self.config.runs_dir) / self.name

    def bench_record(self) -> BenchCell:
        """The run directory's ``bench.json``: which cell of which suite the run is."""
        return BenchCell(suite=self.suite, agent=self.agent, environment=self.environment, seed=self.seed)


@dataclass(frozen=True)
class Suite:
    path: Path
    config: SuiteConfig

    @property
    def base_path(self) -> Path:
        return (self.path.parent / self.config.base).resolve()

    @property
    def runs_dir(self) -> Path:
        """Absolute, so that episodes and Ray workers agree on it whatever their working directory."""
        return Path(self.config.runs_dir or f"runs/suites/{self.config.name}").resolve()


def episode_name(environment: str, agent: str, seed: int) -> str:
    return f"{environment}/{agent}/seed-{seed}"


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; errors name the file and the bad key."""
    path = Path(path)
    data = read_yaml(path)
    try:
        config = SuiteConfig.model_validate(data)
    except ValidationError as exc:
        details = format_validation_error(exc).removeprefix("Invalid config: ")
        raise ConfigError(f"Invalid suite file {str(path)!r}: {details}") from None
    suite = Suite(path, config)
    if not suite.base_path.is_file():
        raise ConfigError(f"Suite file {str(path)!r}: base {config.base!r} does not exist (looked for "
                          f"{str(suite.base_path)!r}; the path is relative to the suite file).")
    return suite


def expand(suite: Suite) -> list[Episode]:
    """Every episode of the suite, seed by seed (so that partial results compare all agents), each
    with its config validated; the first invalid one raises a ConfigError naming it."""
    cfg = suite.config
    episodes = []
    for seed in cfg.seeds:
        for env_label, env_overrides in cfg.environments.items():
            for agent_label, agent_overrides in cfg.agents.items():
                name = episode_name(env_label, agent_label, seed)
                overrides = [*as_overrides(cfg.overrides), *as_overrides(env_overrides),
                             *as_overrides(agent_overrides), f"seed={seed}", f"name={json.dumps(name)}",
                             f"runs_dir={json.dumps(str(suite.runs_dir))}"]
                try:
                    if cfg.vary_student_seed:
                        overrides.append(f"{varied_seed_key(load_config(suite.base_path, overrides))}={seed}")
                    config = load_config(suite.base_path, overrides)
                except ConfigError as exc:
                    raise ConfigError(f"Suite file {str(suite.path)!r}, episode {name} (environment "
                                      f"{env_label!r}, agent {agent_label!r}): {exc}") from None
                episodes.append(Episode(cfg.name, env_label, agent_label, seed, config))
    return episodes


def varied_seed_key(config: RunConfig) -> str:
    """The pretraining-seed key that ``vary_student_seed`` sets: ``tiny-context``'s own recipe, else the
    tiny student's (as before that student existed)."""
    return "student.tiny_context.seed" if config.student.model == "tiny-context" else "student.tiny.seed"


def as_overrides(mapping: dict[str, Any]) -> list[str]:
    """``{"a.b": value}`` → ``["a.b=<value as JSON>"]``, the form teachenv's config loader takes (JSON is
    YAML, so the loader reads the value back unchanged)."""
    return [f"{key}={json.dumps(value)}" for key, value in mapping.items()]
