"""Serve one teachenv environment through OpenEnv: a server-side ``Environment`` over ``gymnasium.make``.

``TeachingEnvironment`` builds the config's environment when a client session opens, writing its run
directory (``<runs_dir>/<name>/``, held with the run directory's writer lock for the session's life)
exactly as ``gymnasium.make(id, config=..., run_dir=...)`` in-process does: each ``reset`` starts the
episode log anew. ``create`` makes the FastAPI app with OpenEnv's ``create_app`` and one session at a
time: the student is one model that a round fine-tunes, so two sessions would train each other's
student (and write one run directory). A ``step`` runs a whole round (generation, a fine-tune,
evaluation) in OpenEnv's executor, so it may take minutes: clients wait with a long message timeout
(``teachenv.openenv.client``). An error raised on purpose — teachenv's (``InvalidActionError``, ``EnvStateError``, ...) or
gymnasium's (``ResetNeeded``) — crosses the wire as ``[teachenv:<module>.<class>] <message>`` for the
client to raise again as the same class.

This module knows OpenEnv's server side, not what a round does.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import uuid4

from openenv.core.env_server.http_server import create_app
from openenv.core.env_server.interfaces import Environment

from teachenv.core.config import RunConfig, dump_config
from teachenv.core.run_dir import RunDirectory
from teachenv.openenv.models import (
    TeachAction, TeachObservation, TeachState, error_to_wire, from_wire, is_typed_error, to_wire,
)

class RemoteError(RuntimeError):
    """An error the served environment raised on purpose, in its wire form (OpenEnv sends ``str(error)``)."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error_to_wire(error))


class TeachingEnvironment(Environment):
    """One session's teachenv environment (see the module docstring)."""

    SUPPORTS_CONCURRENT_SESSIONS = False

    def __init__(self, config: RunConfig) -> None:
        super().__init__()
        import gymnasium

        import teachenv  # noqa: F401  (registers the environment ids)

        self.config = config
        self.run_dir = RunDirectory(Path(config.runs_dir) / (config.name or "served"))
        self._stack = ExitStack()
        self._stack.enter_context(self.run_dir.writer_lock())
        try:
            self.run_dir.create(dump_config(config), overwrite=True)
            self.env = gymnasium.make(config.env.id, config=config, run_dir=self.run_dir)
        except BaseException:
            self._stack.close()
            raise
        self._state = TeachState(env_id=config.env.id, config_name=config.name or "", run_dir=str(self.run_dir.root))

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> TeachObservation:
        with _typed_errors():
            obs, info = self.env.reset(seed=seed)
        self._state = self._state.model_copy(update={"episode_id": episode_id or str(uuid4()), "step_count": 0,
                                                     "round": 0})
        return self._observation(obs, info)

    def step(self, action: TeachAction, timeout_s: float | None = None, **kwargs: Any) -> TeachObservation:
        with _typed_errors():
            obs, reward, terminated, truncated, info = self.env.step(from_wire(action.value))
        self._state = self._state.model_copy(update={"step_count": self._state.step_count + 1,
                                                     "round": self._state.round + 1})
        return self._observation(obs, info, float(reward), terminated, truncated)

    @property
    def state(self) -> TeachState:
        return self._state

    def close(self) -> None:
        try:
            self.env.close()
        finally:
            self._stack.close()

    def _observation(self, obs: Any, info: dict[str, Any], reward: float | None = None,
                     terminated: bool = False, truncated: bool = False) -> TeachObservation:
        from teachenv.envs.teaching_env import INFO_STATE

        return TeachObservation(observation=to_wire(obs), text=info[INFO_STATE].to_text(), info=to_wire(info),
                                reward=reward, done=terminated or truncated, terminated=terminated,
                                truncated=truncated)


class _typed_errors:
    """Re-raise an error of teachenv's or gymnasium's hierarchy so that its class reaches the client."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if error is not None and is_typed_error(error):
            raise RemoteError(error) from error
        return False


def create(config: RunConfig):
    """The FastAPI app serving ``config``'s environment, one session at a time."""
    return create_app(lambda: TeachingEnvironment(config), TeachAction, TeachObservation,
                      env_name=config.env.id.replace("/", "-"), max_concurrent_envs=1)
