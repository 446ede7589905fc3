"""Skill discovery: give every evaluation question of a task a skill name.

Three sources (``SkillDiscoveryConfig.source``): the task's own labels (``metadata``), a shipped
mapping file (``file``), or a teacher model that labels and then clusters the questions (``llm``,
cached on disk). ``discover_skills`` returns a ``SkillMapping``; ``apply_mapping`` turns it into
examples whose ``skill`` is the discovered one. Nothing here is imported by ``import teachenv``.
"""

from teachenv.skills.discovery import SkillDiscoveryConfig, discover_skills
from teachenv.skills.mapping import OTHER, SkillMapping, apply_mapping, load_mapping, save_mapping

__all__ = ["OTHER", "SkillDiscoveryConfig", "SkillMapping", "apply_mapping", "discover_skills", "load_mapping",
           "save_mapping"]
