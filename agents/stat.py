"""``stat-syn``: STAT (skill-targeted adaptive training), closed-loop — each round the teacher labels the
student's wrong validation answers with the skill each one is missing (``agents.stat_labeller``), counts
them into a *missing-skill profile*, and asks the engine for examples of those subskills in proportion to
the profile (STAT-Syn), with a replay share spread over every skill so that what the student knows is kept.

The profile is the agent's state: each round it is a memo in the agent workspace
(``rounds/<k>/agent/stat-profile.json``: the labels, the profile, the unlabelled count), so a resumed run
reads it back instead of labelling again (a replayed student does not have that round's answers), and
``stat-history.json`` holds every profile so far. Its action is a ``DataGenerationAction`` with subskill
parameters, which the skill-list and open-ended structures take and the procedural engine fills.
It reads the environment's ``val_predictions``, task, teacher and ledger (``attach``); it knows no engine.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from teachenv.agents.base import Policy, split_evenly
from teachenv.agents.stat_labeller import Labeller, build_labeller, parse_label, wrong_answers
from teachenv.core.apportion import apportion
from teachenv.core.errors import ConfigError, EnvStateError
from teachenv.core.records import DataGenerationAction, SkillRequest
from teachenv.envs.state import RoundState


class StatConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    labeller: Literal["procedural", "llm"] = Field(
        "procedural", description="Who names the missing skills: the arith world's procedural labeller, or the "
        "agent's teacher model (agent.teacher).")
    replay_share: float = Field(0.5, ge=0, le=1, description="Share of each round's examples spread over every skill.")


def profile_of(labels: list[dict]) -> dict[str, int]:
    """The missing-skill profile: how many wrong answers got each label (unlabelled ones left out)."""
    return dict(sorted(Counter(label["label"] for label in labels if label["label"]).items()))


def syn_requests(profile: dict[str, int], skills: tuple[str, ...], total: int,
                 replay_share: float) -> tuple[SkillRequest, ...]:
    """``total`` examples: the non-replay part over the profile's subskills in proportion to their counts,
    the replay part evenly over ``skills`` (everything evenly when the profile is empty)."""
    known = {name: count for name, count in profile.items() if parse_label(name)[0] in skills}
    replay = total if not known else int(round(total * replay_share))
    merged: Counter[tuple[str, tuple]] = Counter()
    for name, count in zip(known, apportion(total - replay, list(known.values())) if known else []):
        skill, params = parse_label(name)
        merged[(skill, tuple(sorted(params.items())))] += int(count)
    for skill, count in zip(skills, split_evenly(replay, len(skills))):
        merged[(skill, ())] += int(count)
    return tuple(SkillRequest(skill=skill, count=count, params=dict(params))
                 for (skill, params), count in merged.items() if count > 0)


class StatSynPolicy(Policy):
    name = "stat-syn"
    Config = StatConfig

    def __init__(self, config: StatConfig | None = None) -> None:
        super().__init__(config or StatConfig())
        self.env: Any = None
        self.labeller: Labeller | None = None
        self.history: list[dict] = []

    def attach(self, env: Any) -> None:
        from teachenv.envs.skill_tree import SkillTreeEnv

        if isinstance(env, SkillTreeEnv):
            raise ConfigError(f"{self.name} asks for subskills directly (requests with parameters), which the skill-tree "
                              "structure does not take: set env.id to teachenv/SkillList-v0 or teachenv/OpenEnded-v0.")
        self.env = env
        self.labeller = build_labeller(self.config.labeller, env.task, env.teacher, env.ledger)

    def reset(self, seed: int) -> None:
        super().reset(seed)
        self.history = []

    def profile(self) -> dict:
        """This round's labels and profile, from the student's latest validation answers (a workspace memo)."""
        if self.env is None or self.labeller is None:
            raise EnvStateError("stat-syn reads the student's answers: call attach(env) before act().")
        seed = int(self.rng.integers(0, 2**31 - 1))  # drawn outside the memo, so a replay leaves rng where it was
        workspace = self.env.workspace

        def compute() -> dict:
            wrong = wrong_answers(self.env.val_predictions)
            labels = [label.model_dump() for label in self.labeller.label(wrong, seed)]
            return {"round": workspace.round, "wrong": len(wrong), "labeller": self.config.labeller,
                    "unlabelled": sum(label["label"] is None for label in labels),
                    "profile": profile_of(labels), "labels": labels}

        record = workspace.memo_json("stat-profile", compute)
        self.history.append({"round": record["round"], "wrong": record["wrong"], "profile": record["profile"]})
        workspace.write_json("stat-history", self.history)
        return record

    def allocate(self, state: RoundState) -> DataGenerationAction:
        record = self.profile()
        requests = syn_requests(record["profile"], state.skills, state.examples_per_round, self.config.replay_share)
        return DataGenerationAction(requests=requests)

