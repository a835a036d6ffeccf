"""An mmfa dataset plugin for the simplest layout there is: wav files plus one CSV.

    my_corpus/
      labels.csv          path,transcript,label,speaker[,split]
      audio/a001.wav      any sample rate, mono or stereo (mmfa resamples to 16 kHz mono)

``path`` is relative to the folder. Without a ``split`` column the folds are leave-one-speaker-out:
fold ``<speaker>`` tests on that speaker, validates on the next speaker (in sorted order) and
trains on the rest. With a ``split`` column (train/val/test) that split is used as is.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from mmfa.datamodules.base import EmotionDataModule
from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

REQUIRED = ("path", "transcript", "label", "speaker")


class WavFolderDataModule(EmotionDataModule):
    """A folder of wavs and a CSV of (path, transcript, label, speaker[, split]).

    Args:
        root: the folder holding the CSV.
        csv_name: the CSV's file name inside ``root``.
        classes: label names in index order (default: the sorted labels found in the CSV).
        **kwargs: the EmotionDataModule arguments (fold, batch_size, cache_dir, ...).
    """

    speaker_independent = True

    def __init__(
        self,
        root: str,
        csv_name: str = "labels.csv",
        classes: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.rows = _read_rows(Path(root).expanduser() / csv_name)
        found = sorted({r["label"] for r in self.rows})
        self.class_names = tuple(classes or found)
        unknown = set(found) - set(self.class_names)
        if unknown:
            raise ConfigError(f"{csv_name}: labels {sorted(unknown)} are not in data.classes")
        self.has_split = "split" in self.rows[0]
        self.speakers = sorted({r["speaker"] for r in self.rows})
        super().__init__(root=root, **kwargs)

    def load_manifest(self) -> list[Utterance]:
        """One utterance per CSV row."""
        assert self.root is not None
        return [
            Utterance(
                id=str(Path(r["path"]).with_suffix("")),
                audio_path=self.root / r["path"],
                text=r["transcript"],
                label=self.class_names.index(r["label"]),
                speaker=r["speaker"],
                split=r.get("split", ""),
            )
            for r in self.rows
        ]

    def fold_names(self) -> list[str]:
        """One fold per speaker, unless the CSV fixes the split."""
        return [] if self.has_split else list(self.speakers)

    def split_of(self, utt: Utterance) -> str:
        """The CSV's split, or test = the fold's speaker, val = the next speaker."""
        if self.has_split:
            return utt.split
        test = self.speakers.index(str(self.fold))
        val = self.speakers[(test + 1) % len(self.speakers)]
        return "test" if utt.speaker == self.fold else "val" if utt.speaker == val else "train"


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist; data.root must hold a CSV with columns {', '.join(REQUIRED)}"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ConfigError(f"{path} has no rows")
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise ConfigError(f"{path}: missing columns {missing}; expected {', '.join(REQUIRED)}")
    return rows
