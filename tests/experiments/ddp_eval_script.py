"""Evaluate one checkpoint on odd-sized val/test sets with N processes; write the numbers as JSON.

Driven by ``test_ddp.py`` (not a test itself). Two modes:

- ``--train`` (single process only): extract the features into ``--cache``, run a short
  deterministic fit and save the weights to ``--ckpt``; then evaluate as below.
- otherwise: only load ``--ckpt`` and evaluate, with ``strategy="ddp"`` when ``--devices`` > 1.

Either way the evaluation is ``trainer.validate`` then ``trainer.test`` with ``ckpt_path``, so a
1-process and a 2-process run evaluate identical weights. Rank 0 writes ``--out``: every ``val/``
and ``test/`` metric, the gathered test predictions (sorted by id), the confusion matrix, the split
sizes and each rank's feature report (how many features it extracted and reused).

The splits are made odd and uneven across 2 ranks with batches of 4: validation 23 utterances
(ranks get 12 and 11: 3 batches each, ragged last batches), test 17 (ranks get 9 and 8: 3 batches
against 2).
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch

from mmfa.datamodules.synthetic import SyntheticDataModule
from mmfa.manifest import Utterance
from mmfa.models.task import EmotionTask

#: Utterances left out of each split (the first ones in manifest order) to make its size odd.
DROP = {"val": 1, "test": 7}
BATCH_SIZE = 4
SEED = 0


class OddSplitsDataModule(SyntheticDataModule):
    """The small synthetic corpus (6 speakers x 12) with the first ``DROP[split]`` ids left out."""

    def __init__(self, **kwargs: Any) -> None:
        self._dropped: set[str] | None = None
        super().__init__(**kwargs)

    def split_of(self, utt: Utterance) -> str:
        split = SyntheticDataModule.split_of(self, utt)
        if self._dropped is None:
            self._dropped = set()
            for name, count in DROP.items():
                ids = [
                    u.id for u in self.utterances if SyntheticDataModule.split_of(self, u) == name
                ]
                self._dropped.update(ids[:count])
        return "" if utt.id in self._dropped else split


def _number(value: Any) -> float:
    number = float(value)
    if math.isnan(number):
        raise ValueError("a metric is NaN")
    return number


def _report(dm: OddSplitsDataModule) -> dict[str, Any]:
    report = dm.feature_report
    assert report is not None
    return {"extracted": dict(report.extracted), "reused": dict(report.reused)}


def _trainer(devices: int, root: Path, **kwargs: Any) -> L.Trainer:
    from mmfa.callbacks.predictions import PredictionWriter

    kwargs.setdefault("callbacks", [PredictionWriter(str(root / f"predictions-{devices}"))])
    return L.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy="ddp" if devices > 1 else "auto",
        deterministic=True,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
        **kwargs,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1)
    parser.add_argument("--out", required=True, help="JSON written by rank 0")
    parser.add_argument("--cache", required=True, help="feature cache (and corpus) folder")
    parser.add_argument("--ckpt", required=True, help="checkpoint written (--train) or read")
    parser.add_argument("--train", action="store_true", help="fit briefly and save --ckpt first")
    args = parser.parse_args()
    if args.train and args.devices != 1:
        parser.error("--train is single-process: the DDP run must only evaluate")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*Consider setting `persistent_workers.*")

    root = Path(args.out).parent
    L.seed_everything(SEED, workers=True, verbose=False)
    dm = OddSplitsDataModule(
        num_speakers=6,
        utterances_per_speaker=12,
        batch_size=BATCH_SIZE,
        cache_dir=args.cache,
        extract_workers=1,
        seed=SEED,
    )
    model = EmotionTask(
        audio_dim=dm.audio_dim,
        text_dim=dm.text_dim,
        num_outputs=dm.num_outputs,
        class_names=list(dm.class_names),
    )
    if args.train:
        fit = _trainer(
            1,
            root,
            max_epochs=1,
            limit_train_batches=2,
            limit_val_batches=0,
            num_sanity_val_steps=0,
        )
        fit.fit(model, datamodule=dm)
        fit.save_checkpoint(args.ckpt)

    trainer = _trainer(args.devices, root)
    val = trainer.validate(model, datamodule=dm, ckpt_path=args.ckpt, verbose=False)
    test = trainer.test(model, datamodule=dm, ckpt_path=args.ckpt, verbose=False)

    reports = [_report(dm)]
    if trainer.world_size > 1:
        reports = [None] * trainer.world_size  # type: ignore[list-item]
        torch.distributed.all_gather_object(reports, _report(dm))
    if not trainer.is_global_zero:
        return

    # What the prediction writer callback gathered from every rank and wrote on rank 0.
    csv_path = root / f"predictions-{args.devices}" / "predictions.csv"
    ids, target_array, score_array = model.problem.read_predictions(csv_path, dm.class_names)
    predictions = dict(zip(ids, score_array.tolist(), strict=True))
    targets = dict(zip(ids, target_array.tolist(), strict=True))
    count = len(ids)
    from sklearn.metrics import confusion_matrix

    confusion = confusion_matrix(
        target_array, score_array.argmax(1), labels=range(len(dm.class_names))
    )
    metrics = {
        key: _number(value)
        for result in (*val, *test)
        for key, value in result.items()
        if key.startswith(("val/", "test/"))
    }
    payload = {
        "devices": args.devices,
        "world_size": trainer.world_size,
        "sizes": {split: len(refs) for split, refs in dm.refs.items()},
        "metrics": dict(sorted(metrics.items())),
        "num_predictions": count,  # before de-duplication by id: repeats would show here
        "ids": sorted(predictions),
        "scores": [predictions[i] for i in sorted(predictions)],
        "targets": [targets[i] for i in sorted(predictions)],
        "confusion": confusion.tolist(),
        "feature_reports": reports,
    }
    Path(args.out).write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
