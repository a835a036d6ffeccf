"""The closing lines of ``mmfa fit`` and ``mmfa test``: where the run is and what it measured.

After the test of a checkpoint, :func:`finish_run` writes the run's report beside its
``predictions.csv`` (``report/``: ``report.md``, ``report.json``, ``per_class.csv``, the confusion
matrix and ROC plots; the same report ``mmfa cv`` writes, for one fold:
:func:`mmfa.experiments.report.build_test_report`) and prints a few lines that a new user can act
on alone::

    mmfa fit: done. Run folder: runs/demo/version_0
      best epoch 41 (of 0-59), val/UA 93.75, checkpoint runs/demo/version_0/checkpoints/best.ckpt
      test, 120 utterances: ACC (WA) 92.50 | ACC_B (UA) 92.50 | PRE 92.61 | ...
      predictions: runs/demo/version_0/predictions.csv
      skipped: none (runs/demo/version_0/skipped.csv)
      report: runs/demo/version_0/report/report.md (confusion_matrix.png, roc_curves.png, ...)

Numbers are the report's (recomputed from ``predictions.csv`` with scikit-learn), in percent with
2 decimals (MAE and Pearson r raw). Printed on stdout by rank zero only.
"""

from __future__ import annotations

import csv
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import lightning as L

from mmfa.callbacks.predictions import PredictionWriter
from mmfa.callbacks.skipped import SkippedWriter

log = logging.getLogger(__name__)

#: The report's folder inside the run folder (as in a cv run folder).
REPORT_DIR = "report"


@dataclass
class RunSummary:
    """What one ``mmfa fit``/``mmfa test`` produced (paths are None where nothing was written).

    Attributes:
        command: ``fit`` or ``test``.
        folder: the run folder (where ``predictions.csv`` went).
        checkpoint: the checkpoint tested (None: the final weights).
        best_epoch: the epoch that checkpoint was saved at (0-based, as Lightning counts).
        epochs: epochs trained (fit only).
        monitor: the validation metric that selected the checkpoint, e.g. ``val/UA``.
        val_score: its value at the best epoch.
        predictions: the test ``predictions.csv``.
        skipped: ``skipped.csv``.
        num_skipped: rows in ``skipped.csv``.
        report: the report's ``report.md``.
        report_files: the report's other files (names inside its folder).
        headline: the problem's headline test metrics, key -> value (fractions).
        num_test: test utterances.
    """

    command: str
    folder: Path | None = None
    checkpoint: Path | None = None
    best_epoch: int | None = None
    epochs: int | None = None
    monitor: str | None = None
    val_score: float | None = None
    predictions: Path | None = None
    skipped: Path | None = None
    num_skipped: int = 0
    report: Path | None = None
    report_files: list[str] = field(default_factory=list)
    headline: dict[str, float] = field(default_factory=dict)
    num_test: int | None = None

    def lines(self) -> list[str]:
        """The closing lines (see the module docstring)."""
        from mmfa.experiments.report_markdown import display, fmt

        out = [f"mmfa {self.command}: done. Run folder: {self.folder or '?'}"]
        if self.checkpoint is None and self.command == "test":
            out.append("  no --ckpt_path: tested the configured model's initial weights")
        elif self.checkpoint is None:
            out.append(
                "  no checkpoint: tested the final weights"
                if self.predictions is not None
                else "  no checkpoint kept"
            )
        else:
            epoch = "?" if self.best_epoch is None else str(self.best_epoch)
            if self.epochs:  # Lightning counts epochs from 0, as fold.json and the report do
                epoch += f" (of 0-{self.epochs - 1})"
            score = (
                f", {self.monitor} {fmt(self.val_score, self.monitor)}"
                if self.monitor and self.val_score is not None
                else ""
            )
            out.append(f"  best epoch {epoch}{score}, checkpoint {self.checkpoint}")
        if self.headline:
            metrics = " | ".join(f"{display(k)} {fmt(v, k)}" for k, v in self.headline.items())
            out.append(f"  test, {self.num_test} utterances: {metrics}")
        if self.predictions is not None:
            out.append(f"  predictions: {self.predictions}")
        else:  # --test_after_fit=false
            out.append(
                "  predictions: none (no test ran; `mmfa test` with the same config and "
                "--ckpt_path tests the checkpoint)"
            )
        if self.skipped is not None:
            count = f"{self.num_skipped} utterances" if self.num_skipped else "none"
            out.append(f"  skipped: {count} ({self.skipped})")
        if self.report is not None:
            others = f" ({', '.join(self.report_files)})" if self.report_files else ""
            out.append(f"  report: {self.report}{others}")
        return out


