"""``skipped.csv``: every utterance a run could not use, with the reason, next to its outputs.

The log names a few skipped utterances; this file lists all of them (id, the split it would have
been in for this run's fold, the reason tag, the detail with the file and the fix), so a reader
of the results can see exactly what was left out. It is written at setup, on rank zero, for
every stage (fit, validate, test, predict), header only when nothing was skipped.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import lightning as L

log = logging.getLogger(__name__)

SKIPPED_FILE = "skipped.csv"
COLUMNS = ("id", "split", "reason", "detail")


class SkippedWriter(L.Callback):
    """Write the datamodule's skipped utterances to ``skipped.csv`` in the run's folder.

    Args:
        dirpath: the folder; ``None``: the trainer's ``log_dir`` (the logger's version folder),
            else its ``default_root_dir``.
        filename: the file's name in that folder (``mmfa predict --out preds.csv`` uses
            ``preds.skipped.csv``).
    """

    def __init__(self, dirpath: str | None = None, filename: str = SKIPPED_FILE) -> None:
        self.dirpath = dirpath
        self.filename = filename
        #: Where the file was last written (None before, and on ranks other than 0).
        self.last_path: Path | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """After the datamodule's setup (its feature report is ready): write the file."""
        # log_dir is broadcast from rank zero: every rank must ask for it.
        folder = Path(self.dirpath or trainer.log_dir or trainer.default_root_dir)
        if not trainer.is_global_zero:
            return
        rows = skipped_rows(trainer.datamodule)  # type: ignore[attr-defined]
        if rows is None:
            return  # not an mmfa datamodule: nothing known about skips
        self.last_path = write_skipped(folder / self.filename, rows)


def write_skipped(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """Write ``(id, split, reason, detail)`` rows (header only when there are none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    if rows:
        examples = "; ".join(f"{r[0]} ({r[2]})" for r in rows[:5])
        log.info("%d inputs skipped, listed in %s: %s", len(rows), path, examples)
    return path


def skipped_rows(dm: Any) -> list[tuple[str, str, str, str]] | None:
    """``(id, split, reason, detail)`` of each skipped utterance, in manifest order.

    Returns:
        The rows, or ``None`` when ``dm`` has no feature report (not an mmfa datamodule, or not
        set up).
    """
    report = getattr(dm, "feature_report", None)
    if report is None:
        return None
    by_id = {u.id: u for u in getattr(dm, "utterances", [])}
    rows = []
    for uid, reason, detail in report.skipped:
        utt = by_id.get(uid)
        split = dm.split_of(utt) if utt is not None and hasattr(dm, "split_of") else ""
        rows.append((uid, split, reason, detail))
    return rows
