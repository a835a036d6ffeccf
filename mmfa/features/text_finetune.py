"""Fine-tune the text encoder on a corpus's labels, then use it frozen as the text features.

The paper's text features come from a BERT that was never trained on emotions. A cheap, standard
way past that (COSMIC and DialogueRNN do it with RoBERTa) is two stages:

1. :func:`finetune_text_encoder`: train the encoder with a small classification head (mean of
   the utterance's word pieces -> dropout -> linear) on the train split, pick the epoch with the
   best validation weighted F1, and save that encoder (weights and tokenizer) as a model folder.
2. Use the folder as ``text.model``: :class:`~mmfa.features.text.TextFeatureExtractor` embeds
   with it, frozen, exactly as with the stock encoder, and the paper's network trains on those
   features unchanged. The feature cache is keyed by the folder's content, so features of
   different fine-tunes never mix.

Dialogue context (:attr:`~mmfa.manifest.Utterance.context`) is read the same way in both stages:
``[CLS] context [SEP] utterance [SEP]``, only the utterance's pieces pooled.

Only the train and validation utterances are read: the test split plays no part.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmfa.errors import ConfigError
from mmfa.features.text import resolve_model, split_words
from mmfa.manifest import Utterance

log = logging.getLogger(__name__)

#: Written last into the output folder: its presence means the folder is complete.
DONE_FILE = "mmfa_finetune.json"


@dataclass(frozen=True)
class FinetuneSettings:
    """Everything that changes the fine-tuned encoder (it names the output folder).

    Attributes:
        model: the encoder to start from (``"minilm"``, a local folder or a cached hub name).
        epochs: passes over the train split; the best epoch on validation is kept.
        lr: AdamW learning rate (linear warm-up over ``warmup`` of the steps, then linear decay).
        batch_size: utterances per step.
        max_length: most tokens per input, special tokens included (context is cut first, from
            its oldest end).
        weight_decay: AdamW weight decay.
        warmup: fraction of the steps spent warming up.
        dropout: dropout before the classification head.
        seed: seed of the head's initialisation, the batch order and dropout.
    """

    model: str = "minilm"
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    weight_decay: float = 0.01
    warmup: float = 0.1
    dropout: float = 0.1
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`ConfigError` for an unusable setting."""
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.max_length < 8:
            raise ConfigError(
                f"fine-tuning settings {asdict(self)}: epochs and batch_size must be >= 1, "
                "lr > 0 and max_length >= 8"
            )


@dataclass
class FinetuneResult:
    """What :func:`finetune_text_encoder` did.

    Attributes:
        folder: the saved encoder (use it as ``text.model``).
        best_epoch: the kept epoch (1-based).
        val_f1_w: validation weighted F1 after each epoch.
        val_accuracy: validation accuracy after each epoch.
        seconds: wall time of the fine-tuning.
        reused: the folder was already complete and was not trained again.
    """

    folder: Path
    best_epoch: int
    val_f1_w: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    reused: bool = False


def _encode(
    tokenizer: Any, utt: Utterance, max_length: int
) -> tuple[list[int], list[int], list[int]]:
    """Input ids, token type ids and the utterance mask (1 on the utterance's own pieces)."""
    text = tokenizer(split_words(utt.text), is_split_into_words=True, add_special_tokens=False)
    ids = text["input_ids"][: max_length - 3]
    context: list[int] = []
    if utt.context:
        words = split_words(" ".join(utt.context))
        context = tokenizer(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
        room = max_length - 3 - len(ids)
        context = context[len(context) - room :] if room > 0 else []
    # BERT's layout (what the tokenizer makes of a pair): [CLS] context [SEP] utterance [SEP],
    # token type 0 up to the first [SEP], 1 after it.
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    if context:
        input_ids = [cls, *context, sep, *ids, sep]
        types = [0] * (len(context) + 2) + [1] * (len(ids) + 1)
        mask = [0] * (len(context) + 2) + [1] * len(ids) + [0]
    else:
        input_ids = [cls, *ids, sep]
        types = [0] * len(input_ids)
        mask = [0] + [1] * len(ids) + [0]
    return input_ids, types, mask


def _batches(lengths: list[int], batch_size: int, generator: Any) -> list[list[int]]:
    """Shuffled batches of similar lengths (little padding): shuffle, sort in chunks, batch."""
    import torch

    order = torch.randperm(len(lengths), generator=generator).tolist()
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    perm = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in perm]


