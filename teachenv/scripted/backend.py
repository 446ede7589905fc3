"""``ScriptedBackend``: the ``scripted`` text backend — ``OpenAIBackend`` pointed at its own
``ScriptedTeacherServer``, so the whole LLM path (HTTP, the ``openai`` client, retries, JSON
parsing) runs offline with no model.

It owns the server's lifetime (started when built, stopped by ``close``) and builds the world it
plays from its own option ``task`` (a task spec; an environment fills in its run's task when it is
unset): a ``GeneratedTask``, whose generator and solver play the teacher. Without one it answers only
what needs no world (skill discovery, allocations, plans). It knows nothing about what the replies
mean beyond what ``ScriptedTeacher`` does.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from teachenv.core import registry
from teachenv.core.config import TaskSpec, component_options
from teachenv.core.errors import ConfigError
from teachenv.engines.openai_backend import OpenAIBackend, OpenAIBackendConfig
from teachenv.scripted.brain import BRAIN_VERSION, ScriptedTeacher
from teachenv.scripted.server import ScriptedTeacherServer
from teachenv.tasks.base import GeneratedTask


class ScriptedBackendConfig(OpenAIBackendConfig):
    """Options of the ``scripted`` backend: the ``openai`` ones (``base_url`` stays unset: the
    backend serves itself) plus the scripted teacher's imperfections."""

    model: str = Field("scripted-teacher", description="Model name sent with every request.")
    malformed_rate: float = Field(0.05, ge=0, le=1, description="Share of JSON replies cut in half (not parseable).")
    wrong_rate: float = Field(0.02, ge=0, le=1, description="Share of generated examples given a wrong answer.")
    seed: int = Field(0, description="Seed of the scripted teacher's choices (with each request's own seed).")
    task: TaskSpec | None = Field(
        None, description="The generated world whose generator and solver play the teacher (default: the run's task).")


class ScriptedBackend(OpenAIBackend):
    """An ``OpenAIBackend`` talking to a scripted teacher server it starts for ``task``."""

    Config = ScriptedBackendConfig

    def __init__(self, config: ScriptedBackendConfig, task: GeneratedTask | None) -> None:
        if config.base_url is not None:
            raise ConfigError(f"agent.teacher.base_url={config.base_url!r}: the scripted backend serves itself; "
                              "remove base_url, or use name: openai to reach a real server.")
        brain = ScriptedTeacher(task, malformed_rate=config.malformed_rate, wrong_rate=config.wrong_rate,
                                seed=config.seed)
        self._brain_settings = {"malformed_rate": config.malformed_rate, "wrong_rate": config.wrong_rate,
                                "seed": config.seed, "version": BRAIN_VERSION}
        self.server = ScriptedTeacherServer(brain, model=config.model).start()
        try:
            super().__init__(config, base_url=self.server.url, api_key="scripted")
        except BaseException:
            self.server.stop()
            raise

    @classmethod
    def from_config(cls, config: Any) -> ScriptedBackend:
        return cls(config, world(config.task))

    def identity(self) -> dict[str, Any]:
        """The brain's settings and version, not the server's port (a new one each run): re-runs hit
        the cache, a changed brain does not."""
        return {"model": self.model_name, "scripted": self._brain_settings}

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.server.stop()


def world(spec: TaskSpec | None) -> GeneratedTask | None:
    """The generated task a spec names, built with its options; None for None."""
    if spec is None:
        return None
    task_cls = registry.tasks.get(spec.name)
    if not (isinstance(task_cls, type) and issubclass(task_cls, GeneratedTask)):
        raise ConfigError(
            f"agent.teacher.name='scripted' needs a generated task (one that can generate and solve its own "
            f"problems, such as 'arith'); task {spec.name!r} is not one. "
            "Use a generated task, or a real teacher (name: openai or vllm)."
        )
    options = component_options(spec, task_cls, path="agent.teacher.task")
    return task_cls(options) if options is not None else task_cls()
