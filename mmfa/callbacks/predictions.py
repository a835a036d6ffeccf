"""Test and predict outputs on disk: one ``predictions.csv`` per run, from every DDP rank.

The task's ``test_step``/``predict_step`` return ``{"index", "scores"[, "target"]}`` per batch;
this callback collects them, gathers them from every rank at the end of the epoch (ranks hold
different numbers of utterances under the unrepeated evaluation sampler, so Python objects are
gathered, not equal-shaped tensors), puts them in manifest order and writes them on rank zero.
``mmfa fit`` (its test of the best checkpoint), ``mmfa test`` and ``mmfa cv`` all write the same
file, which :mod:`mmfa.experiments.report` reads.

Columns (from :mod:`mmfa.problem`):

- test: ``id``, the target column(s), the score column(s), then ``prediction``
  (multiclass ``target, score_<class>..., prediction``; multilabel ``target_<label>...,
  score_<label>..., prediction`` with the labels scored above 0.5 joined by ``+``; regression
  ``target, score, prediction``);
- predict: ``id, path, text``, ``start, end`` (seconds) for windows of long recordings,
  ``prediction``, ``label`` when the inputs gave gold labels, the score column(s), then
  ``modalities`` (what the model used: ``audio+text``, ``audio`` or ``text``).
  ``mmfa predict --out FILE`` writes it as CSV or, for a ``.jsonl`` name, as JSON lines.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

log = logging.getLogger(__name__)

TEST_FILE = "predictions.csv"
#: The predicted class (multilabel: labels joined by ``+``; regression: the value), last column.
PREDICTION_COLUMN = "prediction"
PREDICT_FILE = "predict.csv"


class PredictionWriter(BasePredictionWriter):
    """Write ``predictions.csv`` (test) and ``predict.csv`` (predict) into the run's folder.

    Args:
        dirpath: the folder; ``None``: the trainer's ``log_dir`` (the logger's version folder),
            else its ``default_root_dir``.
        predict_file: where predict writes instead of ``<dirpath>/predict.csv``: a ``.csv`` or
            ``.jsonl`` path; ``""``: keep the rows in :attr:`rows` only, write nothing.
    """

    def __init__(self, dirpath: str | None = None, predict_file: str | None = None) -> None:
        super().__init__(write_interval="batch")
        self.dirpath = dirpath
        self.predict_file = predict_file
        self._outputs: list[dict[str, Any]] = []
        #: Where the last file was written (None before any write, and on ranks other than 0).
        self.last_path: Path | None = None
        #: The last prediction run's rows, in input order (rank zero).
        self.rows: list[dict[str, Any]] = []

    # -- test ----------------------------------------------------------------------------------
    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Forget an earlier test run's outputs."""
        self._outputs = []

    def on_test_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Keep one batch's outputs (what ``test_step`` returned)."""
        if isinstance(outputs, dict) and "index" in outputs:
            self._outputs.append(outputs)

    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Gather every rank's outputs and write ``predictions.csv`` on rank zero."""
        outputs = self._gathered(trainer)
        # log_dir is broadcast from rank zero: every rank must ask for it (asked on rank zero
        # alone, `mmfa fit` under DDP waited forever at the end of its test).
        folder = self.folder(trainer)
        if trainer.is_global_zero and outputs:
            self.last_path = self._write_test(trainer, pl_module, outputs, folder)

    # -- predict -------------------------------------------------------------------------------
    def on_predict_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Forget an earlier prediction run's outputs."""
        self._outputs = []

    def write_on_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        prediction: Any,
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        """Keep one batch's predictions (what ``predict_step`` returned)."""
        if isinstance(prediction, dict) and "index" in prediction:
            self._outputs.append(prediction)

    def on_predict_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Gather every rank's predictions; write them on rank zero."""
        outputs = self._gathered(trainer)
        # Every rank asks for the folder: trainer.log_dir is a collective under DDP.
        path = None
        if self.predict_file != "":
            path = Path(self.predict_file or self.folder(trainer) / PREDICT_FILE)
        if trainer.is_global_zero:
            dm = trainer.datamodule  # type: ignore[attr-defined]
            self.rows = predict_rows(dm, pl_module, outputs) if outputs else []
            if path is not None:
                self.last_path = write_rows(path, self.rows)

    # -- machinery -----------------------------------------------------------------------------
    def _gathered(self, trainer: L.Trainer) -> list[dict[str, torch.Tensor]]:
        outputs = self._outputs
        self._outputs = []
        if trainer.world_size > 1 and torch.distributed.is_initialized():
            parts: list[Any] = [None] * trainer.world_size
            torch.distributed.all_gather_object(parts, outputs)
            outputs = [o for part in parts for o in part]
        return outputs

    def folder(self, trainer: L.Trainer) -> Path:
        """Where the files go (see ``dirpath``)."""
        return Path(self.dirpath or trainer.log_dir or trainer.default_root_dir)

    def _write_test(
        self,
        trainer: L.Trainer,
        pl_module: Any,
        outputs: list[dict[str, torch.Tensor]],
        folder: Path,
    ) -> Path:
        index, scores, target = _ordered(outputs, "target")
        assert target is not None
        problem, names = pl_module.problem, list(pl_module.class_names)
        utterances = trainer.datamodule.utterances  # type: ignore[attr-defined]
        # The predicted class after the scores: readers go by column name, so it adds no risk.
        header = [
            "id",
            *problem.target_columns(names),
            *problem.score_columns(names),
            PREDICTION_COLUMN,
        ]
        predicted = problem.predicted(scores.float().numpy(), names)
        rows = [
            [
                utterances[pos].id,
                *problem.target_cells(target[i]),
                *problem.score_cells(scores[i]),
                predicted[i],
            ]
            for i, pos in enumerate(index)
        ]
        return self._write(folder / TEST_FILE, header, rows)

    @staticmethod
    def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        tmp.replace(path)  # readers never see a half-written file
        log.info("%d predictions written to %s", len(rows), path)
        return path


