"""The judge side of one graded item: runs the tests against the answer, in a process of its own.

Runs inside the sandbox as the item's judge uid (not the answer's: the answer can neither signal
it nor read its memory or descriptors). Its namespace holds the program's top-level names as the
answer described them: plain values as copies, modules imported here by name (standard library
only: nothing the answer could have written), every other object as a `Remote` whose calls and
attributes travel to the answer as plain data (`wire`). The tests run here, so what they compare
is exact plain data decoded here: no object of the answer's ever reaches an ``==``. An exception
in the answer is raised here as the builtin exception of that name (``except ValueError`` works),
else as `AnswerError`. Its verdict is a dict; it knows nothing about how it was started.
Standard library only.
"""

from __future__ import annotations

import builtins
import importlib
import sys
from typing import NoReturn

import wire
from answer import Channel, describe


BUILTIN_NAMES = frozenset(vars(builtins))


class AnswerError(Exception):
    """An exception raised in the answer process whose type is not a builtin exception."""


class AnswerGone(BaseException):
    """The answer process stopped answering (it exited, was killed, or sent garbage)."""


class Remote:
    """An object that lives in the answer process; calls and attributes go there as plain data."""

    __slots__ = ("_link", "_handle", "_name")

    def __init__(self, link: Link, handle: int, name: str) -> None:
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_name", name)

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self._link.request(["call", self, args, kwargs], f"{self._name}(...)")

    def __getattr__(self, name: str) -> object:
        if name.startswith("__") and name.endswith("__") and name not in ("__name__", "__doc__"):
            raise AttributeError(name)
        return self._link.request(["getattr", self, name], f"{self._name}.{name}")

    def __repr__(self) -> str:
        return f"<the answer's {self._name}>"

    def _not_a_value(self, *args: object) -> NoReturn:
        raise TypeError(f"{self!r} is not plain data: it can be called or its attributes read, nothing else")

    # A remote object is no value: a test cannot take it for True, equal to anything, or a key.
    __bool__ = __eq__ = __ne__ = __hash__ = __lt__ = __le__ = __gt__ = __ge__ = _not_a_value


class Link:
    """The judge's end of the two pipes to the answer."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def handle_of(self, value: object) -> int | None:
        return object.__getattribute__(value, "_handle") if isinstance(value, Remote) else None

    def receive(self, name: str = "") -> object:
        line = self.channel.receive()
        if line is None:
            raise AnswerGone("the answer's process ended (or broke its pipe) before the tests did")
        try:
            return wire.decode(line, lambda handle: Remote(self, handle, name))
        except wire.WireError as exc:
            raise AnswerGone(f"the answer sent something that is not plain data: {exc}") from None

    def request(self, message: list, name: str) -> object:
        try:
            line = wire.encode(message, self.handle_of)
        except wire.NotPlainData as exc:
            raise TypeError(f"{name}: an argument is not plain data ({exc}); tests pass plain data to the answer") from None
        try:
            self.channel.send(line)
        except OSError:
            raise AnswerGone("the answer's process ended before the tests did") from None
        reply = self.receive(name)
        if type(reply) is list and len(reply) == 2 and reply[0] == "ok":
            return reply[1]
        if type(reply) is list and len(reply) == 3 and reply[0] == "raise" and type(reply[1]) is str:
            raise _exception(reply[1], str(reply[2]))
        raise AnswerGone(f"the answer's reply to {name} is malformed")


# Exceptions that steer the control flow of the test that catches them (a StopIteration from
# ``all(map(f, cases))`` would end the iteration early and pass): raised as AnswerError instead.
CONTROL_FLOW = (StopIteration, StopAsyncIteration)


def _exception(name: str, message: str) -> BaseException:
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, CONTROL_FLOW):
        try:
            return kind(message)
        except Exception:  # noqa: BLE001 - a builtin exception that wants other arguments
            pass
    return AnswerError(f"{name}: {message}")


def namespace_of(names: list, link: Link) -> dict:
    """The tests' namespace: the program's top-level names as plain copies, modules and remotes
    (except those that would shadow a builtin: a program cannot redefine what the tests call)."""
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    for entry in names if type(names) is list else []:
        if not (type(entry) is list and len(entry) == 3 and type(entry[0]) is str):
            continue
        name, kind, payload = entry
        if name in BUILTIN_NAMES:  # the tests keep the real `abs`, `len`, `AssertionError` ...
            continue
        if kind == "value" and type(payload) is str:
            try:
                namespace[name] = wire.decode(payload.encode())
            except wire.WireError:
                continue
        elif kind == "module" and type(payload) is str and payload.partition(".")[0] in sys.stdlib_module_names:
            try:
                namespace[name] = importlib.import_module(payload)
            except ImportError:
                continue
        elif kind == "handle" and type(payload) is int:
            namespace[name] = Remote(link, payload, name)
    return namespace


def verdict_of(exc: BaseException, failed_test: int | None) -> dict:
    where = "the program" if failed_test is None else f"test {failed_test}"
    if isinstance(exc, AnswerGone):
        return {"status": "crashed", "failed_test": failed_test, "error": f"{where}: {exc}"}
    status = "memory" if isinstance(exc, MemoryError) else "failed"
    return {"status": status, "failed_test": failed_test, "error": f"{where} raised {describe(exc)}"}


def judge(tests: list[str], channel: Channel) -> dict:
    """Run the tests against the answer at the other end of `channel`; the verdict."""
    link = Link(channel)
    try:
        hello = link.receive()
    except AnswerGone as exc:
        return verdict_of(exc, None)
    if type(hello) is list and len(hello) == 2 and hello[0] == "failed" and type(hello[1]) is dict:
        reported = hello[1]  # the answer can only fail itself this way, never pass
        status = reported.get("status") if reported.get("status") in ("failed", "memory") else "failed"
        return {"status": status, "failed_test": None, "error": str(reported.get("error"))[:2000]}
    if not (type(hello) is list and len(hello) == 2 and hello[0] == "names"):
        return verdict_of(AnswerGone("the answer's first message is malformed"), None)
    namespace = namespace_of(hello[1], link)
    for index, test in enumerate(tests):
        try:
            exec(compile(test, f"<test {index}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001 - whatever a test raises is the verdict
            return verdict_of(exc, index)
    return {"status": "passed", "failed_test": None, "error": None}
