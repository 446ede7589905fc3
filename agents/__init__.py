"""Teacher agents (installed as ``teachenv.agents``): one module per policy or loop.

Policies are registered by name in ``teachenv.core.registry.policies``; third-party packages
add theirs through the ``teachenv.policies`` entry-point group.
"""

from teachenv.core.registry import policies as _policies

_policies.register("random", "teachenv.agents.random_policy:RandomPolicy")
_policies.register("uniform", "teachenv.agents.uniform:UniformPolicy")
_policies.register("weakest-skill", "teachenv.agents.weakest_skill:WeakestSkillPolicy")
_policies.register("llm", "teachenv.agents.llm_policy:LLMPolicy")

# LLM data engines live with the agents (the engines registry imports this package for its builtins).
from teachenv.core.registry import engines as _engines  # noqa: E402

_engines.register("llm", "teachenv.agents.llm_engine:LLMDataEngine")
