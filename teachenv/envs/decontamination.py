"""Find generated questions that copy a validation or test question, or an earlier generated one.

Two checks, because one does not fit all lengths:

- **normalised hash** for every question: case, Unicode form, whitespace and trailing punctuation
  removed, so ``"18 + 25 ="`` matches ``"18+25="``. It is the only check that can fire on a short
  problem: n-grams cannot on a 7-character arithmetic question.
- **word n-gram overlap** for long questions (at least ``ngram`` words): the share of the
  candidate's n-grams found in one evaluation question's n-grams; at ``min_overlap`` or more it is
  a copy (a paraphrase that keeps most of the text, a question with a sentence added).

The images of visual questions enter the hash; their text is not n-gram matched (one question
template over many images is many different items).
It knows nothing about tasks beyond the ``TaskExample`` record.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

from teachenv.core.records import TaskExample

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def normalised_key(example: TaskExample) -> str:
    """Hash of the question with case, Unicode form, whitespace and trailing punctuation removed."""
    text = unicodedata.normalize("NFKC", example.prompt).casefold()
    text = _SPACE.sub("", text).rstrip("?.!=:")
    digest = hashlib.sha256(text.encode())
    if example.image is not None:
        digest.update(example.image)
    return digest.hexdigest()


def word_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class Decontaminator:
    """Holds the evaluation questions' keys and n-grams; ``match`` says which one a candidate copies."""

    def __init__(self, eval_examples: Iterable[TaskExample], *, ngram: int = 8, min_overlap: float = 0.5,
                 ngrams: bool = True) -> None:
        self.ngram = ngram
        #: False for templated worlds: only exact and normalised copies are overlaps.
        self.ngrams = ngrams
        self.min_overlap = min_overlap
        self.keys: set[str] = set()
        self.ngram_index: dict[tuple[str, ...], set[int]] = defaultdict(set)
        self.ngram_counts: list[int] = []
        for example in eval_examples:
            self.keys.add(example.content_key)
            self.keys.add(normalised_key(example))
            grams = word_ngrams(example.prompt, ngram)
            for gram in grams:
                self.ngram_index[gram].add(len(self.ngram_counts))
            self.ngram_counts.append(len(grams))

    def match(self, example: TaskExample) -> str | None:
        """How ``example`` overlaps the evaluation splits ('exact', 'normalised', 'n-gram …'), or None."""
        if example.content_key in self.keys:
            return "exact"
        if normalised_key(example) in self.keys:
            return "normalised"
        grams = word_ngrams(example.prompt, self.ngram) if example.image is None and self.ngrams else set()
        if not grams:
            return None
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for owner in self.ngram_index.get(gram, ()):
                shared[owner] += 1
        if not shared:
            return None
        best = max(shared.values()) / len(grams)
        return f"{self.ngram}-gram overlap {best:.0%}" if best >= self.min_overlap else None
