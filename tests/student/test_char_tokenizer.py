"""The tiny student's character tokenizer: exact round trips, special tokens, left padding."""

from __future__ import annotations

import pytest

from teachenv.student.char_tokenizer import CHARACTERS, SPECIAL_TOKENS, build_char_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return build_char_tokenizer()


def test_every_character_round_trips_exactly(tokenizer):
    text = "".join(CHARACTERS) + "  37+45=82\n\tmax(3, 4)=4  "
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(text)  # one token per character
    assert tokenizer.decode(ids) == text
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == text


def test_encoding_starts_with_bos_unless_disabled(tokenizer):
    assert tokenizer("1+1=")["input_ids"][0] == tokenizer.bos_token_id
    plain = build_char_tokenizer(add_bos=False)
    assert plain("1+1=")["input_ids"] == tokenizer("1+1=", add_special_tokens=False)["input_ids"]


def test_vocabulary_is_the_characters_plus_four_special_tokens(tokenizer):
    assert len(tokenizer) == len(CHARACTERS) + len(SPECIAL_TOKENS) == 101
    assert tokenizer.pad_token == "<pad>" and tokenizer.pad_token_id == 0
    assert tokenizer.eos_token == "<eos>" and tokenizer.unk_token == "<unk>"


def test_eos_in_text_is_one_token_and_skipped_when_decoding(tokenizer):
    ids = tokenizer("12+3=15<eos>", add_special_tokens=False)["input_ids"]
    assert ids[-1] == tokenizer.eos_token_id and len(ids) == len("12+3=15") + 1
    assert tokenizer.decode(ids, skip_special_tokens=True) == "12+3=15"


def test_unknown_characters_become_unk(tokenizer):
    assert tokenizer("é", add_special_tokens=False)["input_ids"] == [tokenizer.unk_token_id]


def test_batches_are_padded_on_the_left(tokenizer):
    batch = tokenizer(["1+1=", "123+45="], padding=True)
    short, long = batch["input_ids"]
    assert short[:3] == [tokenizer.pad_token_id] * 3 and batch["attention_mask"][0] == [0, 0, 0, 1, 1, 1, 1, 1]
    assert short[3] == tokenizer.bos_token_id
    assert tokenizer.decode(short, skip_special_tokens=True) == "1+1="
    assert len(long) == 8


def test_padding_side_is_configurable():
    right = build_char_tokenizer(padding_side="right")
    assert right(["1=", "123="], padding=True)["input_ids"][0][-2:] == [right.pad_token_id] * 2


def test_chat_template_renders_role_lines(tokenizer):
    text = tokenizer.apply_chat_template([{"role": "user", "content": "2+2="}], tokenize=False,
                                         add_generation_prompt=True)
    assert text == "user: 2+2=\nassistant: "


def test_save_and_reload_keeps_the_tokenizer(tokenizer, tmp_path):
    from transformers import AutoTokenizer

    tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    text = "max(12,34)=34\n"
    assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert reloaded.decode(reloaded(text)["input_ids"], skip_special_tokens=True) == text
    assert reloaded.padding_side == "left"
