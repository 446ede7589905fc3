"""The plan grammar: what the procedural engine reads from an open-ended teacher's free-form plan."""

from __future__ import annotations

import pytest

from teachenv.core.plan import Plan, PlanError, parse_plan
from teachenv.core.records import SkillRequest

SKILLS = ("add", "add-carry", "sub")


def test_lines_with_parameters_and_notes_round_trip():
    plan = parse_plan("add-carry: 12 carries=2 exact=true\nmake them varied\n  sub: 3 ; add: 0", SKILLS)
    assert plan.requests == (SkillRequest(skill="add-carry", count=12, params={"carries": 2, "exact": True}),
                             SkillRequest(skill="sub", count=3))
    assert plan.notes == "make them varied"
    assert parse_plan(plan.to_text(), SKILLS) == plan


@pytest.mark.parametrize("text", ['{"add": 4, "sub": 1}',
                                  '{"requests": [{"skill": "add", "count": 4}, {"skill": "sub", "count": 1}]}'])
def test_json_plans(text):
    assert [(r.skill, r.count) for r in parse_plan(text, SKILLS).requests] == [("add", 4), ("sub", 1)]


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   \n ", "empty"),
    ("teach more carrying please", "no line of the plan asks for examples"),
    ("division: 3", "unknown skill"),
    ("add: 0\nsub: 0", "asks for no examples"),
    ('{"add": -2}', "malformed"),
    ('{"add": 2', "does not parse"),
    ("[1, 2]", "no line"),
    (";", "no line of the plan asks for examples"),  # only separators: found by tests/properties (was IndexError)
])
def test_unusable_plans_say_why(text, reason):
    with pytest.raises(PlanError, match=reason):
        parse_plan(text, SKILLS)


def test_a_typed_plan_writes_the_grammar():
    plan = Plan(requests=(SkillRequest(skill="add", count=2, params={"zeros": 1}),), notes="two lines\nof notes")
    assert plan.to_text() == "add: 2 zeros=1\n# two lines\n# of notes"
