"""Decontamination: exact, normalised and n-gram copies of evaluation questions are caught."""

from __future__ import annotations

from teachenv.core.records import TaskExample
from teachenv.envs.decontamination import Decontaminator


def ex(prompt: str, **kw) -> TaskExample:
    return TaskExample(id=prompt[:20], skill="s", prompt=prompt, answer="1", **kw)


LONG = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
        "How many clips did Natalia sell altogether in April and May?")


def test_short_questions_match_by_normalised_hash_only():
    d = Decontaminator([ex("18+25="), ex(LONG)])
    assert d.match(ex("18+25=")) == "exact"
    assert d.match(ex(" 18 + 25 = ")) == "normalised"
    assert d.match(ex("18+52=")) is None


def test_long_questions_match_by_ngram_overlap():
    d = Decontaminator([ex("18+25="), ex(LONG)])
    planted = "Here is a new one. " + LONG.replace("48", "50")
    assert d.match(ex(planted)).startswith("8-gram overlap")
    fresh = ("A baker made 30 loaves on Monday and twice as many on Tuesday. How many loaves did the baker "
             "make on both days?")
    assert d.match(ex(fresh)) is None


def test_an_image_question_matches_only_with_the_same_image():
    d = Decontaminator([ex("What colour is the circle?", image=b"png-1")])
    assert d.match(ex("What colour is the circle?", image=b"png-1")) == "exact"
    assert d.match(ex("What colour is the circle?", image=b"png-2")) is None
