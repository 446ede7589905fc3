"""Teacher agents (installed as ``teachenv.agents``): one module per policy, loop or LLM data engine.

Policies are registered by name in ``teachenv.core.registry.policies`` and the data engines (procedural and LLM) in
``teachenv.core.registry.engines`` (that registry imports this package for its builtins);
third-party packages add theirs through the ``teachenv.policies`` / ``teachenv.engines``
entry-point groups.
"""

from teachenv.core.registry import engines as _engines
from teachenv.core.registry import policies as _policies

_policies.register("random", "teachenv.agents.random_policy:RandomPolicy")
_policies.register("uniform", "teachenv.agents.uniform:UniformPolicy")
_policies.register("weakest-skill", "teachenv.agents.weakest_skill:WeakestSkillPolicy")
_policies.register("explore-exploit", "teachenv.agents.explore_exploit:ExploreExploitPolicy")
_policies.register("learning-progress", "teachenv.agents.learning_progress:LearningProgressPolicy")
_policies.register("llm", "teachenv.agents.llm_policy:LLMPolicy")
_policies.register("stat-syn", "teachenv.agents.stat:StatSynPolicy")
_policies.register("stat-sel", "teachenv.agents.stat_sel:StatSelPolicy")
_policies.register("ppo", "teachenv.agents.ppo_policy:PPOPolicy")

_engines.register("procedural", "teachenv.agents.procedural_engine:ProceduralEngine")
_engines.register("llm", "teachenv.agents.llm_engine:LLMDataEngine")
_engines.register("agent-instruct", "teachenv.agents.agent_instruct:AgentInstructEngine")
_engines.register("aligned-teacher", "teachenv.agents.aligned_teacher:AlignedTeacherEngine")
_engines.register("noisy", "teachenv.agents.noisy_engine:NoisyEngine")
_engines.register("lbt", "teachenv.agents.lbt:LbtEngine")
_engines.register("montessori", "teachenv.agents.montessori:MontessoriEngine")
_engines.register("arte", "teachenv.agents.arte:ArteEngine")