def finish_run(
    trainer: L.Trainer,
    model: Any,
    command: str,
    checkpoint: str | Path | None,
    *,
    stream: TextIO | None = None,
) -> RunSummary | None:
    """Write the run's report and print its summary (rank zero; None on other ranks).

    Args:
        trainer: the trainer that just tested.
        model: the task tested (its ``problem`` and ``class_names``).
        command: ``fit`` or ``test``, named in the first line.
        checkpoint: the checkpoint tested; None: the final weights.
        stream: where the lines go (default: stdout).
    """
    # log_dir is broadcast from rank zero: every rank must ask for it.
    log_dir = Path(trainer.log_dir or trainer.default_root_dir)
    if not trainer.is_global_zero:
        return None
    summary = RunSummary(command)
    writer = _callback(trainer, PredictionWriter)
    summary.predictions = writer.last_path if writer is not None else None
    skipped = _callback(trainer, SkippedWriter)
    if skipped is not None and skipped.last_path is not None:
        summary.skipped = skipped.last_path
        summary.num_skipped = _rows(skipped.last_path)
    summary.folder = summary.predictions.parent if summary.predictions is not None else log_dir
    if checkpoint:
        summary.checkpoint = Path(checkpoint)
        _read_selection(summary, Path(checkpoint))
    if command == "fit":
        summary.epochs = trainer.current_epoch
    if summary.predictions is not None:
        _write_report(summary, model)
    print("\n".join(summary.lines()), file=stream or sys.stdout, flush=True)
    return summary


def _write_report(summary: RunSummary, model: Any) -> None:
    """The report beside ``predictions.csv``; its headline numbers go into the summary."""
    from mmfa.experiments.report import build_test_report

    assert summary.predictions is not None and summary.folder is not None
    info: dict[str, Any] = {
        "checkpoint": None if summary.checkpoint is None else str(summary.checkpoint),
        "epochs": summary.epochs if summary.epochs is not None else "?",
        "best_epoch": summary.best_epoch if summary.best_epoch is not None else "?",
    }
    if summary.monitor and summary.val_score is not None:
        info["val_metrics"] = {summary.monitor: summary.val_score}
    out = summary.folder / REPORT_DIR
    try:
        report = build_test_report(
            summary.predictions, model.problem.kind, list(model.class_names), out, info
        )
    except Exception as err:  # the run itself is done: a failed report loses only the report
        log.warning("the run's report was not written to %s: %s", out, err)
        return
    summary.report = out / "report.md"
    summary.report_files = [
        name
        for key, name in report["files"].items()
        if key not in ("markdown", "per_fold") and name != "report.md"
    ]
    summary.headline = {k: report["mean"][k] for k in report["headline"]}
    summary.num_test = int(report["num_predictions"])


def _read_selection(summary: RunSummary, path: Path) -> None:
    """Best epoch, monitor and validation score from the checkpoint (no code unpickled)."""
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # unreadable: the summary only loses these numbers
        log.warning("%s: best epoch not read (%s)", path, err)
        return
    epoch = checkpoint.get("epoch")
    summary.best_epoch = int(epoch) if epoch is not None else None
    # The selection callback's state as saved with this checkpoint: its score is this epoch's.
    for key, state in (checkpoint.get("callbacks") or {}).items():
        if "ModelCheckpoint" in str(key) and isinstance(state, dict):
            if state.get("best_model_score") is not None:
                summary.monitor = state.get("monitor")
                summary.val_score = float(state["best_model_score"])
                return


def _callback(trainer: L.Trainer, kind: type[Any]) -> Any:
    return next((c for c in trainer.callbacks if isinstance(c, kind)), None)  # type: ignore[attr-defined]


def _rows(path: Path) -> int:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    except OSError:
        return 0
