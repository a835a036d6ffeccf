"""Text-encoder fine-tuning on a tiny random BERT: it trains, saves a usable folder, reuses it."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on the network

import pytest
import torch

from mmfa.errors import ConfigError
from mmfa.features.text import TextFeatureExtractor, resolve_model, split_words
from mmfa.features.text_finetune import (
    DONE_FILE,
    FinetuneSettings,
    _encode,
    finetune_text_encoder,
)
from mmfa.manifest import Utterance

WORDS = {0: "great wonderful happy", 1: "awful terrible sad"}


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(resolve_model("minilm"), local_files_only=True).save_pretrained(
        folder
    )
    return folder


def utts(n: int, split: str, context: bool = False) -> list[Utterance]:
    return [
        Utterance(
            id=f"{split}{i}",
            audio_path=None,
            text=f"it was {WORDS[i % 2]}",
            label=i % 2,
            speaker="A",
            split=split,
            context=("B: what happened?",) if context else (),
        )
        for i in range(n)
    ]


def test_pair_layout_matches_the_tokenizer(tiny_bert: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert, local_files_only=True)
    utt = utts(1, "train", context=True)[0]
    ids, types, mask = _encode(tok, utt, max_length=64)
    ref = tok(split_words(" ".join(utt.context)), split_words(utt.text), is_split_into_words=True)
    assert ids == ref["input_ids"] and types == ref["token_type_ids"]
    # The pooled pieces are exactly the utterance's (segment 1, no special tokens).
    assert [i for i, m in zip(ids, mask, strict=True) if m] == tok(
        split_words(utt.text), is_split_into_words=True, add_special_tokens=False
    )["input_ids"]
    # Too long: the context gives way from its oldest end, the utterance stays whole.
    ids, _, mask = _encode(tok, utt, max_length=9)
    assert len(ids) <= 9 and sum(mask) == 5  # "it was awful terrible sad" -> 5 pieces


@pytest.mark.parametrize("context", [False, True])
def test_finetune_learns_saves_and_reuses(tiny_bert: Path, tmp_path: Path, context: bool) -> None:
    settings = FinetuneSettings(model=str(tiny_bert), epochs=3, lr=3e-3, batch_size=4)
    out = tmp_path / "ft"
    result = finetune_text_encoder(utts(16, "train", context), utts(6, "val", context), 2, out,
                                   settings)  # fmt: skip
    assert not result.reused and len(result.val_f1_w) == 3
    assert result.val_f1_w[result.best_epoch - 1] == max(result.val_f1_w)
    assert max(result.val_accuracy) == 1.0  # two word lists, one per class: learnable
    info = json.loads((out / DONE_FILE).read_text())
    assert info["best_epoch"] == result.best_epoch
    # The folder is a model folder for text.model, with its own content fingerprint.
    ex = TextFeatureExtractor(model=str(out))
    assert ex.dim == 32
    assert (
        ex.settings()["model_fingerprint"]
        != TextFeatureExtractor(model=str(tiny_bert)).settings()["model_fingerprint"]
    )
    again = finetune_text_encoder(utts(16, "train", context), utts(6, "val", context), 2, out,
                                  settings)  # fmt: skip
    assert again.reused and again.best_epoch == result.best_epoch


def test_bad_labels_and_settings_fail_clearly(tiny_bert: Path, tmp_path: Path) -> None:
    settings = FinetuneSettings(model=str(tiny_bert), epochs=1)
    bad = Utterance("train3", None, "x", 3, "A")
    with pytest.raises(ConfigError, match="train3.*label 3"):
        finetune_text_encoder([*utts(3, "train"), bad], utts(2, "val"), 2, tmp_path, settings)
    with pytest.raises(ConfigError, match="empty"):
        finetune_text_encoder(utts(4, "train"), [], 2, tmp_path, settings)
    with pytest.raises(ConfigError, match="epochs"):
        finetune_text_encoder(utts(4, "train"), utts(2, "val"), 2, tmp_path,
                              FinetuneSettings(epochs=0))  # fmt: skip
