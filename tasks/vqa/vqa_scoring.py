"""Answer normalisation and scoring of visual question answering, after the official VQA evaluation.

Two answers are compared after ``normalize_answer``: lower case; periods dropped unless they are a
decimal point; commas inside numbers dropped ("1,000" → "1000"); other punctuation turned into a
space between two word characters ("t-shirt" → "t shirt") and dropped elsewhere; the articles
a / an / the dropped; number words up to ten written as digits ("two" → "2"); common contractions
written with their apostrophe ("dont" → "don't").

Scores:

- ``vqa_accuracy``: the common simplified VQA accuracy, ``min(#humans who gave the answer / 3, 1)``
  (the official one averages this over the ten subsets of nine human answers; the two differ by at
  most a few hundredths of a point on a ten-answer item).
- ``exact_match``: 1.0 if the answer equals any human answer, else 0.0 (the usual convention with
  several references; on a one-answer dataset such as GQA it is plain exact match).

This module knows only strings: nothing of datasets, images or models.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_NUMBER_WORDS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}
_ARTICLES = frozenset({"a", "an", "the"})
# Contractions people type without the apostrophe, written as the VQA annotations spell them.
_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldnt": "couldn't", "couldve": "could've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't", "hasnt": "hasn't",
    "havent": "haven't", "hes": "he's", "im": "i'm", "isnt": "isn't", "itd": "it'd", "itll": "it'll",
    "ive": "i've", "mightnt": "mightn't", "mustnt": "mustn't", "shes": "she's", "shouldnt": "shouldn't",
    "shouldve": "should've", "thats": "that's", "theres": "there's", "theyre": "they're",
    "theyve": "they've", "wasnt": "wasn't", "werent": "weren't", "whats": "what's", "wheres": "where's",
    "whos": "who's", "wont": "won't", "wouldnt": "wouldn't", "wouldve": "would've", "youre": "you're",
    "youve": "you've", "lets": "let's", "yall": "y'all",
}
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d)")
_NON_DECIMAL_PERIOD = re.compile(r"(?<!\d)\.|\.(?!\d)")
# Punctuation between two word characters joins words ("t-shirt"): it becomes a space there.
_INNER_PUNCT = re.compile(r"(?<=\w)[;/\[\]\"{}()=+\\_\-><@`,?!:*#%&$~|^](?=\w)")
_PUNCT = re.compile(r"[;/\[\]\"{}()=+\\_\-><@`,?!:*#%&$~|^]")
_SPACE = re.compile(r"\s+")
_ANSWER_PREFIX = re.compile(r"^\s*answer\s*:\s*", re.IGNORECASE)


def normalize_answer(text: str) -> str:
    """The comparable form of an answer (see the module docstring): ``"the Red."`` → ``"red"``."""
    text = _SPACE.sub(" ", str(text)).strip().lower()
    text = _DIGIT_COMMA.sub("", text)
    text = _NON_DECIMAL_PERIOD.sub("", text)
    text = _INNER_PUNCT.sub(" ", text)
    text = _PUNCT.sub("", text)
    words = []
    for word in text.split():
        word = _NUMBER_WORDS.get(word, word)
        if word in _ARTICLES:
            continue
        words.append(_CONTRACTIONS.get(word, word))
    return " ".join(words)


def first_answer(completion: str) -> str:
    """The answer a model's completion states: its first non-empty line, without a leading
    ``Answer:`` and a trailing period (``"Answer: Red.\\nBecause…"`` → ``"Red"``)."""
    for line in str(completion).splitlines():
        if line.strip():
            return _ANSWER_PREFIX.sub("", line).strip().rstrip(".").strip()
    return ""


def majority_answer(answers: Sequence[str]) -> str:
    """The most common normalised human answer (ties: the one given first); "" if there are none."""
    normalised = [n for n in (normalize_answer(a) for a in answers) if n]
    return Counter(normalised).most_common(1)[0][0] if normalised else ""


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised human answer, else 0.0."""
    predicted = normalize_answer(prediction)
    return 1.0 if predicted and any(predicted == normalize_answer(a) for a in answers) else 0.0


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """``min(#human answers equal to the prediction / 3, 1)``, both normalised: an answer three of
    the ten annotators gave is fully right, one that one annotator gave earns a third."""
    predicted = normalize_answer(prediction)
    if not predicted:
        return 0.0
    agreeing = sum(predicted == normalize_answer(a) for a in answers)
    return min(agreeing / 3.0, 1.0)
