"""Plain data as tagged JSON lines: the only thing that crosses between an answer and its judge.

Values are None, bool, int, float (nan, inf and -0.0 included), complex, str, bytes, list, tuple,
dict, set and frozenset, nested at most `MAX_DEPTH` deep and `MAX_BYTES` long once encoded;
`decode` gives back exactly those types, so an object with a hostile ``__eq__`` cannot come out
of it (never pickle or marshal). A handle (``["h", n]``) stands for an object that stays in the
process that owns it; `encode` / `decode` map them through hooks. Standard library only (it is
copied into the sandbox); it knows nothing about processes or tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable

MAX_DEPTH = 100
MAX_BYTES = 16 << 20


class WireError(ValueError):
    """A message that is not well-formed plain data (or too deep, or too long)."""


class NotPlainData(TypeError):
    """A value that has no plain-data form (a function, an instance of a class, a generator...)."""


def _tree(value: object, depth: int, handle_of: Callable[[object], int | None] | None) -> object:
    if depth > MAX_DEPTH:
        raise NotPlainData(f"nested deeper than {MAX_DEPTH} levels (or cyclic)")
    if value is None or value is True or value is False:
        return value
    # Subclasses are read through their base type: encoding runs on the sending side, so this only
    # decides what plain value a subclass stands for; what the receiver gets is always exact.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return ["i", hex(int.__index__(value))]
    if isinstance(value, float):
        return ["f", float.hex(float.__float__(value))]
    if isinstance(value, complex):
        return ["c", float.hex(value.real), float.hex(value.imag)]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return ["b", bytes(value).decode("latin-1")]
    if isinstance(value, (list, tuple, set, frozenset)):
        tag = "l" if isinstance(value, list) else "t" if isinstance(value, tuple) else "S" if isinstance(value, set) else "F"
        return [tag, [_tree(item, depth + 1, handle_of) for item in value]]
    if isinstance(value, dict):
        flat = []
        for key, item in dict.items(value):
            flat += [_tree(key, depth + 1, handle_of), _tree(item, depth + 1, handle_of)]
        return ["d", flat]
    handle = handle_of(value) if handle_of is not None else None
    if handle is not None:
        return ["h", handle]
    raise NotPlainData(f"a {type(value).__name__} is not plain data")


def encode(value: object, handle_of: Callable[[object], int | None] | None = None) -> bytes:
    """One JSON line for `value`; NotPlainData if it (or anything in it) has no plain form."""
    try:
        line = json.dumps(_tree(value, 0, handle_of), ensure_ascii=True, separators=(",", ":")).encode() + b"\n"
    except RecursionError:
        raise NotPlainData("nested too deep") from None
    if len(line) > MAX_BYTES:
        raise NotPlainData(f"{len(line)} bytes once encoded, over the limit of {MAX_BYTES}")
    return line


def _float(text: object) -> float:
    if not isinstance(text, str):
        raise WireError(f"a float must be written as hex text, not {text!r:.50}")
    return float.fromhex(text)


def _value(node: object, depth: int, object_of: Callable[[int], object] | None) -> object:
    if depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    if node is None or node is True or node is False or type(node) is str:
        return node
    if type(node) is not list or not node or type(node[0]) is not str:
        raise WireError(f"not a tagged value: {node!r:.80}")
    tag, args = node[0], node[1:]
    if tag == "i" and len(args) == 1 and type(args[0]) is str:
        return int(args[0], 16)
    if tag == "f" and len(args) == 1:
        return _float(args[0])
    if tag == "c" and len(args) == 2:
        return complex(_float(args[0]), _float(args[1]))
    if tag == "b" and len(args) == 1 and type(args[0]) is str:
        return args[0].encode("latin-1")
    if tag in ("l", "t", "S", "F", "d") and len(args) == 1 and type(args[0]) is list:
        items = [_value(item, depth + 1, object_of) for item in args[0]]
        try:
            if tag == "d":
                if len(items) % 2:
                    raise WireError("a dict needs an even number of keys and values")
                return dict(zip(items[::2], items[1::2]))
            return {"l": list, "t": tuple, "S": set, "F": frozenset}[tag](items)
        except TypeError as exc:  # an unhashable key or member
            raise WireError(str(exc)) from None
    if tag == "h" and len(args) == 1 and type(args[0]) is int and object_of is not None:
        return object_of(args[0])
    raise WireError(f"not a tagged value: {node!r:.80}")


def decode(line: bytes, object_of: Callable[[int], object] | None = None) -> object:
    """The value of one line `encode` wrote; WireError for anything else (never another exception)."""
    if len(line) > MAX_BYTES:
        raise WireError(f"{len(line)} bytes, over the limit of {MAX_BYTES}")
    try:
        node = json.loads(line)
        return _value(node, 0, object_of)
    except WireError:
        raise
    except (ValueError, OverflowError, RecursionError, UnicodeError) as exc:
        raise WireError(f"{type(exc).__name__}: {exc}"[:200]) from None
