"""``TransformersBackend`` built from a config: chat template or system line; the raw default is unchanged."""

from __future__ import annotations

import pytest

from teachenv.core.config import TinyStudentRecipe, validate_config
from teachenv.core.errors import ConfigError
from teachenv.engines.base import GenerationRequest
from teachenv.engines.transformers_backend import TransformersBackend, TransformersBackendConfig
from teachenv.student.tiny_model import build_tiny_model

PLUMBING = TinyStudentRecipe(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, pretrain_steps=0)
REQUEST = GenerationRequest(prompt="12+3=", system="Answer.", max_new_tokens=3)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    model, tokenizer = build_tiny_model(PLUMBING)
    path = tmp_path_factory.mktemp("plumbing")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)  # the char tokenizer ships a chat template ("role: content" lines)
    return path


def from_config(model_dir, **options) -> TransformersBackend:
    return TransformersBackend.from_config(TransformersBackend.Config(model=str(model_dir), **options))


def test_config_defaults_and_unknown_keys():
    config = TransformersBackendConfig(model="m")
    assert (config.device, config.dtype, config.batch_size, config.chat_template) == ("cpu", "float32", 16, True)
    with pytest.raises(ValueError):
        TransformersBackendConfig(model="m", chat_templates=False)


def test_chat_template_renders_system_and_user_messages_without_adding_bos(model_dir):
    backend = from_config(model_dir, batch_size=4)
    rendered = "system: Answer.\nuser: 12+3=\nassistant: "
    assert backend.tokenizer.apply_chat_template(
        [{"role": "system", "content": "Answer."}, {"role": "user", "content": "12+3="}],
        add_generation_prompt=True, tokenize=False) == rendered
    [result] = backend.generate([REQUEST])
    assert result.prompt_tokens == len(rendered)  # one token per character; the template wrote no <bos>
    raw = TransformersBackend(backend.model, backend.tokenizer)  # the student's way: the same model, raw prompt
    [expected] = raw.generate([REQUEST.model_copy(update={"prompt": rendered, "system": None})])
    assert expected.prompt_tokens == len(rendered) + 1  # raw prompts get <bos>


def test_without_a_template_or_with_chat_template_off_the_system_message_is_a_line(model_dir):
    off = from_config(model_dir, chat_template=False)
    [result] = off.generate([REQUEST])
    assert result.prompt_tokens == len("Answer.\n12+3=") + 1
    on = from_config(model_dir)
    on.tokenizer.chat_template = None  # a tokenizer with no template falls back to the same
    assert on.generate([REQUEST]) == [result]


def test_the_default_constructor_still_sends_raw_prompts_and_ignores_system(model_dir):
    model, tokenizer = build_tiny_model(PLUMBING)
    assert tokenizer.chat_template  # it has one, and the student's backend does not use it
    [with_system] = TransformersBackend(model, tokenizer).generate([REQUEST])
    [without] = TransformersBackend(model, tokenizer).generate([REQUEST.model_copy(update={"system": None})])
    assert with_system == without and with_system.prompt_tokens == len("12+3=") + 1


def test_a_bad_prompt_format_is_a_config_error():
    model, tokenizer = build_tiny_model(PLUMBING)
    with pytest.raises(ConfigError, match="prompt_format"):
        TransformersBackend(model, tokenizer, prompt_format="chat")


def test_a_teacher_config_validates_transformers_options():
    config = validate_config({"agent": {"teacher": {"name": "transformers", "model": "some/model"}}})
    assert config.agent.teacher.options == {"model": "some/model", "device": "cpu", "dtype": "float32",
                                            "batch_size": 16, "chat_template": True}
    with pytest.raises(ConfigError, match="agent.teacher.batch_size"):
        validate_config({"agent": {"teacher": {"name": "transformers", "model": "m", "batch_size": 0}}})
