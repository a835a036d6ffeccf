"""The train and validation utterances of any mmfa datamodule, tokenised as the text front-end.

:func:`corpus_splits` reads the manifest of the datamodule a config names (MELD, IEMOCAP, a
plugin...) and its current fold's train and val splits; no feature is extracted and the test
split is never read. :func:`encode` tokenises one utterance exactly as
:class:`~mmfa.features.text.TextFeatureExtractor` does (words split on whitespace; with dialogue
context the pair ``[CLS] context [SEP] utterance [SEP]``, the oldest context words dropped first
to fit ``max_length``) and marks the utterance's own pieces, the ones the head pools.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from mmfa.datamodules.base import EmotionDataModule
from mmfa.datamodules.sampler import BucketBatchSampler
from mmfa.datamodules.validation import check_manifest
from mmfa.errors import ConfigError
from mmfa.features.text import split_words
from mmfa.manifest import Utterance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Encoded:
    """One tokenised utterance.

    Attributes:
        input_ids: word-piece ids, special tokens included.
        token_type_ids: segment of each piece (``None`` when the tokenizer has none, e.g. RoBERTa).
        utterance_mask: 1 on the utterance's own pieces (what is pooled), 0 elsewhere.
    """

    input_ids: list[int]
    token_type_ids: list[int] | None
    utterance_mask: list[int]


def corpus_splits(corpus: EmotionDataModule) -> tuple[list[Utterance], list[Utterance]]:
    """The current fold's train and val utterances of a datamodule (its test split is not read).

    Raises:
        ConfigError: the datamodule is not single-label classification, or a split is empty.
    """
    name = type(corpus).__name__
    if corpus.task_type != "multiclass":
        raise ConfigError(
            f"{name}: task_type {corpus.task_type!r}; text fine-tuning supports single-label "
            "classification (multiclass) only"
        )
    _ = corpus.fold  # a bad data.fold fails here
    utterances = corpus.load_manifest()
    check_manifest(
        utterances, owner=name, class_names=corpus.class_names, task_type=corpus.task_type
    )
    splits: dict[str, list[Utterance]] = {"train": [], "val": []}
    for utt in utterances:
        split = corpus.split_of(utt)
        if split in splits:
            splits[split].append(utt)
    for split, utts in splits.items():
        if not utts:
            raise ConfigError(
                f"{name}: the {split} split is empty; text fine-tuning trains on train and "
                "selects on val (check data.root and data.fold)"
            )
    return splits["train"], splits["val"]


def data_key(train: Sequence[Utterance], val: Sequence[Utterance]) -> str:
    """A hash of the ids, texts, contexts and labels the fine-tune learns and selects on."""
    h = hashlib.sha256()
    for split, utts in (("train", train), ("val", val)):
        for u in utts:
            h.update(json.dumps([split, u.id, u.text, list(u.context), u.label]).encode())
    return h.hexdigest()[:16]


def encode(tokenizer: Any, utt: Utterance, max_length: int) -> Encoded | None:
    """Tokenise one utterance as the text front-end does; ``None`` when it has no word piece.

    Context words are kept whole, the latest first, while they fit beside the utterance; an
    utterance that alone fills ``max_length`` gets no context and is truncated.
    """
    words = split_words(utt.text)
    if not words:
        return None
    n_pieces = len(tokenizer(words, is_split_into_words=True, add_special_tokens=False).input_ids)
    if n_pieces == 0:
        return None
    context = _fitting_context(tokenizer, utt.context, n_pieces, max_length)
    if context:
        enc = tokenizer(context, words, is_split_into_words=True)
        segment = 1
    else:
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        segment = 0
    mask = [
        int(w is not None and s == segment)
        for w, s in zip(enc.word_ids(), enc.sequence_ids(), strict=True)
    ]
    return Encoded(list(enc["input_ids"]), enc.get("token_type_ids"), mask)


def _fitting_context(
    tokenizer: Any, turns: Sequence[str], n_pieces: int, max_length: int
) -> list[str]:
    """The context words that fit beside an utterance of ``n_pieces``, as the front-end's.

    Whole words, the latest first; words the tokenizer drops are left out.
    """
    if not any(t.strip() for t in turns):
        return []
    words = split_words(" ".join(turns))
    enc = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    per_word = [0] * len(words)
    for w in enc.word_ids():
        if w is not None:
            per_word[w] += 1
    room = max_length - tokenizer.num_special_tokens_to_add(pair=True) - n_pieces
    first, used = len(per_word), 0
    while first > 0 and used + per_word[first - 1] <= room:
        first -= 1
        used += per_word[first]
    return [w for w, n in zip(words[first:], per_word[first:], strict=True) if n]


class _Encoded(Dataset):
    def __init__(self, items: list[tuple[Encoded, int]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Encoded, int]:
        return self.items[index]


def collate(items: Sequence[tuple[Encoded, int]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch into tensors.

    Returns:
        ``input_ids``, ``attention_mask``, ``token_type_ids`` (when every item has them),
        ``utterance_mask`` (float) and ``labels``, each (B, L) but ``labels`` (B,).
    """
    width = max(len(e.input_ids) for e, _ in items)
    batch = {
        "input_ids": torch.full((len(items), width), pad_id, dtype=torch.long),
        "attention_mask": torch.zeros(len(items), width, dtype=torch.long),
        "utterance_mask": torch.zeros(len(items), width),
        "labels": torch.tensor([label for _, label in items]),
    }
    with_types = all(e.token_type_ids is not None for e, _ in items)
    if with_types:
        batch["token_type_ids"] = torch.zeros(len(items), width, dtype=torch.long)
    for b, (e, _) in enumerate(items):
        n = len(e.input_ids)
        batch["input_ids"][b, :n] = torch.tensor(e.input_ids)
        batch["attention_mask"][b, :n] = 1
        batch["utterance_mask"][b, :n] = torch.tensor(e.utterance_mask, dtype=torch.float)
        if with_types:
            batch["token_type_ids"][b, :n] = torch.tensor(e.token_type_ids)
    return batch


