"""Stable hashes for held-out splits and cache keys (never Python's salted ``hash``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def stable_fraction(*parts: object) -> float:
    """A number in [0, 1) fixed by ``parts``, uniform over distinct inputs.

    Used to hold out validation / test items: unlike a linear rule such as ``(a*p + b*q) % 10``
    it does not correlate with any digit of the operands.
    """
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def content_hash(data: Any, length: int = 16) -> str:
    """Hex digest of a JSON-serialisable value (sorted keys), for cache keys."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