def _collate(encoded: list[tuple[list[int], list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(e[0]) for e in encoded)
    out = {
        name: torch.full((len(encoded), width), fill, dtype=torch.long)
        for name, fill in (("input_ids", pad_id), ("token_type_ids", 0), ("attention_mask", 0))
    }
    utt_mask = torch.zeros(len(encoded), width)
    for b, (ids, types, mask) in enumerate(encoded):
        out["input_ids"][b, : len(ids)] = torch.tensor(ids)
        out["token_type_ids"][b, : len(ids)] = torch.tensor(types)
        out["attention_mask"][b, : len(ids)] = 1
        utt_mask[b, : len(ids)] = torch.tensor(mask, dtype=torch.float)
    out["utt_mask"] = utt_mask
    return out


def _pooled(encoder: Any, batch: dict[str, Any]) -> Any:
    """(B, D) mean of the utterance's piece embeddings."""
    inputs = {k: v for k, v in batch.items() if k != "utt_mask"}
    hidden = encoder(**inputs).last_hidden_state  # (B, L, D)
    mask = batch["utt_mask"].unsqueeze(-1)  # (B, L, 1)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def finetune_text_encoder(
    train: Sequence[Utterance],
    val: Sequence[Utterance],
    num_classes: int,
    out_dir: Path,
    settings: FinetuneSettings | None = None,
    *,
    progress_every: int = 100,
) -> FinetuneResult:
    """Fine-tune a text encoder for classification and save the best epoch's encoder.

    Args:
        train: training utterances (integer labels ``0..num_classes-1``; ``context`` used).
        val: validation utterances: the epoch with the best weighted F1 on them is kept.
        num_classes: number of classes.
        out_dir: where the encoder is saved (``config.json``, weights, tokenizer files and
            :data:`DONE_FILE`); when it already holds a complete fine-tune of the same
            settings and data, that one is returned without training.
        settings: see :class:`FinetuneSettings` (defaults when ``None``).
        progress_every: log a line every this many steps.

    Returns:
        A :class:`FinetuneResult`; ``result.folder`` is a model folder for ``text.model``.

    Raises:
        ConfigError: bad settings, an empty split, or a label outside ``0..num_classes-1``.
    """
    import torch
    from torchmetrics.functional.classification import multiclass_accuracy, multiclass_f1_score
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    settings = settings or FinetuneSettings()
    settings.check()
    if not train or not val:
        raise ConfigError("fine-tuning needs train and validation utterances; one split is empty")
    for utt in (*train, *val):
        if not (isinstance(utt.label, int) and 0 <= utt.label < num_classes):
            raise ConfigError(
                f"utterance {utt.id}: label {utt.label!r} is not a class index below "
                f"{num_classes}; text fine-tuning supports single-label classification only"
            )
    out_dir = Path(out_dir)
    data_key = _data_key(train, val)
    done = out_dir / DONE_FILE
    if done.is_file():
        info = json.loads(done.read_text())
        if info.get("settings") == asdict(settings) and info.get("data") == data_key:
            log.info("text fine-tune: reusing %s", out_dir)
            return FinetuneResult(
                out_dir, info["best_epoch"], info["val_f1_w"], info["val_accuracy"],
                info["seconds"], reused=True,
            )  # fmt: skip

    t0 = time.perf_counter()
    torch.manual_seed(settings.seed)
    path = resolve_model(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    encoder = AutoModel.from_pretrained(path, local_files_only=True)
    head = torch.nn.Sequential(
        torch.nn.Dropout(settings.dropout), torch.nn.Linear(encoder.config.hidden_size, num_classes)
    )
    enc_train = [_encode(tokenizer, u, settings.max_length) for u in train]
    enc_val = [_encode(tokenizer, u, settings.max_length) for u in val]
    y_train = torch.tensor([int(u.label) for u in train])  # type: ignore[arg-type]
    y_val = torch.tensor([int(u.label) for u in val])  # type: ignore[arg-type]
    pad = tokenizer.pad_token_id or 0

    params = list(encoder.named_parameters()) + [
        (f"head.{n}", p) for n, p in head.named_parameters()
    ]
    no_decay = ("bias", "LayerNorm.weight", "LayerNorm.bias")
    groups = [
        {"params": [p for n, p in params if not n.endswith(no_decay)],
         "weight_decay": settings.weight_decay},
        {"params": [p for n, p in params if n.endswith(no_decay)], "weight_decay": 0.0},
    ]  # fmt: skip
    optimizer = torch.optim.AdamW(groups, lr=settings.lr)
    steps_per_epoch = math.ceil(len(train) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    schedule = get_linear_schedule_with_warmup(optimizer, int(settings.warmup * total), total)
    generator = torch.Generator().manual_seed(settings.seed)
    lengths = [len(e[0]) for e in enc_train]

    result = FinetuneResult(out_dir, best_epoch=0)
    best = -1.0
    step = 0
    for epoch in range(1, settings.epochs + 1):
        encoder.train()
        head.train()
        running = 0.0
        for batch_ids in _batches(lengths, settings.batch_size, generator):
            batch = _collate([enc_train[i] for i in batch_ids], pad)
            logits = head(_pooled(encoder, batch))
            loss = torch.nn.functional.cross_entropy(logits, y_train[batch_ids])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            running += loss.item()
            if step % progress_every == 0:
                log.info(
                    "text fine-tune: epoch %d step %d/%d loss %.4f (%.0f s)",
                    epoch, step, total, running / progress_every, time.perf_counter() - t0,
                )  # fmt: skip
                running = 0.0
        preds = _predict(encoder, head, enc_val, pad, settings.batch_size)
        f1 = float(multiclass_f1_score(preds, y_val, num_classes, average="weighted"))
        acc = float(multiclass_accuracy(preds, y_val, num_classes, average="micro"))
        result.val_f1_w.append(f1)
        result.val_accuracy.append(acc)
        log.info(
            "text fine-tune: epoch %d val weighted F1 %.4f accuracy %.4f (%.0f s)",
            epoch, f1, acc, time.perf_counter() - t0,
        )  # fmt: skip
        if f1 > best:
            best, result.best_epoch = f1, epoch
            out_dir.mkdir(parents=True, exist_ok=True)
            done.unlink(missing_ok=True)
            encoder.save_pretrained(out_dir)
            tokenizer.save_pretrained(out_dir)
    result.seconds = time.perf_counter() - t0
    done.write_text(
        json.dumps(
            {
                "settings": asdict(settings),
                "data": data_key,
                "best_epoch": result.best_epoch,
                "val_f1_w": result.val_f1_w,
                "val_accuracy": result.val_accuracy,
                "seconds": result.seconds,
            },
            indent=1,
        )
    )
    return result


def _predict(encoder: Any, head: Any, encoded: list, pad: int, batch_size: int) -> Any:
    import torch

    encoder.eval()
    head.eval()
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    preds = torch.empty(len(encoded), dtype=torch.long)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size * 2):
            idx = order[start : start + batch_size * 2]
            batch = _collate([encoded[i] for i in idx], pad)
            preds[idx] = head(_pooled(encoder, batch)).argmax(-1)
    return preds


def _data_key(train: Sequence[Utterance], val: Sequence[Utterance]) -> str:
    """A hash of the ids, texts, contexts and labels the fine-tune learns and selects on."""
    import hashlib

    h = hashlib.sha256()
    for split, utts in (("train", train), ("val", val)):
        for u in utts:
            h.update(json.dumps([split, u.id, u.text, list(u.context), u.label]).encode())
    return h.hexdigest()[:16]
