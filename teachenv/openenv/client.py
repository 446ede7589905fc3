"""The client side: ``RemoteTeachingEnv``, a gymnasium-like handle on a served teachenv environment.

``TeachEnvClient`` is OpenEnv's ``EnvClient`` for teachenv's typed models (use it directly from async
code, or where a library such as TRL takes an OpenEnv client); ``RemoteTeachingEnv`` wraps its
synchronous form so that ``reset(seed=)`` returns ``(observation, info)`` and ``step(action)`` returns
``(observation, reward, terminated, truncated, info)`` with the same arrays and typed records
(``info["state"].to_text()``, ``info["round_result"]``) as in-process. A step runs a whole round on the
server, so replies are awaited up to ``message_timeout_s`` (default one hour). An error the
environment raised on purpose is raised here again as the same class (teachenv's ``TeachEnvError``s,
gymnasium's ``ResetNeeded`` and the like).

This module knows OpenEnv's client side, not what a round does.
"""

from __future__ import annotations

from typing import Any

from openenv.core import EnvClient
from openenv.core.client_types import StepResult

from teachenv.openenv.models import TeachAction, TeachObservation, TeachState, error_from_wire, from_wire, to_wire

#: A served round can take minutes (generation, a fine-tune, evaluation): wait this long for a reply.
STEP_TIMEOUT_S = 3600.0


class TeachEnvClient(EnvClient[TeachAction, TeachObservation, TeachState]):
    """OpenEnv's WebSocket client for a served teachenv environment."""

    def _step_payload(self, action: TeachAction) -> dict[str, Any]:
        return action.model_dump(exclude={"metadata"})

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[TeachObservation]:
        observation = TeachObservation(**payload.get("observation", {}), reward=payload.get("reward"),
                                       done=payload.get("done", False))
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> TeachState:
        return TeachState(**payload)


class RemoteTeachingEnv:
    """A gymnasium-like handle: ``reset``, ``step``, ``state``, ``close`` (and a context manager)."""

    def __init__(self, url: str, *, message_timeout_s: float = STEP_TIMEOUT_S, connect_timeout_s: float = 30.0) -> None:
        self.url = url
        self.client = TeachEnvClient(url, connect_timeout_s=connect_timeout_s,
                                     message_timeout_s=message_timeout_s).sync()
        self.client.connect()

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict[str, Any]]:
        result = self._call(self.client.reset, **({"seed": seed} if seed is not None else {}))
        return from_wire(result.observation.observation), from_wire(result.observation.info)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        result = self._call(self.client.step, TeachAction(value=to_wire(action)))
        obs = result.observation
        return from_wire(obs.observation), float(result.reward), obs.terminated, obs.truncated, from_wire(obs.info)

    def state(self) -> TeachState:
        return self.client.state()

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RemoteTeachingEnv:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _call(self, method, *args: Any, **kwargs: Any) -> StepResult[TeachObservation]:
        from websockets.exceptions import ConnectionClosed

        busy = (f"The server at {self.url} turned this session away: a teachenv server holds one session at a time "
                "(a round trains its one student). Close the other client, or serve another environment on another port.")
        try:
            return method(*args, **kwargs)
        except ConnectionClosed as exc:  # the server may close before its CAPACITY_REACHED reply is read
            raise ConnectionError(f"The server at {self.url} closed the session ({exc}). A teachenv server holds one "
                                  "session at a time: another client may hold it (or the server stopped).") from None
        except RuntimeError as exc:  # OpenEnv reports every server-side error as "Server error: ..."
            if "CAPACITY_REACHED" in str(exc):
                raise ConnectionError(busy) from None
            typed = error_from_wire(str(exc))
            if typed is None:
                raise
            raise typed from None
