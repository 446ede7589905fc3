"""Turn a validated ``RunConfig`` into the components an environment composes.

The student (torch, transformers, TRL) is imported here only when it is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teachenv.core import registry
from teachenv.core.config import EngineSpec, RunConfig, component_options, load_config, validate_config
from teachenv.core.errors import ConfigError
from teachenv.core.ledger import CostLedger
from teachenv.engines.base import TextBackend
from teachenv.engines.cached_backend import CachedBackend
from teachenv.envs.data_engine import DataEngine
from teachenv.student.base import Student
from teachenv.tasks.base import Task


def env_config(config: RunConfig | dict[str, Any] | str | Path | None, *, world: str = "arith",
               plumbing: bool = False) -> RunConfig:
    """The config an environment runs: ``config`` as given, or the id's default on ``world`` (the teaching
    default, or the untrained plumbing one with ``plumbing``; see ``envs.defaults``)."""
    from teachenv.envs.defaults import default_config

    if config is not None:
        if plumbing:
            raise ConfigError("plumbing=True picks the untrained plumbing config, and a config was given too: "
                              "pass one of them (or set student.model: plumbing in the config).")
        return as_run_config(config)
    if world not in registry.tasks:
        raise ConfigError(f"world={world!r} is not a registered task; use an offline world such as 'arith' or "
                          "'shapes', or pass a config.")
    return default_config(world, plumbing=plumbing)


def as_run_config(config: RunConfig | dict[str, Any] | str | Path) -> RunConfig:
    """Accept a RunConfig, a plain dict or a YAML path."""
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        return validate_config(config)
    if isinstance(config, (str, Path)):
        return load_config(config)
    raise ConfigError(f"config must be a RunConfig, a dict or a YAML path, got {type(config).__name__}.")


def build_task(config: RunConfig) -> Task:
    task_cls = registry.tasks.get(config.task.name)
    options = component_options(config.task, task_cls)
    return task_cls(options) if options is not None else task_cls()


def build_teacher(config: RunConfig) -> CachedBackend | None:
    """The agent's teacher backend (``agent.teacher``) behind the response cache, or None. A backend
    with a ``task`` option left unset (the scripted teacher, which plays a world) gets the run's task."""
    spec = config.agent.teacher
    if spec is None:
        return None
    from teachenv.core.cache import ResponseCache

    backend_cls: type[TextBackend] = registry.backends.get(spec.name)
    options = component_options(spec, backend_cls, path="agent.teacher")
    if getattr(options, "task", False) is None:
        options = options.model_copy(update={"task": config.task})
    backend = backend_cls.from_config(options)
    cache = ResponseCache(config.agent.cache.path) if config.agent.cache.enabled else None
    return CachedBackend(backend, cache)


def build_engine(config: RunConfig, task: Task, ledger: CostLedger,
                 teacher: TextBackend | None = None) -> DataEngine:
    return engine_from_spec(config.agent.engine, task, ledger, teacher)


def engine_from_spec(spec: EngineSpec, task: Task, ledger: CostLedger, teacher: TextBackend | None = None,
                     path: str = "") -> DataEngine:
    """The engine ``spec`` names, its options validated (errors name the key under ``path``, e.g. an engine
    that wraps another passes ``agent.engine.inner``)."""
    engine_cls = registry.engines.get(spec.name)
    return engine_cls(task, ledger, component_options(spec, engine_cls, path=path), teacher=teacher)


def build_student(config: RunConfig, task: Task, *, progress: bool = False) -> Student:
    """A LoRA student of the task's modality: a causal LM for text, a vision-language model for images; or,
    for ``student.model: surrogate``, the fitted learning-dynamics model (``teachenv.student.surrogate``)."""
    if config.student.model == "surrogate":
        from teachenv.student.surrogate import SurrogateStudent

        return SurrogateStudent(task)
    if task.modality == "image":
        from teachenv.student.vision_student import VisionLoRAStudent

        return VisionLoRAStudent(config.student, task, progress=progress)
    from teachenv.student.lora_student import LoRAStudent

    return LoRAStudent(config.student, task, progress=progress)
