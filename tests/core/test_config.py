"""Run configs: strict validation with field paths, overrides, component options, every shipped config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from teachenv.core.config import (
    ComponentSpec,
    RunConfig,
    apply_overrides,
    dump_config,
    load_config,
    parse_override,
    validate_config,
)
from teachenv.core.errors import ConfigError, TeachEnvError

REPO = Path(__file__).resolve().parents[2]
# Run configs; configs/suites/ holds benchmark suites, checked by tests/bench/test_bench.py.
CONFIG_FILES = sorted(p for p in REPO.glob("configs/**/*.yaml") if "suites" not in p.relative_to(REPO).parts)


# -- strict validation ----------------------------------------------------------------------


def test_typo_in_a_nested_key_names_the_full_path():
    with pytest.raises(ConfigError) as info:
        validate_config({"student": {"lora": {"rank": 8}}})
    assert "student.lora.rank" in str(info.value)
    assert "Extra inputs are not permitted" in str(info.value)


def test_bad_type_names_the_path_and_the_bad_value():
    with pytest.raises(ConfigError) as info:
        validate_config({"student": {"train": {"max_steps": "lots"}}})
    message = str(info.value)
    assert "student.train.max_steps" in message
    assert "'lots'" in message


def test_out_of_range_value_names_the_path_and_the_value():
    with pytest.raises(ConfigError, match=r"env\.examples_per_round.*\(got 0\)"):
        validate_config({"env": {"examples_per_round": 0}})


def test_config_error_is_a_value_error_and_a_teachenv_error():
    with pytest.raises(ConfigError) as info:
        validate_config({"unknown_top_level": 1})
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, TeachEnvError)
    assert "unknown_top_level" in str(info.value)


def test_unknown_policy_name_suggests_the_closest_and_names_the_field():
    with pytest.raises(ConfigError) as info:
        validate_config({"agent": {"policy": {"name": "weakest-skil"}}})
    message = str(info.value)
    assert "agent.policy.name" in message
    assert "Did you mean 'weakest-skill'" in message  # the closest name first


def test_unknown_task_name_suggests_the_closest_and_names_the_field():
    with pytest.raises(ConfigError) as info:
        validate_config({"task": {"name": "arth"}})
    assert "task.name" in str(info.value)
    assert "Did you mean 'arith'" in str(info.value)


def test_unknown_engine_name_names_the_field_and_lists_the_available():
    with pytest.raises(ConfigError) as info:
        validate_config({"agent": {"engine": {"name": "procedual"}}})
    assert "agent.engine.name" in str(info.value)
    assert "procedural" in str(info.value)


def test_unknown_component_option_is_rejected_with_its_path():
    with pytest.raises(ConfigError, match=r"task\.digitz: Extra inputs are not permitted"):
        validate_config({"task": {"name": "arith", "digitz": 3}})


def test_bad_component_option_value_names_the_path_and_the_value():
    with pytest.raises(ConfigError) as info:
        validate_config({"task": {"name": "arith", "digits": 9}})
    assert "task.digits" in str(info.value)
    assert "(got 9)" in str(info.value)


def test_bad_policy_option_names_the_policy_path():
    with pytest.raises(ConfigError, match=r"agent\.policy\.focsu"):
        validate_config({"agent": {"policy": {"name": "weakest-skill", "focsu": 1}}})


def test_options_for_a_component_without_options_are_an_error():
    with pytest.raises(ConfigError, match=r"agent\.policy: 'uniform' takes no options"):
        validate_config({"agent": {"policy": {"name": "uniform", "focus": 2}}})


# -- resolution -------------------------------------------------------------------------------


def test_resolved_config_fills_in_component_defaults():
    config = validate_config({})
    assert config.task.name == "arith"
    assert config.task.options["val_per_skill"] == 100
    assert config.task.options["digits"] == 2
    assert config.agent.policy.options == {"focus": 2, "replay_share": 0.5}


def test_resolved_config_keeps_given_component_options():
    config = validate_config({"task": {"name": "arith", "digits": 3}})
    assert config.task.options["digits"] == 3
    assert config.task.options["test_per_skill"] == 100


def test_resolved_config_round_trips_through_yaml():
    config = load_config(None, [
        "task.name=arith", "task.digits=3", "agent.policy.name=weakest-skill", "agent.policy.focus=1",
        "budget.examples=5000", "name=x",
    ])
    again = validate_config(yaml.safe_load(dump_config(config)))
    assert again == config
    assert again.task.options["digits"] == 3
    assert again.budget.examples == 5000


def test_component_spec_options_are_the_keys_besides_name():
    spec = ComponentSpec(name="weakest-skill", focus=3)
    assert spec.name == "weakest-skill"
    assert spec.options == {"focus": 3}


# -- overrides --------------------------------------------------------------------------------


def test_parse_override_splits_the_path_and_parses_the_value_as_yaml():
    assert parse_override("student.lora.r=16") == (["student", "lora", "r"], 16)
    assert parse_override("a=0.25") == (["a"], 0.25)
    assert parse_override("a=false") == (["a"], False)
    assert parse_override("a=[q_proj, v_proj]") == (["a"], ["q_proj", "v_proj"])
    assert parse_override("a=hello") == (["a"], "hello")
    assert parse_override("a=x=y") == (["a"], "x=y")


def test_override_without_equals_sign_is_a_clear_error():
    with pytest.raises(ConfigError, match="not of the form key.path=value"):
        parse_override("student.lora.r")


def test_override_without_a_key_is_a_clear_error():
    with pytest.raises(ConfigError, match="key.path=value"):
        parse_override("=3")


def test_override_with_invalid_yaml_value_is_a_clear_error():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_override("a=[1, 2")


def test_overrides_create_nested_keys_without_touching_the_input():
    data = {"student": {"model": "tiny"}}
    result = apply_overrides(data, ["student.lora.r=8", "env.max_rounds=5"])
    assert result == {"student": {"model": "tiny", "lora": {"r": 8}}, "env": {"max_rounds": 5}}
    assert data == {"student": {"model": "tiny"}}


def test_override_through_a_scalar_is_an_error_naming_the_path():
    with pytest.raises(ConfigError, match=r"seed is 0, not a mapping"):
        apply_overrides({"seed": 0}, ["seed.x=1"])


def test_overrides_reach_the_validated_config_with_their_types():
    config = load_config(None, [
        "student.lora.r=8",
        "student.train.learning_rate=0.01",
        "student.lora.target_modules=[q_proj, v_proj]",
        "env.max_per_skill=100",
        "seed=7",
    ])
    assert config.student.lora.r == 8
    assert config.student.train.learning_rate == 0.01
    assert config.student.lora.target_modules == ["q_proj", "v_proj"]
    assert config.env.max_per_skill == 100
    assert config.seed == 7


def test_override_in_scientific_notation_becomes_a_float_field():
    # YAML 1.1 reads "1e-3" as a string; pydantic must still turn it into the float field.
    assert load_config(None, ["student.train.learning_rate=1e-3"]).student.train.learning_rate == 0.001


def test_override_with_a_typo_is_rejected_like_a_file_typo():
    with pytest.raises(ConfigError, match=r"student\.lora\.rr"):
        load_config(None, ["student.lora.rr=8"])


# -- files ------------------------------------------------------------------------------------


def test_load_config_names_the_run_after_the_file(tmp_path):
    path = tmp_path / "my-run.yaml"
    path.write_text("seed: 3\n")
    config = load_config(path)
    assert config.name == "my-run"
    assert config.seed == 3


def test_load_config_keeps_a_name_given_in_the_file(tmp_path):
    path = tmp_path / "file.yaml"
    path.write_text("name: chosen\n")
    assert load_config(path).name == "chosen"


def test_overrides_apply_on_top_of_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("seed: 3\nenv:\n  max_rounds: 2\n")
    config = load_config(path, ["env.max_rounds=4"])
    assert config.seed == 3
    assert config.env.max_rounds == 4


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.yaml")


def test_config_file_holding_a_list_is_a_config_error(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(path)


def test_config_file_with_broken_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("seed: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_there_are_shipped_config_files():
    assert CONFIG_FILES, "configs/ holds no YAML files"


@pytest.mark.parametrize("path", CONFIG_FILES, ids=[str(p.relative_to(REPO)) for p in CONFIG_FILES])
def test_every_shipped_config_file_validates(path):
    config = load_config(path)
    assert isinstance(config, RunConfig)
    assert validate_config(yaml.safe_load(dump_config(config))) == config


def test_epochs_and_max_steps_together_name_the_flag_to_change():
    with pytest.raises(ConfigError) as info:
        validate_config({"student": {"train": {"epochs": 3}}})
    assert "student.train.max_steps=null" in str(info.value)
    config = validate_config({"student": {"train": {"epochs": 3, "max_steps": None}}})
    assert config.student.train.steps_for(100) == 10  # ceil(3 * 100 / 32)
    assert validate_config({}).student.train.steps_for(100) == 600
