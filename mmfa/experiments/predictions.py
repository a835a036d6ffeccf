"""Per-fold test predictions on disk, so every reported number can be recomputed."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import torch


def collect_predictions(model: Any) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """Manifest indices, scores and targets from the task's last test run, in manifest order.

    Under DDP the task has already gathered every rank's outputs (see EmotionTask).
    """
    outputs = model.test_outputs
    if not outputs:
        raise RuntimeError("the model holds no test outputs: run trainer.test first")
    index = torch.cat([o["index"] for o in outputs])
    scores = torch.cat([o["scores"] for o in outputs])
    target = torch.cat([o["target"] for o in outputs])
    order = torch.argsort(index)
    return index[order].tolist(), scores[order], target[order]


def write_predictions(path: Path, model: Any, datamodule: Any) -> int:
    """Write ``predictions.csv`` (format in mmfa.experiments.report). Returns the row count."""
    index, scores, target = collect_predictions(model)
    names = list(datamodule.class_names)
    task = datamodule.task_type
    if task == "multiclass":
        header = ["id", "target"] + [f"score_{n}" for n in names]
    elif task == "multilabel":
        header = ["id"] + [f"target_{n}" for n in names] + [f"score_{n}" for n in names]
    else:
        header = ["id", "target", "score"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, pos in enumerate(index):
            uid = datamodule.utterances[pos].id
            if task == "multiclass":
                row = [uid, int(target[i])] + [f"{v:.6f}" for v in scores[i].tolist()]
            elif task == "multilabel":
                row = [uid] + [int(v) for v in target[i].tolist()]
                row += [f"{v:.6f}" for v in scores[i].tolist()]
            else:
                row = [uid, f"{float(target[i]):.6f}", f"{float(scores[i]):.6f}"]
            writer.writerow(row)
    return len(index)
