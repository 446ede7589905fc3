"""teachenv: a gymnasium environment whose agent is a teacher.

``import teachenv`` registers the environments (``teachenv/SkillList-v0``, ...) with gymnasium
and imports nothing heavy: torch, transformers and TRL load only when a student is built.
"""

from teachenv.envs.registration import register_envs

__version__ = "0.1.0"

register_envs()
