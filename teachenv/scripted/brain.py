"""``ScriptedTeacher``: the replies of a competent teacher, computed from teachenv's own prompts.

It reads a chat-completions request body (a plain dict) and returns the assistant's text. The kind
of request is the name of its ``response_format`` JSON schema; without one (the schema is then
described in the prompt) the kind is guessed from the prompt's lines. The protocol, which the LLM
policy and the LLM engine follow:

- ``skill_allocation``: a line ``Round R of N; up to C examples per round.`` and table rows
  ``skill | val accuracy | examples so far``. Reply ``{"allocation": {...}, "rationale": "..."}``
  with half of the C examples on the two weakest skills and half replaying the others (as the
  ``weakest-skill`` policy does: without replay the student forgets what it knew).
- ``training_examples``: lines ``Skill: <skill>`` and ``Number of examples: <n>``, and optionally
  ``- <question>`` lines under a line starting ``Already generated`` (questions to avoid). Reply
  ``{"examples": [{"question": ..., "answer": ...}, ...]}`` drawn from the task's own generator (with
  the generator parameters of a ``Parameters: k=v ...`` line, when the world takes them). Questions
  the student answered wrong (``  <question> → <its answer>; correct: <answer>`` lines under a line
  starting ``The student answered these wrong``) come first, solved by the task, as a teacher that
  reads its feedback would write them (LbT M3).
- ``answer``: a line ``Question: <q>``; reply ``{"answer": task.solve(q)}``.
- ``data_plan``, ``planned_examples``, ``skill_tree_action``, ``subskills``: the open-ended and
  skill-tree structures (``structure_replies``); ``skill_labels``, ``skill_categories``: LLM skill
  discovery (``discovery_replies``); ``missing_skill`` and the AgentInstruct stages (``agent_replies``).
- anything else: a short plain sentence.

Imperfections are deliberate and deterministic: with probability ``wrong_rate`` a generated
example's answer is wrong, and with probability ``malformed_rate`` a JSON reply is cut in half.
Both are decided by stable hashes of (seed, the request's seed, the prompt), so the same request
always gets the same reply, and a different follow-up prompt (a repair request) usually gets a
valid one. It knows nothing about HTTP (see ``server``) or about the student.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any

import numpy as np

from teachenv.core.errors import InvalidActionError
from teachenv.core.hashing import stable_fraction
from teachenv.core.plan import PlanError, parse_plan
from teachenv.scripted import agent_replies, structure_replies
from teachenv.tasks.base import GeneratedTask

_ROUND_LINE = re.compile(r"up to (\d+) examples per round", re.IGNORECASE)
_TABLE_ROW = re.compile(r"^\s*\|?\s*([^|\s][^|]*?)\s*\|\s*(\d+(?:\.\d*)?|\.\d+)\s*\|\s*(\d+)\s*\|?\s*$", re.MULTILINE)
_SKILL_LINE = re.compile(r"^\s*Skill:\s*(.+?)\s*$", re.MULTILINE)
_COUNT_LINE = re.compile(r"^\s*Number of examples:\s*(\d+)", re.MULTILINE)
_PARAMS_LINE = re.compile(r"^\s*Parameters:\s*(.+?)\s*$", re.MULTILINE)
_QUESTION_LINE = re.compile(r"^\s*Question:\s*(.+?)\s*$", re.MULTILINE)
_MISSED_LINE = re.compile(r"^\s+(.+?) → .*; correct: .*$")
#: How many draws per wanted example before giving up on fresh questions (a small world can run out).
_DRAWS_PER_EXAMPLE = 20
#: Bumped whenever a reply's content changes, so response caches do not serve an older brain's replies.
BRAIN_VERSION = 4

TEXT_REPLY = "I am the scripted teacher: ask me for a skill allocation, training examples or an answer."
#: Kinds of request that need the world's generator or solver.
WORLD_KINDS = frozenset({"training_examples", "answer", "planned_examples", "missing_skill", "content_transformation",
                         "seed_instruction", "refinement_suggestion", "refined_instruction"})
NO_WORLD_REPLY = ("I am the scripted teacher without a world: I cannot write examples or answers. "
                  "Give me one with agent.teacher.task (a generated task such as arith).")


class ScriptedTeacher:
    """Competent, slightly imperfect replies for ``task`` (a world that can generate and solve; without
    one it still answers what needs no world: allocations, plans, skill-tree actions, skill discovery)."""

    def __init__(self, task: GeneratedTask | None, *, malformed_rate: float = 0.05, wrong_rate: float = 0.02,
                 seed: int = 0) -> None:
        self.task = task
        self.malformed_rate = malformed_rate
        self.wrong_rate = wrong_rate
        self.seed = seed
        #: Replies cut in half on purpose so far.
        self.malformed = 0
        self._lock = threading.Lock()

    # -- reading a request ---------------------------------------------------------------------

    @staticmethod
    def prompt_of(body: dict[str, Any]) -> str:
        """The text of every user message, in order (a repair turn keeps the original lines)."""
        parts = []
        for message in body.get("messages") or []:
            if isinstance(message, dict) and message.get("role") == "user":
                parts.append(_content_text(message.get("content")))
        return "\n".join(parts)

    def kind_of(self, body: dict[str, Any]) -> str:
        """The schema name of ``response_format``, else a kind guessed from the prompt, else "text"."""
        response_format = body.get("response_format")
        if isinstance(response_format, dict):
            name = (response_format.get("json_schema") or {}).get("name")
            if name:
                return str(name)
        prompt = self.prompt_of(body)
        if _COUNT_LINE.search(prompt):
            return "training_examples"
        if _ROUND_LINE.search(prompt) and _TABLE_ROW.search(prompt):
            return "skill_allocation"
        if _QUESTION_LINE.search(prompt):
            return "answer"
        return "text"

    # -- replying ------------------------------------------------------------------------------

    def reply(self, body: dict[str, Any]) -> str:
        """The assistant's content for one chat-completions request body."""
        kind = self.kind_of(body)
        prompt = self.prompt_of(body)
        request_seed = body.get("seed")
        if self.task is None and kind in WORLD_KINDS:
            return NO_WORLD_REPLY
        if kind == "skill_allocation":
            payload: dict[str, Any] = self._allocation(prompt)
        elif kind == "training_examples":
            payload = self._examples(prompt, self._rng(request_seed, prompt))
        elif kind == "answer":
            payload = self._answer(prompt)
        elif kind == "data_plan":  # the open-ended and skill-tree structures (see structure_replies)
            payload = structure_replies.data_plan(prompt)
        elif kind == "planned_examples":
            payload = structure_replies.planned_examples(self.task, prompt, self._rng(request_seed, prompt))
        elif kind == "skill_tree_action":
            payload = structure_replies.skill_tree_action(prompt)
        elif kind == "subskills":
            payload = structure_replies.subskills(prompt)
        elif kind in ("skill_labels", "skill_categories"):  # LLM skill discovery (see discovery_replies)
            from teachenv.scripted.discovery_replies import REPLIES

            payload = REPLIES[kind](prompt)
        elif kind in agent_replies.REPLIES:  # STAT's labeller and the AgentInstruct stages (see agent_replies)
            payload = agent_replies.REPLIES[kind](self.task, prompt, self._rng(request_seed, prompt), self.wrong_rate)
        else:
            return TEXT_REPLY
        text = json.dumps(payload)
        if stable_fraction("malformed", self.seed, request_seed, prompt) < self.malformed_rate:
            with self._lock:
                self.malformed += 1
            return text[: len(text) // 2]  # a proper prefix of a JSON object never parses
        return text

    def _rng(self, request_seed: Any, prompt: str) -> np.random.Generator:
        digest = hashlib.sha256(f"examples|{self.seed}|{request_seed}|{prompt}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "big"))

    def _allocation(self, prompt: str) -> dict[str, Any]:
        budget_match = _ROUND_LINE.search(prompt)
        budget = int(budget_match.group(1)) if budget_match else 0
        rows: dict[str, float] = {}
        for skill, accuracy, _trained in _TABLE_ROW.findall(prompt):
            rows.setdefault(skill, float(accuracy))
        weakest = sorted(rows, key=lambda s: rows[s])[:2]  # stable: ties keep the table's order
        others = [s for s in rows if s not in weakest]
        # Half the round replays the other skills: without it the student forgets them (a competent
        # teacher knows this; the tiny student's other skills collapse in one round otherwise).
        replay = budget // 2 if others else 0
        allocation = dict.fromkeys(rows, 0)
        for group, total in ((weakest, budget - replay), (others, replay)):
            for i, skill in enumerate(group):
                allocation[skill] = total // len(group) + (1 if i < total % len(group) else 0)
        named = " and ".join(f"{s} ({rows[s]:.3f})" for s in weakest) or "none (no table found)"
        return {"allocation": allocation,
                "rationale": f"Half of the {budget} examples go to the weakest skills, {named}; the rest "
                             "replays the others so they are not forgotten."}

    def _examples(self, prompt: str, rng: np.random.Generator) -> dict[str, Any]:
        skill_match, count_match = _SKILL_LINE.search(prompt), _COUNT_LINE.search(prompt)
        skill = self._skill_named(skill_match.group(1)) if skill_match else None
        count = int(count_match.group(1)) if count_match else 0
        if skill is None or count == 0:
            return {"examples": []}
        seen = _avoided_questions(prompt)
        params = self._params(skill, prompt)
        chosen: list[tuple[str, str, tuple[str, ...]]] = []
        for question in _missed_questions(prompt):
            answer = self.task.solve(question)
            if answer is not None and question not in seen and len(chosen) < count:
                seen.add(question)
                chosen.append((question, answer, ()))
        for _ in range(_DRAWS_PER_EXAMPLE):
            for made in self.task.generate(skill, 2 * (count - len(chosen)), rng, params):
                question = self.task.teacher_view(made.example)
                if question not in seen and len(chosen) < count:
                    seen.add(question)
                    chosen.append((question, made.example.answer, made.example.tests))
            if len(chosen) >= count:
                break
        examples = []
        for question, answer, tests in chosen:
            if rng.random() < self.wrong_rate:
                answer = _wrong(answer)
            examples.append({"question": question, "answer": answer, **({"tests": list(tests)} if tests else {})})
        return {"examples": examples}

    def _params(self, skill: str, prompt: str) -> dict | None:
        """The ``Parameters: k=v ...`` line's generator parameters, if the world takes them for ``skill``."""
        match = _PARAMS_LINE.search(prompt)
        if match is None:
            return None
        try:
            params = dict(parse_plan(f"{skill}: 1 {match.group(1)}", self.task.skills).requests[0].params)
            self.task.generate(skill, 1, np.random.default_rng(0), params)
        except (PlanError, InvalidActionError):
            return None
        return params

    def _skill_named(self, text: str) -> str | None:
        """The task's skill that ``text`` names (exactly, or as its first word: "add-carry (…)")."""
        if text in self.task.skills:
            return text
        prefixes = [s for s in self.task.skills if re.match(re.escape(s) + r"(?![\w-])", text)]
        return max(prefixes, key=len) if prefixes else None

    def _answer(self, prompt: str) -> dict[str, Any]:
        questions = _QUESTION_LINE.findall(prompt)
        return {"answer": (self.task.solve(questions[-1]) or "") if questions else ""}


def _content_text(content: Any) -> str:
    """A message's text, whether a plain string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _avoided_questions(prompt: str) -> set[str]:
    """The ``- <question>`` lines under the line starting ``Already generated``."""
    avoided: set[str] = set()
    lines = prompt.splitlines()
    for start, line in enumerate(lines):
        if not line.strip().startswith("Already generated"):
            continue
        for item in lines[start + 1:]:
            stripped = item.strip()
            if stripped.startswith("- "):
                avoided.add(stripped[2:].strip())
            elif stripped:
                break
    return avoided


def _missed_questions(prompt: str) -> list[str]:
    """The questions of the ``<question> → <answer>; correct: <answer>`` lines under the line starting
    ``The student answered these wrong``."""
    lines = prompt.splitlines()
    for start, line in enumerate(lines):
        if line.strip().startswith("The student answered these wrong"):
            missed = []
            for item in lines[start + 1:]:
                match = _MISSED_LINE.match(item)
                if match is None:
                    break
                missed.append(match.group(1).strip())
            return missed
    return []


def _wrong(answer: str) -> str:
    """A plausible but wrong answer: one more for an integer, else a changed string."""
    try:
        return str(int(answer) + 1)
    except ValueError:
        return f"{answer} (roughly)"
