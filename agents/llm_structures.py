"""What the LLM policy asks in the open-ended and skill-tree structures, and how it reads the reply.

- open-ended (``data_plan``): the state (errors sample) → ``{"plan": "...", "rationale": "..."}``; the
  plan text goes to the environment as the action, where the agent's engine reads it (the plan
  grammar of ``teachenv.core.plan`` for the procedural engine, the prompt itself for an LLM engine).
- skill tree (``skill_tree_action``): the state (the tree) → ``{"decisions": {skill: {"explore": k,
  "explore_allocation": a, "allocation": {subskill: n}}}, "rationale": "..."}`` → a ``SkillTreeAction``.

Each comes with a check of what a JSON schema cannot say (known names, bounds), so the shared
repair loop sends a bad reply back with the reason. It knows the states, not the environments.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from teachenv.core.plan import GRAMMAR_HINT
from teachenv.envs.open_ended import OpenEndedState
from teachenv.envs.text_space import printable
from teachenv.envs.skill_tree_state import SkillDecision, SkillTreeAction, SkillTreeState


class PlanReply(BaseModel):
    plan: str = Field(min_length=1)
    rationale: str = ""


class TreeReply(BaseModel):
    decisions: dict[str, SkillDecision]
    rationale: str = ""


def plan_instructions(state: OpenEndedState) -> str:
    return (f"Write the data-generation plan for the next round: at most {state.examples_per_round} new training "
            f"examples in all, aimed at the errors above. Say it in this form — {GRAMMAR_HINT} — optionally followed "
            "by notes on what the examples should look like. Reply with a JSON object "
            '{"plan": "<the plan>", "rationale": "<one sentence>"}.')


def plan_action(reply: PlanReply, state: OpenEndedState) -> str:
    """The plan text as the open-ended action (printable ASCII, cut to what the action space holds)."""
    return printable(reply.plan, state.plan_max_chars)


def tree_instructions(state: SkillTreeState) -> str:
    return ("Decide for each skill whether to EXPLORE (add new subskills, chosen for you from what the task can "
            "make, each given explore_allocation examples per round) or EXPLOIT (change the examples per round of "
            f"subskills it has, named exactly as listed). A skill has at most {state.max_subskills} subskills; "
            f"one allocation is at most {state.max_per_skill}; the round's total is capped at "
            f"{state.examples_per_round}. Skills you leave out keep their allocations. Reply with a JSON object "
            '{"decisions": {"<skill>": {"explore": <new subskills, 0 to exploit>, "explore_allocation": <n>, '
            '"allocation": {"<subskill>": <n>, ...}}, ...}, "rationale": "<one sentence>"}.')


def check_tree(reply: TreeReply, state: SkillTreeState) -> str | None:
    unknown = sorted(set(reply.decisions) - set(state.skills))
    if unknown:
        return f"unknown skill(s) {unknown}; the skills are {list(state.skills)}"
    for skill, decision in reply.decisions.items():
        node = state.node(skill)
        names = {s.name for s in node.subskills}
        strangers = sorted(set(decision.allocation) - names)
        if strangers:
            return f"skill {skill!r} has no subskill(s) {strangers}; it has {sorted(names) or 'none yet (explore)'}"
        if decision.explore > node.unexplored:
            return f"skill {skill!r} can explore at most {node.unexplored} more subskill(s), not {decision.explore}"
        high = {k: v for k, v in decision.allocation.items() if v > state.max_per_skill}
        if high or decision.explore_allocation > state.max_per_skill:
            return f"allocations must be at most {state.max_per_skill}; skill {skill!r} has larger ones"
    if not any(d.explore or d.allocation for d in reply.decisions.values()) and \
            not any(s.allocation for n in state.tree for s in n.subskills):
        return "the decisions ask for no data: explore or allocate examples to at least one subskill"
    return None


def tree_action(reply: TreeReply) -> SkillTreeAction:
    return SkillTreeAction(decisions=reply.decisions)
