"""``ScriptedTeacherServer``: a local HTTP server speaking the OpenAI chat-completions protocol.

``POST /v1/chat/completions`` answers with a ``chat.completion`` object whose content comes from a
brain (``ScriptedTeacher.reply``); ``GET /v1/models`` lists the one model; anything else is a 404
with an OpenAI-style error body. Token usage is counted in whitespace-separated words (at least 1).

For tests it injects faults and records what it received, all thread-safe: ``fail_next(n, status)``
makes the next n chat calls fail with that status (429 carries ``Retry-After: 0``),
``delay_seconds`` delays every chat reply (to provoke client timeouts), and ``calls``,
``calls_by_kind``, ``calls_by_body`` and ``last_body`` tell what arrived. It runs in a daemon thread on an ephemeral
port by default. It knows nothing about tasks: what to say is the brain's business.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


class Brain(Protocol):
    def kind_of(self, body: dict[str, Any]) -> str: ...

    def reply(self, body: dict[str, Any]) -> str: ...


_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_error"}


class ScriptedTeacherServer:
    """Serve ``brain`` at ``http://host:port/v1`` (``port=0``: any free port)."""

    def __init__(self, brain: Brain, *, host: str = "127.0.0.1", port: int = 0,
                 model: str = "scripted-teacher") -> None:
        self.brain = brain
        self.host = host
        self.port = port
        #: The id listed by ``GET /v1/models`` (chat replies echo the request's model).
        self.model = model
        #: Seconds to wait before answering each chat call.
        self.delay_seconds = 0.0
        #: Chat requests received, failed ones included.
        self.calls = 0
        #: Chat requests by kind (the schema name, the kind guessed from the prompt, or "text").
        self.calls_by_kind: Counter[str] = Counter()
        #: Chat requests by a digest of their whole JSON body (a request sent twice counts 2).
        self.calls_by_body: Counter[str] = Counter()
        #: The JSON body of the latest chat request.
        self.last_body: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._pending_failures: deque[int] = deque()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL for an OpenAI client (ends in ``/v1``)."""
        if self._httpd is None:
            raise RuntimeError("ScriptedTeacherServer is not started; call start() or use it as a context manager.")
        return f"http://{self.host}:{self._httpd.server_address[1]}/v1"

    def start(self) -> ScriptedTeacherServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer((self.host, self.port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="scripted-teacher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in delay_seconds
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> ScriptedTeacherServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- fault injection -----------------------------------------------------------------------

    def fail_next(self, n: int, status: int = 429) -> None:
        """Answer the next ``n`` chat calls with HTTP ``status`` and an OpenAI-style error body."""
        with self._lock:
            self._pending_failures.extend([status] * n)

    # -- handling (called from the handler's threads) ------------------------------------------

    def _chat(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        kind = self.brain.kind_of(body)
        with self._lock:
            self.calls += 1
            self.calls_by_kind[kind] += 1
            self.calls_by_body[hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()] += 1
            self.last_body = body
            failure = self._pending_failures.popleft() if self._pending_failures else None
        if self.delay_seconds > 0:
            self._stopping.wait(self.delay_seconds)
        if failure is not None:
            headers = {"Retry-After": "0"} if failure == 429 else {}
            return failure, _error_body(failure, f"scripted failure (HTTP {failure})"), headers
        content = self.brain.reply(body)
        prompt_words = sum(len(str(m.get("content") or "").split()) for m in body.get("messages") or []
                           if isinstance(m, dict))
        completion = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": max(1, prompt_words), "completion_tokens": max(1, len(content.split())),
                      "total_tokens": max(1, prompt_words) + max(1, len(content.split()))},
        }
        return 200, completion, {}

    def _models(self) -> dict[str, Any]:
        return {"object": "list", "data": [{"id": self.model, "object": "model", "created": 0,
                                            "owned_by": "teachenv"}]}


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _handler_for(server: ScriptedTeacherServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.rstrip("/") == "/v1/models":
                self._send(200, server._models())
            else:
                self._send(404, _error_body(404, f"no route GET {self.path}"))

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, _error_body(404, f"no route POST {self.path}"))
                return
            try:
                body = json.loads(raw or b"null")
            except json.JSONDecodeError as exc:
                self._send(400, _error_body(400, f"request body is not JSON: {exc}"))
                return
            if not isinstance(body, dict):
                self._send(400, _error_body(400, "request body must be a JSON object"))
                return
            self._send(*server._chat(body))

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to tell it

        def log_message(self, format: str, *args: Any) -> None:  # silence the per-request log
            pass

    return Handler
