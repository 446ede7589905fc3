"""The answer side of one graded item: runs the untrusted program, then serves its judge's calls.

Runs inside the sandbox as the item's answer uid, in a process of its own that holds exactly two
descriptors of the grading (the judge's requests in, the replies out) besides stdin/stdout/stderr:
never the tests, the verdict pipe or the judge's memory. After the program ran as ``__main__`` it
sends the judge a description of its top-level names (plain values copied, modules by name, every
other object as a handle), then answers ``call`` / ``getattr`` requests on handles with plain data
(`wire`) until the judge hangs up. Calling a class gives a handle (``Solution()``); any other call
must return plain data, else the judge sees a TypeError. It decides no verdict and knows nothing
about how it was started. Standard library only.
"""

from __future__ import annotations

import builtins
import os
import sys
import types

import wire

ERROR_CHARS = 2000


def describe(exc: BaseException) -> str:
    """``Type: message``, capped; not `traceback.format_exception_only`, which walks the whole
    traceback (seconds after a recursion a million frames deep)."""
    exc.__traceback__ = None  # free the program's frames now
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__, or MemoryError
        message = "<unprintable>"
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:ERROR_CHARS]


class Channel:
    """Line-oriented reading from one descriptor and writing to another (no Python-level buffers
    shared with the program's own files)."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd, self.pending = read_fd, write_fd, b""

    def send(self, line: bytes) -> None:
        view = memoryview(line)
        while view:
            view = view[os.write(self.write_fd, view):]

    def receive(self) -> bytes | None:
        """The next line, or None at end of file (or a line over the size limit: the peer misbehaves)."""
        while b"\n" not in self.pending:
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk or len(self.pending) > wire.MAX_BYTES:
                return None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line


class Objects:
    """The program's objects the judge holds handles to."""

    def __init__(self) -> None:
        self.by_handle: dict[int, object] = {}
        self.handles: dict[int, int] = {}  # id(object) -> handle

    def handle_of(self, value: object) -> int:
        if id(value) not in self.handles:
            self.handles[id(value)] = len(self.by_handle)
            self.by_handle[len(self.by_handle)] = value
        return self.handles[id(value)]

    def object_of(self, handle: int) -> object:
        if handle not in self.by_handle:
            raise wire.WireError(f"no object has handle {handle}")
        return self.by_handle[handle]


def _names(namespace: dict, objects: Objects) -> list:
    """[name, kind, payload] of every top-level name: ("value", tree) | ("module", name) | ("handle", n)."""
    described = []
    for name, value in list(namespace.items()):
        if name.startswith("__") and name.endswith("__"):
            continue
        if isinstance(value, types.ModuleType):
            described.append([name, "module", value.__name__])
            continue
        try:
            described.append([name, "value", wire.encode(value).decode()])
        except (wire.NotPlainData, ValueError):
            described.append([name, "handle", objects.handle_of(value)])
    return described


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the program may have replaced or closed them
            pass


def run_program(program: str, namespace: dict) -> dict | None:
    """Execute the program as ``__main__``; None if it ran, else the verdict it earned."""
    try:
        exec(compile(program, "<program>", "exec"), namespace)
    except SystemExit as exc:  # exit(0) ends the program, not the grading
        if exc.code not in (None, 0):
            return {"status": "failed", "failed_test": None, "error": f"the program exited with {exc.code!r}"}
    except BaseException as exc:  # noqa: BLE001 - whatever the program raises is its verdict
        namespace.clear()  # free what it allocated before describing it
        status = "memory" if isinstance(exc, MemoryError) else "failed"
        return {"status": status, "failed_test": None, "error": f"the program raised {describe(exc)}"}
    return None


def _answer(request: list, objects: Objects) -> bytes:
    kind, target = request[0], request[1]  # the handle was decoded to the object itself
    if kind == "getattr":
        value = getattr(target, request[2])
        try:
            return wire.encode(["ok", value])
        except wire.NotPlainData:
            return wire.encode(["ok", value], objects.handle_of)
    args, kwargs = request[2], request[3]
    value = target(*args, **kwargs)
    if isinstance(target, type):
        return wire.encode(["ok", value], objects.handle_of)
    return wire.encode(["ok", value])


def serve(program: str, channel: Channel) -> None:
    """Run the program, describe its names to the judge, answer its requests; exits, never returns."""
    pid = os.getpid()
    namespace = {"__name__": "__main__", "__builtins__": dict(vars(builtins))}
    failure = run_program(program, namespace)
    if os.getpid() != pid:  # a fork of the program came back here: it must not speak for the answer
        os._exit(0)
    _flush()  # before the judge can hear from us: once its verdict is in, this process is killed
    objects = Objects()
    try:
        hello = ["failed", failure] if failure else ["names", _names(namespace, objects)]
        channel.send(wire.encode(hello))
    except BaseException as exc:  # noqa: BLE001 - MemoryError, a hostile __iter__ ...
        channel.send(wire.encode(["failed", {"status": "failed", "failed_test": None,
                                             "error": f"the program's names could not be read: {describe(exc)}"}]))
    while (line := channel.receive()) is not None:
        try:
            request = wire.decode(line, objects.object_of)
            reply = _answer(request, objects)
        except BaseException as exc:  # noqa: BLE001 - the program's exception goes to the judge
            if os.getpid() != pid:
                os._exit(0)
            reply = wire.encode(["raise", type(exc).__name__, describe(exc)[len(type(exc).__name__) + 2:]])
        if os.getpid() != pid:
            os._exit(0)
        _flush()
        channel.send(reply)
    os._exit(0)
