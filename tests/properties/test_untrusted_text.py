"""Every parser of untrusted text (model completions, teacher replies, dataset fields) returns a
value or its typed error on ANY input, and never hangs (each call is time-boxed).

Property-based (`hypothesis`), deterministic in CI (``derandomize=True``, no example database, no
per-example deadline: a slow example on a loaded machine is not a failure; only the time box is).
The strategies are seeded with the shapes that broke or nearly broke these parsers: braces and
boxes left open, powers and fractions, fences around JSON, deep nesting, encoded test cases, and
the tagged plain data the sandbox's answer sends its judge (`teachenv.sandbox.wire`).
"""

from __future__ import annotations

import base64
import json
import pickle
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from teachenv.core.plan import Plan, PlanError, parse_plan
from teachenv.core.records import SkillRequest
from teachenv.engines.json_reply import extract_json, parse_reply
from teachenv.sandbox import wire
from teachenv.tasks.code.livecodebench import decode_cases
from teachenv.tasks.math.extraction import final_answer, last_boxed, normalize_number
from teachenv.tasks.vqa.questions import answer, parse_question
from teachenv.tasks.vqa.scene import sample_scene, scene_from_dict, scene_from_json
from timebox import time_box

CALL_LIMIT_S = 2.0
PROPERTY = settings(derandomize=True, deadline=None, database=None, max_examples=150,
                    suppress_health_check=[HealthCheck.too_slow])


def texts(fragments: list[str], max_parts: int = 30) -> st.SearchStrategy[str]:
    """Text made of the given fragments mixed with arbitrary short text."""
    part = st.one_of(st.sampled_from(fragments), st.text(max_size=6))
    return st.lists(part, max_size=max_parts).map("".join)


MATH = ["\\boxed{", "\\boxed ", "\\fbox{", "{", "}", "\\{", "####", "The answer is", "Final Answer:", "**", "$", "\\$",
        "10^6", "^", "^{", "2^{10}", "\\frac{", "\\frac{3}{4}", "\\sqrt{", "3/4", "/", "x = ", "=", "-", "-7", "1,800.50",
        ",", ".", "\n", " ", "0", "9", "\\text{ cm}", "%", "1{,}000", "\\,"]


@PROPERTY
@given(texts(MATH))
def test_final_answer_extraction_returns_text_or_none(text):
    with time_box(CALL_LIMIT_S):
        found = final_answer(text)
        boxed = last_boxed(text)
        number = normalize_number(text)
    assert found is None or isinstance(found, str)
    assert boxed is None or isinstance(boxed, str)
    assert number is None or (isinstance(number, str) and float(number) == float(number))


@PROPERTY
@given(st.integers(-10**9, 10**9), st.sampled_from(["{}", "$ {} $", "So it is {}.", "#### {}", "\\boxed{{{}}}"]))
def test_a_stated_integer_is_found_in_every_position(value, form):
    with time_box(CALL_LIMIT_S):
        assert normalize_number(final_answer(form.format(value))) == str(value)


SKILLS = ["add", "add-carry", "mul", "list.sort"]
PLAN = ["add", "add-carry", "mul", "list.sort", "unknown", ":", " ", "12", "0", "\n", ";", "#", "=", "carries=2",
        "{", "}", '"', '{"add": 3}', '{"requests": [', '{"skill": "mul", "count": 2}', "]", "-1", "1e9", "null", "[", ","]


@PROPERTY
@given(texts(PLAN))
def test_the_plan_grammar_gives_a_plan_or_a_plan_error(text):
    with time_box(CALL_LIMIT_S):
        try:
            plan = parse_plan(text, SKILLS)
        except PlanError:
            return
    assert isinstance(plan, Plan) and plan.requests
    assert {request.skill for request in plan.requests} <= set(SKILLS)


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(SKILLS), st.integers(1, 500),
                          st.dictionaries(st.sampled_from(["carries", "digits", "mode"]),
                                          st.one_of(st.integers(-99, 99), st.booleans(),
                                                    st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True)),
                                          max_size=2)), min_size=1, max_size=4))
def test_a_plan_written_as_text_reads_back_equal(requests):
    plan = Plan(requests=tuple(SkillRequest(skill=s, count=c, params=p) for s, c, p in requests))
    with time_box(CALL_LIMIT_S):
        assert parse_plan(plan.to_text(), SKILLS) == plan


class Reply(BaseModel):
    skill: str
    count: int


