"""id_defaults: the config a registered id builds without one, which `teachenv serve <id>` serves too."""

from __future__ import annotations

import gymnasium
import pytest

import teachenv  # noqa: F401  (registers the ids)
from teachenv.cli.serve import resolve_config
from teachenv.core.config import validate_config
from teachenv.envs.registration import ENVIRONMENTS, id_defaults


@pytest.mark.parametrize("env_id", sorted(ENVIRONMENTS))
def test_every_id_has_a_valid_default_naming_itself(env_id):
    config = validate_config(id_defaults(env_id))
    assert config.env.id == env_id
    assert resolve_config(env_id, []).model_dump() == config.model_dump()


def test_the_surrogate_id_serves_the_surrogate_student_that_gymnasium_make_builds():
    served = resolve_config("teachenv/SurrogateSkillList-v0", [])
    assert served.student.model == "surrogate"
    env = gymnasium.make("teachenv/SurrogateSkillList-v0")
    try:
        made = env.unwrapped.config
        assert (made.student.model, made.task.name, made.name) == (served.student.model, served.task.name, served.name)
    finally:
        env.close()
