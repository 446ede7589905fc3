"""Text in gymnasium spaces: the printable-ASCII charset of plans and rendered observations, and how
any text is made to fit one (cut to length, other characters replaced). It knows nothing else."""

from __future__ import annotations

import string

#: Characters of plans and rendered observations: printable ASCII with tab and newline.
PRINTABLE = "".join(c for c in string.printable if c not in "\x0b\x0c")


def printable(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` with every character outside ``PRINTABLE`` replaced by '?'."""
    return "".join(c if c in PRINTABLE else "?" for c in text[:max_chars])