JSON = ["```json\n", "```", "{", "}", "[", "]", '"skill"', ":", '"add"', ",", '"count"', "3", "NaN", "Infinity", "\\",
        '"', "null", "true", "Here is the JSON:", "\n", "[" * 50, "{" * 20, '{"skill": "add", "count": 3}']


@PROPERTY
@given(texts(JSON))
def test_json_reply_repair_reads_a_value_or_raises_value_error(text):
    with time_box(CALL_LIMIT_S):
        try:
            extract_json(text)
        except ValueError:
            pass
        try:
            reply = parse_reply(text, Reply)
        except ValueError:
            return
    assert isinstance(reply, Reply)


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 100_000, "{" * 20_000 + "}"])
def test_json_reply_repair_survives_deep_nesting_and_many_braces(text):
    with time_box(10 * CALL_LIMIT_S), pytest.raises(ValueError):
        parse_reply(text, Reply)


SCENE_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
              st.sampled_from(["circle", "square", "triangle", "red", "blue", "small", "large", ""])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
        st.sampled_from(["objects", "shape", "colour", "size", "x", "y", "extra"]), inner, max_size=5)),
    max_leaves=20,
)


@PROPERTY
@given(SCENE_VALUES)
def test_a_scene_specification_is_a_scene_or_a_value_error(data):
    with time_box(CALL_LIMIT_S):
        for parse in (lambda: scene_from_dict(data), lambda: scene_from_json(json.dumps(data))):
            try:
                parse()
            except ValueError:
                pass


QUESTION = ["how many", "circles", "squares", "are there", "?", "is the", "red", "blue", "circle", "left of", "the",
            "largest", "object", "what colour", "is", " ", "  ", "\n", "shape"]


@PROPERTY
@given(texts(QUESTION, 12), st.integers(0, 2**32 - 1))
def test_a_question_is_answered_or_refused_with_a_value_error(question, seed):
    scene = sample_scene(np.random.default_rng(seed), 3)
    with time_box(CALL_LIMIT_S):
        parsed = parse_question(question)
        try:
            reply = answer(scene, question)
        except ValueError:
            return
    assert parsed is not None and isinstance(reply, str) and reply


def _encoded(value: object) -> str:
    return base64.b64encode(zlib.compress(pickle.dumps(value))).decode()


CASES = [json.dumps([{"input": "1 2\n", "output": "3\n", "testtype": "stdin"}]), "[]", "[1, 2]", "{}", "5", "null",
         _encoded(json.dumps([{"input": "1", "output": "1", "testtype": "stdin"}])), _encoded(5), _encoded([1]),
         base64.b64encode(zlib.compress(b"not a pickle")).decode(), base64.b64encode(b"not zlib").decode(), "@@@", "=="]


@PROPERTY
@given(st.one_of(st.sampled_from(CASES), texts(CASES + ["{", "[", "=", "A"], 4),
                 st.binary(max_size=200).map(lambda raw: base64.b64encode(zlib.compress(raw)).decode())))
def test_livecodebench_test_cases_decode_to_cases_or_a_value_error(text):
    with time_box(CALL_LIMIT_S):
        try:
            cases = decode_cases(text)
        except ValueError:
            return
    assert isinstance(cases, list) and all(isinstance(case, dict) for case in cases)


PLAIN = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.complex_numbers(allow_nan=False),
              st.text(), st.binary()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
                            st.dictionaries(st.one_of(st.integers(), st.text()), inner, max_size=4),
                            st.frozensets(st.one_of(st.integers(), st.text()), max_size=4),
                            st.sets(st.one_of(st.integers(), st.text()), max_size=4)),
    max_leaves=25,
)


def _same(a: object, b: object) -> bool:
    """Equal, of exactly the same types all the way down, and -0.0 is not 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


@PROPERTY
@given(PLAIN)
def test_plain_data_crosses_the_sandbox_wire_exactly(value):
    with time_box(CALL_LIMIT_S):
        assert _same(wire.decode(wire.encode(value)), value)


WIRE = ['["l",[', '["t",[', '["S",[', '["d",[', '["i","0x10"]', '["f","nan"]', '["f","-0x0.0p+0"]', '["f",3]', '["h",0]',
        '["c","0x1p0","inf"]', '["b","\\u00ff"]', '"text"', "null", "true", "]]", "]", ",", "[", "{", "}", '["x"]', '["i","zz"]']


@PROPERTY
@given(st.one_of(texts(WIRE).map(str.encode), st.binary(max_size=100)))
def test_the_sandbox_wire_decodes_any_bytes_to_plain_data_or_a_wire_error(data):
    with time_box(CALL_LIMIT_S):
        try:
            wire.decode(data)
        except wire.WireError:
            pass
