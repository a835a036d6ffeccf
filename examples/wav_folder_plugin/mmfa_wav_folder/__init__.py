"""An mmfa dataset plugin for the simplest layout there is: wav files plus one CSV.

    my_corpus/
      labels.csv          path,transcript,label,speaker[,split]
      audio/a001.wav      any sample rate, mono or stereo (mmfa resamples to 16 kHz mono)

``path`` is relative to the folder; the utterance id is the path without its extension (with
it, when two files differ only in extension, e.g. ``a.mp3`` and ``a.mp4``). The CSV must be UTF-8.
Without a ``split`` column the folds are leave-one-speaker-out:
fold ``<speaker>`` tests on that speaker, validates on the next speaker (in sorted order) and
trains on the rest. With a ``split`` column (train/val/test) that split is used as is.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from mmfa.datamodules.base import EmotionDataModule
from mmfa.datamodules.inputs import read_table
from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

REQUIRED = ("path", "transcript", "label", "speaker")

log = logging.getLogger(__name__)


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
        counts = Counter(r["label"] for r in self.rows)
        found = sorted(counts)
        if classes is None and max(counts.values()) > 1:
            # A label seen once beside labels seen more often is most likely a typo that would
            # silently become a class of its own, however small the corpus.
            rare = [label for label in found if counts[label] == 1]
            if rare:
                log.warning(
                    "%s: labels %s occur only once; if they are typos, fix them, or list the "
                    "classes in data.classes so unknown labels are refused",
                    csv_name,
                    rare,
                )
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
        stems = Counter(str(Path(r["path"]).with_suffix("")) for r in self.rows)
        return [
            Utterance(
                id=_utterance_id(r["path"], stems),
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


def _utterance_id(path: str, stems: Counter[str]) -> str:
    """The path without extension, unless another file has the same stem (then the full path)."""
    stem = str(Path(path).with_suffix(""))
    return path if stems[stem] > 1 else stem


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist; data.root must hold a CSV with columns {', '.join(REQUIRED)}"
        )
    # mmfa's one manifest reader: UTF-8 and quoting checks, messages naming the line.
    return [{k: str(v) for k, v in row.items()} for _, row in read_table(path, REQUIRED)]