def predict_rows(
    datamodule: Any, pl_module: Any, outputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of a prediction run, in input order (the schema in the module docstring)."""
    index, scores, _ = _ordered(outputs, None)
    modalities = _ordered_modalities(outputs)
    problem, names = pl_module.problem, list(pl_module.class_names)
    utterances = datamodule.utterances
    labels = getattr(datamodule, "labels", None) or [None] * len(utterances)
    with_labels = any(labels[pos] is not None for pos in index)
    segmented = any(utterances[pos].start is not None for pos in index)
    predicted = problem.predicted(scores.numpy(), names)
    score_columns = problem.score_columns(names)
    rows = []
    for i, pos in enumerate(index):
        utt = utterances[pos]
        row: dict[str, Any] = {
            "id": utt.id,
            "path": "" if utt.audio_path is None else str(utt.audio_path),
            "text": utt.text,
        }
        if segmented:  # a long recording cut into windows (mmfa predict --window)
            row["start"], row["end"] = utt.start, utt.end
        row["prediction"] = predicted[i]
        if with_labels:
            row["label"] = labels[pos] if labels[pos] is not None else ""
        values = scores[i].reshape(-1).tolist()
        row.update(zip(score_columns, values, strict=True))
        row["modalities"] = modalities[i]
        rows.append(row)
    return rows


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Prediction rows as CSV, or as JSON lines for a ``.jsonl`` name; scores to 6 decimals."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        if path.suffix.lower() == ".jsonl":
            for row in rows:
                plain = {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}
                handle.write(json.dumps(plain, ensure_ascii=False) + "\n")
        else:
            writer = csv.writer(handle)
            writer.writerow(list(rows[0]) if rows else ["id"])
            writer.writerows([[_cell(v) for v in r.values()] for r in rows])
    tmp.replace(path)  # readers never see a half-written file
    log.info("%d rows written to %s", len(rows), path)
    return path


def _cell(value: Any) -> Any:
    """A CSV cell: scores with 6 decimals, as in ``predictions.csv``."""
    return f"{value:.6f}" if isinstance(value, float) else value


def _ordered(
    outputs: list[dict[str, Any]], target_key: str | None
) -> tuple[list[int], torch.Tensor, torch.Tensor | None]:
    """Manifest positions, scores and targets of every output, sorted by manifest position."""
    index = torch.cat([o["index"] for o in outputs])
    order = torch.argsort(index)
    scores = torch.cat([o["scores"] for o in outputs])[order]
    target = torch.cat([o[target_key] for o in outputs])[order] if target_key else None
    return index[order].tolist(), scores, target


def _ordered_modalities(outputs: list[dict[str, Any]]) -> list[str]:
    """``audio+text``-style modalities of every row, in the order :func:`_ordered` gives."""
    index = torch.cat([o["index"] for o in outputs])
    per_row = ["+".join(o.get("modalities", ())) for o in outputs for _ in range(len(o["index"]))]
    return [per_row[k] for k in torch.argsort(index).tolist()]
