"""Item 10: the full list of skipped utterances, with reasons, is written next to the outputs."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import lightning as L

from mmfa.callbacks.skipped import SKIPPED_FILE, SkippedWriter
from mmfa.loggers import CSVLogger

from .conftest import ListCorpus, split_corpus


class _Nothing(L.LightningModule):
    def test_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        return None


def test_every_skip_is_listed_with_split_and_reason(tmp_path: Path) -> None:
    utts = split_corpus(tmp_path / "d", {"train": 4, "val": 3, "test": 3})
    for i in (0, 1, 4, 5, 8):  # five skipped: more than the log's three examples
        Path(utts[i].audio_path).write_bytes(b"corrupt")  # type: ignore[arg-type]
    utts[9] = dataclasses.replace(utts[9], text="  ")
    dm = ListCorpus.make(utts, tmp_path / "cache", batch_size=2)
    logger = CSVLogger(str(tmp_path / "runs"), name="demo")
    trainer = L.Trainer(logger=logger, callbacks=[SkippedWriter()], enable_progress_bar=False)
    trainer.test(_Nothing(), datamodule=dm, verbose=False)
    path = Path(logger.log_dir) / SKIPPED_FILE
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [(r["id"], r["split"], r["reason"]) for r in rows] == [
        ("u0", "train", "unreadable"),
        ("u1", "train", "unreadable"),
        ("u4", "val", "unreadable"),
        ("u5", "val", "unreadable"),
        ("u8", "test", "unreadable"),
        ("u9", "test", "empty_transcript"),
    ]
    assert all(r["detail"] for r in rows)


def test_nothing_skipped_still_writes_the_header(tmp_path: Path) -> None:
    dm = ListCorpus.make(split_corpus(tmp_path / "d", {"train": 2, "val": 2, "test": 2}),
                         tmp_path / "cache")  # fmt: skip
    writer = SkippedWriter(dirpath=str(tmp_path / "out"))
    L.Trainer(logger=False, callbacks=[writer], enable_progress_bar=False).test(
        _Nothing(), datamodule=dm, verbose=False
    )
    assert writer.last_path is not None
    assert writer.last_path.read_text().splitlines() == ["id,split,reason,detail"]
