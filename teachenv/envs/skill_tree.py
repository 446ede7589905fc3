"""The skill-tree environment (DataEnvGym's skill-tree structure) as a ``gymnasium.Env``.

Observation: per skill its validation accuracy, and per subskill slot (``env.max_subskills`` per
skill, so the spaces are fixed-size) a mask of live slots, the allocation, the examples trained, the
validation accuracy and how many validation items it has; plus the round and the budget left.
Action (a gymnasium ``Dict``): ``explore`` — new subskills per skill (0 = exploit), and
``allocation`` — examples per round for every slot (new slots included; slots left empty are
ignored); or a typed ``SkillTreeAction``. Every round each live subskill with an allocation asks the
engine for that many examples of its skill with its parameters (all clipped to the round's cap).
Reward: the change in mean validation accuracy (= the mean of the per-skill changes in ``info``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from gymnasium import spaces

from teachenv.core.errors import InvalidActionError
from teachenv.core.ledger import BUDGET_NAMES
from teachenv.core.records import DataGenerationAction, SkillRequest, TrainingExample
from teachenv.envs.skill_list import MAX_COUNT
from teachenv.envs.skill_tree_state import SkillDecision, SkillNode, SkillTreeAction, SkillTreeState, Subskill
from teachenv.envs.subskills import build_proposer
from teachenv.envs.teaching_env import TeachingEnv


#: Key of a typed decision's allocation for the subskills it explores (no subskill name has a '*').
NEW_SUBSKILLS = "*new*"


class SkillTreeEnv(TeachingEnv[dict[str, Any], dict[str, Any] | SkillTreeAction]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_subskills = m = self.config.env.max_subskills
        self.proposer = build_proposer(self.task, self.teacher, self.ledger)
        n = len(self.skills)
        self.action_space = spaces.Dict({
            "explore": spaces.MultiDiscrete(np.full(n, m + 1, dtype=np.int64)),
            "allocation": spaces.MultiDiscrete(np.full((n, m), self.max_per_skill + 1, dtype=np.int64)),
        })
        self.observation_space = spaces.Dict({
            "val_accuracy": spaces.Box(0.0, 1.0, shape=(n,), dtype=np.float32),
            "subskill_mask": spaces.MultiBinary((n, m)),
            "allocation": spaces.Box(0, MAX_COUNT, shape=(n, m), dtype=np.int64),
            "examples_trained": spaces.Box(0, MAX_COUNT, shape=(n, m), dtype=np.int64),
            "subskill_accuracy": spaces.Box(0.0, 1.0, shape=(n, m), dtype=np.float32),
            "subskill_val_items": spaces.Box(0, MAX_COUNT, shape=(n, m), dtype=np.int64),
            "round": spaces.Discrete(self.max_rounds + 1),
            "budget_left": spaces.Box(0.0, 1.0, shape=(len(BUDGET_NAMES),), dtype=np.float32),
        })
        self.tree: dict[str, list[Subskill]] = {s: [] for s in self.skills}

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        self.tree = {s: [] for s in self.skills}
        return super().reset(seed=seed, options=options)

    # -- action ------------------------------------------------------------------------------
    def to_generation_action(self, action: Any) -> DataGenerationAction:
        decisions = self._typed_decisions(action) if isinstance(action, SkillTreeAction) else self._array_decisions(action)
        self._apply(decisions)
        requests = tuple(SkillRequest(skill=skill, count=sub.allocation, params=sub.params)
                         for skill in self.skills for sub in self.tree[skill] if sub.allocation > 0)
        return DataGenerationAction(requests=requests)

    def _array_decisions(self, action: Any) -> dict[str, tuple[int, list[int] | dict[str, int]]]:
        """(new subskills, allocation of every slot) per skill, from the gymnasium action."""
        if not isinstance(action, dict) or set(action) != {"explore", "allocation"}:
            raise InvalidActionError("Action must be a dict {'explore': int array of shape (skills,), 'allocation': "
                                     "int array of shape (skills, env.max_subskills)} or a SkillTreeAction; got "
                                     f"{type(action).__name__}{sorted(action) if isinstance(action, dict) else ''}.")
        explore, allocation = np.asarray(action["explore"]), np.asarray(action["allocation"])
        for key, array in (("explore", explore), ("allocation", allocation)):
            space = self.action_space[key]
            if array.shape != space.shape or not np.issubdtype(array.dtype, np.integer) \
                    or not space.contains(array.astype(np.int64)):
                bound = self.max_subskills if key == "explore" else self.max_per_skill
                raise InvalidActionError(f"Action['{key}'] must be integers in [0, {bound}] of shape {space.shape} "
                                         f"(skills in the order {list(self.skills)}); got {array.tolist()}.")
        return {skill: (int(explore[i]), [int(a) for a in allocation[i]]) for i, skill in enumerate(self.skills)}

    def _typed_decisions(self, action: SkillTreeAction) -> dict[str, tuple[int, list[int] | dict[str, int]]]:
        unknown = sorted(set(action.decisions) - set(self.skills))
        if unknown:
            raise InvalidActionError(f"Action names unknown skills {unknown}; skills are {list(self.skills)}.")
        decisions = {}
        for skill, decision in action.decisions.items():
            self._check_typed(skill, decision)
            decisions[skill] = (decision.explore, {**decision.allocation,
                                                   **({NEW_SUBSKILLS: decision.explore_allocation} if decision.explore else {})})
        return decisions

    def _check_typed(self, skill: str, decision: SkillDecision) -> None:
        names = {s.name for s in self.tree[skill]}
        unknown = sorted(set(decision.allocation) - names)
        if unknown:
            raise InvalidActionError(f"Skill {skill!r} has no subskills {unknown}; it has {sorted(names)}.")
        too_big = {k: v for k, v in {**decision.allocation, "explore_allocation": decision.explore_allocation}.items()
                    if v > self.max_per_skill}
        if too_big or decision.explore > self.max_subskills:
            raise InvalidActionError(f"Skill {skill!r}: allocations must be ≤ {self.max_per_skill} (env.max_per_skill) "
                                     f"and explore ≤ {self.max_subskills} (env.max_subskills); got "
                                     f"{too_big or {'explore': decision.explore}}.")

    def _apply(self, decisions: dict[str, tuple[int, list[int] | dict[str, int]]]) -> None:
        """Explore first (new subskills fill the next free slots), then set the allocations."""
        wanted = {}
        for skill, (explore, _) in decisions.items():
            free = self.max_subskills - len(self.tree[skill])
            limit = self.proposer.available(skill, self.tree[skill])
            k = min(explore, free, limit if limit is not None else free)
            if k > 0:
                wanted[skill] = (tuple(self.tree[skill]), k)
        old = {skill: len(subs) for skill, subs in self.tree.items()}
        if wanted:
            rng = np.random.default_rng([self.np_random_seed or 0, self._round or 0, 7])
            for skill, subskills in self.proposer.propose(wanted, rng).items():
                self.tree[skill].extend(subskills[: self.max_subskills - len(self.tree[skill])])
        for skill, (_, allocation) in decisions.items():
            subs = self.tree[skill]
            for slot, sub in enumerate(subs):
                if isinstance(allocation, list):
                    value = allocation[slot]
                else:
                    value = allocation.get(sub.name, allocation.get(NEW_SUBSKILLS) if slot >= old[skill] else None)
                if value is not None:
                    subs[slot] = sub.model_copy(update={"allocation": int(value)})

    # -- bookkeeping and observation ---------------------------------------------------------------
    def after_round(self, accepted: list[TrainingExample]) -> None:
        for candidate in accepted:
            subs = self.tree.get(candidate.example.skill, [])
            for slot, sub in enumerate(subs):
                if sub.matches(candidate.example.params):
                    subs[slot] = sub.model_copy(update={"examples": sub.examples + 1})
                    break
        credit: dict[tuple[str, int], list[float]] = defaultdict(list)
        for prediction in self.val_predictions:
            example = self.val_examples.get(prediction.example_id)
            params = example.params if example is not None else {}
            for slot, sub in enumerate(self.tree.get(prediction.skill, [])):
                if sub.matches(params):
                    credit[(prediction.skill, slot)].append(prediction.credit)
        for skill, subs in self.tree.items():
            for slot, sub in enumerate(subs):
                scores = credit.get((skill, slot), [])
                subs[slot] = sub.model_copy(update={"val_items": len(scores),
                                                    "val_accuracy": sum(scores) / len(scores) if scores else None})

    def state(self) -> SkillTreeState:
        accuracy = self._val.accuracy_by_skill
        tree = []
        for skill in self.skills:
            subs = self.tree[skill]
            limit = self.proposer.available(skill, subs)
            free = self.max_subskills - len(subs)
            tree.append(SkillNode(skill=skill, val_accuracy=accuracy[skill], subskills=tuple(subs),
                                  unexplored=min(free, limit) if limit is not None else free))
        return SkillTreeState(**self.common_state(), val_accuracy_by_skill=accuracy,
                              accepted_by_skill=dict(self._accepted_by_skill), tree=tuple(tree),
                              max_subskills=self.max_subskills)

    def observation(self, state: SkillTreeState) -> dict[str, Any]:
        n, m = len(self.skills), self.max_subskills
        arrays = {name: np.zeros((n, m), dtype=dtype) for name, dtype in (
            ("subskill_mask", np.int8), ("allocation", np.int64), ("examples_trained", np.int64),
            ("subskill_accuracy", np.float32), ("subskill_val_items", np.int64))}
        for i, node in enumerate(state.tree):
            for j, sub in enumerate(node.subskills):
                arrays["subskill_mask"][i, j] = 1
                arrays["allocation"][i, j] = sub.allocation
                arrays["examples_trained"][i, j] = sub.examples
                arrays["subskill_accuracy"][i, j] = sub.val_accuracy or 0.0
                arrays["subskill_val_items"][i, j] = sub.val_items
        return {
            "val_accuracy": np.array([state.val_accuracy_by_skill[s] for s in self.skills], dtype=np.float32),
            **arrays,
            "round": int(state.round),
            "budget_left": np.array([state.budget_left[n] for n in BUDGET_NAMES], dtype=np.float32),
        }
