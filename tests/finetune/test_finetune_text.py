"""``mmfa finetune-text`` on a tiny random BERT: tokenised as the text front-end, layer-wise
learning rates, it learns, selects on val only, writes a folder the front-end loads, reuses it."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on the network

import lightning as L
import pytest
import torch

from mmfa.features.text import TextFeatureExtractor, resolve_model, split_words
from mmfa.finetune import DONE_FILE
from mmfa.finetune.data import TextClassificationData, collate, corpus_splits, encode
from mmfa.finetune.module import TextFinetuneModule
from mmfa.manifest import Utterance

WORDS = {0: "great wonderful happy", 1: "awful terrible sad"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
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
            context=("B: what happened?", "A: well, you will not believe it") if context else (),
        )
        for i in range(n)
    ]


def test_pair_layout_matches_the_tokenizer(tiny_bert: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert, local_files_only=True)
    utt = utts(2, "train", context=True)[1]
    enc = encode(tok, utt, max_length=64)
    assert enc is not None
    ref = tok(split_words(" ".join(utt.context)), split_words(utt.text), is_split_into_words=True)
    assert enc.input_ids == ref["input_ids"] and enc.token_type_ids == ref["token_type_ids"]
    # The pooled pieces are exactly the utterance's (segment 1, no special tokens).
    mine = [i for i, m in zip(enc.input_ids, enc.utterance_mask, strict=True) if m]
    assert mine == tok(split_words(utt.text), add_special_tokens=False,
                       is_split_into_words=True)["input_ids"]  # fmt: skip
    # Too long: whole context words give way from the oldest end; the utterance stays whole.
    short = encode(tok, utt, max_length=12)
    assert short is not None and len(short.input_ids) <= 12 and sum(short.utterance_mask) == 5
    assert encode(tok, Utterance("e", None, "  ", 0, "A"), 16) is None


def test_pooled_pieces_are_the_text_front_ends(tiny_bert: Path) -> None:
    """The head reads the mean of the very rows the front-end returns (same pieces, same pairs)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert, local_files_only=True)
    batch = [*utts(2, "val"), *utts(2, "val", context=True)]
    max_length = 14  # cuts the context of the longer pair
    front = TextFeatureExtractor(model=str(tiny_bert), pooling="token", max_length=max_length)
    texts, ids, contexts = (
        [u.text for u in batch],
        [u.id for u in batch],
        [u.context for u in batch],
    )
    rows = dict(front.extract_many(texts, ids, contexts=contexts, progress=False))
    assert front.context_trimmed > 0
    module = TextFinetuneModule(encoder=str(tiny_bert), num_classes=2).eval()
    enc = [encode(tok, u, max_length) for u in batch]
    padded = collate([(e, 0) for e in enc if e is not None], tok.pad_token_id)
    with torch.no_grad():
        inputs = {k: padded[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        hidden = module.encoder(**inputs).last_hidden_state
    for b in range(len(batch)):
        mask = padded["utterance_mask"][b].bool()
        assert int(mask.sum()) == len(rows[b])
        torch.testing.assert_close(hidden[b, mask], torch.from_numpy(rows[b]),
                                   atol=1e-5, rtol=1e-4)  # fmt: skip


def test_layer_decay_scales_each_layer_below_the_top(tiny_bert: Path) -> None:
    module = TextFinetuneModule(encoder=str(tiny_bert), num_classes=2, lr=1.0, layer_decay=0.5)
    lr_of = {}
    for group in module.parameter_groups():
        for p in group["params"]:
            lr_of[id(p)] = (group["lr"], group["weight_decay"])
    named = dict(module.named_parameters())
    assert lr_of[id(named["head.1.weight"])] == (1.0, 0.01)
    assert lr_of[id(named["encoder.encoder.layer.1.output.dense.weight"])][0] == 0.5
    assert lr_of[id(named["encoder.encoder.layer.0.output.dense.weight"])][0] == 0.25
    assert lr_of[id(named["encoder.embeddings.word_embeddings.weight"])][0] == 0.125
    assert lr_of[id(named["encoder.embeddings.LayerNorm.weight"])] == (0.125, 0.0)
    assert sum(len(g["params"]) for g in module.parameter_groups()) == len(named)


def test_module_learns_a_learnable_task(tiny_bert: Path) -> None:
    L.seed_everything(0)
    module = TextFinetuneModule(encoder=str(tiny_bert), num_classes=2, lr=3e-3, warmup=0.0)
    data = TextClassificationData(utts(16, "train", True), utts(6, "val", True), str(tiny_bert),
                                  max_length=64, batch_size=4)  # fmt: skip
    trainer = L.Trainer(max_epochs=3, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(module, datamodule=data)
    assert float(trainer.callback_metrics["val/WA"]) == 1.0  # two word lists, one per class


@pytest.fixture(scope="module")
def fake_meld(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mmfa.testing.fakes.meld import write_fake_meld

    return write_fake_meld(tmp_path_factory.mktemp("meld"))


def _command(
    meld: Path, bert: Path, tmp_path: Path, *extra: str, corpus: str = "meld_7class.yaml"
) -> list[str]:
    return [
        f"--config={REPO / 'configs' / corpus}",
        f"--config={REPO / 'configs' / 'recipe' / 'finetune_text.yaml'}",
        f"--data.root={meld}",
        f"--data.text.init_args.model={bert}",
        "--data.context_turns=1",
        "--trainer.max_epochs=3",
        "--trainer.accelerator=cpu",
        "--trainer.logger=mmfa.loggers.CSVLogger",
        f"--trainer.logger.save_dir={tmp_path / 'logs'}",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--finetune.lr=1e-3",
        "--finetune.batch_size=4",
        f"--out={tmp_path / 'encoder'}",
        *extra,
    ]


def test_command_selects_on_val_writes_a_text_model_and_reuses_it(
    fake_meld: Path, tiny_bert: Path, tmp_path: Path
) -> None:
    from mmfa.cli import main
    from mmfa.datamodules.meld import MELDDataModule
    from mmfa.finetune.command import finetune_text_main

    main(["finetune-text", *_command(fake_meld, tiny_bert, tmp_path)])
    out = tmp_path / "encoder"
    record = json.loads((out / DONE_FILE).read_text())
    f1 = [e["val/F1_w"] for e in record["val_per_epoch"]]
    assert len(f1) == 3 and record["best_epoch"] == f1.index(max(f1))
    assert record["best_val_F1_w"] == pytest.approx(max(f1), abs=1e-6)
    # Only train and val were read: the data key changes with neither test text nor label.
    corpus = MELDDataModule(root=str(fake_meld), use_audio=False, context_turns=1)
    train, val = corpus_splits(corpus)
    assert {u.split for u in train} == {"train"} and {u.split for u in val} == {"val"}
    # The folder is a model folder for data.text.init_args.model, with its own fingerprint.
    front = TextFeatureExtractor(model=str(out))
    assert front.dim == 32
    stock = TextFeatureExtractor(model=str(tiny_bert)).settings()["model_fingerprint"]
    assert front.settings()["model_fingerprint"] != stock
    # The same settings and data again: reused, not trained; other settings: trained again.
    again = finetune_text_main(_command(fake_meld, tiny_bert, tmp_path))
    assert again["reused"] and again["best_epoch"] == record["best_epoch"]
    other = finetune_text_main(_command(fake_meld, tiny_bert, tmp_path, "--trainer.max_epochs=1"))
    assert not other["reused"] and len(other["val_per_epoch"]) == 1


def test_command_refuses_a_text_less_config(
    fake_meld: Path, tiny_bert: Path, tmp_path: Path
) -> None:
    from mmfa.errors import ConfigError
    from mmfa.finetune.command import finetune_text_main

    # Any corpus config reads: the sections only mmfa fit uses are accepted and left alone.
    text_config = "meld_7class_text_context.yaml"
    with pytest.raises(ConfigError, match="use_text"):
        finetune_text_main(
            _command(fake_meld, tiny_bert, tmp_path, "--data.use_text=false", corpus=text_config)
        )