class TextClassificationData(L.LightningDataModule):
    """Tokenised train and val utterances in batches, for the fine-tuning module.

    Training batches are length-bucketed (:class:`~mmfa.datamodules.sampler.BucketBatchSampler`:
    shuffled per epoch, seeded, DDP-aware), so little time goes on padding; validation batches
    are sorted by length (the order does not change a metric).

    Args:
        train: training utterances (integer labels).
        val: validation utterances: the fine-tune is selected on them.
        tokenizer: the tokenizer's folder or name (loaded offline).
        max_length: most tokens per input, special tokens included (``text.max_length``).
        batch_size: utterances per training batch.
        seed: seed of the batch order.
    """

    def __init__(
        self,
        train: Sequence[Utterance],
        val: Sequence[Utterance],
        tokenizer: str,
        max_length: int = 256,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.utterances = {"train": list(train), "val": list(val)}
        self.tokenizer_name = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.seed = seed
        self.datasets: dict[str, _Encoded] = {}
        self.pad_id = 0

    def setup(self, stage: str | None = None) -> None:
        """Tokenise both splits (once); utterances without a word piece are left out."""
        if self.datasets:
            return
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_name, local_files_only=True)
        self.pad_id = tokenizer.pad_token_id or 0
        for split, utts in self.utterances.items():
            items = []
            for utt in utts:
                encoded = encode(tokenizer, utt, self.max_length)
                if encoded is not None:
                    items.append((encoded, int(utt.label)))  # type: ignore[arg-type]
            if len(items) < len(utts):
                log.warning(
                    "text fine-tune: %d %s utterances have no word piece and are left out",
                    len(utts) - len(items), split,
                )  # fmt: skip
            self.datasets[split] = _Encoded(items)

    def _collate(self, items: Sequence[tuple[Encoded, int]]) -> dict[str, torch.Tensor]:
        return collate(items, self.pad_id)

    def _world(self) -> tuple[int, int]:
        try:
            trainer = self.trainer
        except RuntimeError:  # no trainer attached
            return 1, 0
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def train_dataloader(self) -> DataLoader:
        """Shuffled, length-bucketed training batches."""
        dataset = self.datasets["train"]
        world, rank = self._world()
        sampler = BucketBatchSampler(
            None,
            self.batch_size,
            lengths=[len(e.input_ids) for e, _ in dataset.items],
            seed=self.seed,
            num_replicas=world,
            rank=rank,
        )
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=self._collate)

    def val_dataloader(self) -> DataLoader:
        """Validation batches, sorted by length; under DDP each utterance on exactly one rank."""
        dataset = self.datasets["val"]
        order = sorted(range(len(dataset)), key=lambda i: len(dataset.items[i][0].input_ids))
        by_length = torch.utils.data.Subset(dataset, order)
        sampler = None
        world, rank = self._world()
        if world > 1:
            # Lightning's default DistributedSampler repeats samples to even out the ranks,
            # which would skew the selection metric; this one gives each to one rank.
            from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler

            sampler = UnrepeatedDistributedSampler(
                by_length, num_replicas=world, rank=rank, shuffle=False
            )
        return DataLoader(
            by_length,
            batch_size=self.batch_size * 2,
            shuffle=False,
            sampler=sampler,
            collate_fn=self._collate,
        )
