"""The word-level tokenizer of the tiny vision student, built locally from a world's vocabulary.

One token per word of ``vocabulary`` (lower-cased; punctuation such as ``?`` is its own word), plus
``<pad>``, ``<bos>``, ``<eos>``, ``<unk>`` and the ``<image>`` placeholder that the LLaVA processor
expands into one token per image patch. Text is lower-cased and split on whitespace and punctuation
before lookup, so ``"What colour is the circle?"`` is six tokens; a word outside the vocabulary is
``<unk>``. Nothing is added around the text (no automatic ``<bos>``): the image tokens open every
prompt, and TRL's vision collator tokenizes without special tokens anyway. Decoding joins words with
spaces. It is a ``tokenizers`` pipeline wrapped as ``PreTrainedTokenizerFast``, so the processor,
TRL and ``save_pretrained`` treat it like any Hugging Face tokenizer.
This module knows nothing about models or tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from teachenv.core.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

PAD, BOS, EOS, UNK, IMAGE = "<pad>", "<bos>", "<eos>", "<unk>", "<image>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, BOS, EOS, UNK, IMAGE)


def build_word_tokenizer(vocabulary: Iterable[str]) -> PreTrainedTokenizerFast:
    """A left-padding word tokenizer over ``vocabulary`` (order-independent: words are sorted)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w.lower() for w in vocabulary} - set(SPECIAL_TOKENS))
    if not words or any(not w or any(c.isspace() for c in w) for w in words):
        raise ConfigError(f"A word vocabulary needs non-empty words without spaces, got {words[:10]}...")
    vocab = {token: i for i, token in enumerate((*SPECIAL_TOKENS, *words))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()  # words and runs of punctuation
    core.decoder = decoders.WordPiece(prefix="##", cleanup=False)  # joins words with spaces
    core.add_special_tokens(list(SPECIAL_TOKENS))
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        extra_special_tokens={"image_token": IMAGE},
        padding_side="left",
        clean_up_tokenization_spaces=False,
        model_max_length=1_000_000,
    )
