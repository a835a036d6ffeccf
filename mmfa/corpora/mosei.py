"""CMU-MOSEI: the manifest reader for the raw release, its label order and standard folds.

Reads ``CMU_MOSEI_Labels.csd`` (HDF5), the whole-video wavs and the segmented transcripts as the
release unpacks (layout and quirks: ``docs/corpus_formats.md``, "CMU-MOSEI"). What the user
must provide under ``root``::

    CMU_MOSEI_Labels.csd
    Raw/Audio/Full/WAV_16000/<video>.wav
    Raw/Transcript/Segmented/Combined/<video>.txt
    folds.json  or  CMU_MOSEI_Labels.csv          (the standard folds, see read_mosei_folds)

Pure parsing (numpy, h5py): no torch, no lightning; the datamodule is
:class:`mmfa.datamodules.mosei.MOSEIDataModule`.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Literal

import numpy as np

from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

__all__ = [
    "MOSEI_EMOTIONS",
    "MoseiTask",
    "read_mosei",
    "read_mosei_folds",
    "read_mosei_with_report",
]

#: Emotion order of the label vector after its sentiment column.
MOSEI_EMOTIONS: tuple[str, ...] = ("happy", "sad", "anger", "surprise", "disgust", "fear")

MoseiTask = Literal["emotion6", "multilabel", "sentiment"]

_LABELS = "CMU_MOSEI_Labels.csd"
_WAVS = Path("Raw/Audio/Full/WAV_16000")
_TRANSCRIPTS = Path("Raw/Transcript/Segmented/Combined")
# The SDK's names (standard_train_fold...) are accepted beside the short ones.
_FOLD_KEYS = {
    "train": "train",
    "valid": "val",
    "test": "test",
    "standard_train_fold": "train",
    "standard_valid_fold": "val",
    "standard_test_fold": "test",
}
_TABLE_SPLITS = {"0": "train", "1": "val", "2": "test"}  # "3": in no standard fold


def read_mosei_folds(root: Path) -> dict[str, str]:
    """Video id -> ``train``/``val``/``test`` of the standard folds.

    The SDK ships the folds as Python lists (``standard_train_fold`` ...), not as a file, so the
    user provides one of (searched in this order):

    - ``root/folds.json``: ``{"train": [ids], "valid": [ids], "test": [ids]}`` (the SDK's
      ``standard_*_fold`` names work too);
    - ``root/CMU_MOSEI_Labels.csv``: the segment table (columns ``,file,index,start,end,label2a,
      label2b,label6,label7,split``; split 0 train, 1 valid, 2 test, 3 none). The table only lists
      videos with labelled segments: it gives 2,249 / 300 / 676 videos (2 of the 678 test videos
      have no labelled segment), which changes no segment.

    Raises:
        ConfigError: neither file exists, or one is malformed.
    """
    root = Path(root)
    json_path, table_path = root / "folds.json", root / "CMU_MOSEI_Labels.csv"
    folds: dict[str, str] = {}
    if json_path.is_file():
        try:
            raw = json.loads(json_path.read_text(encoding="utf-8"))
            for key, videos in raw.items():
                if key in _FOLD_KEYS:
                    folds.update(dict.fromkeys(map(str, videos), _FOLD_KEYS[key]))
        except (ValueError, AttributeError, TypeError) as err:
            raise ConfigError(
                f"{json_path}: expected {{'train': [...], 'valid': [...], "
                f"'test': [...]}} of video ids ({err})"
            ) from err
    elif table_path.is_file():
        try:
            with table_path.open(encoding="utf-8-sig", newline="") as f:
                for row in csv.DictReader(f):
                    if row.get("split") in _TABLE_SPLITS and row.get("file"):
                        folds[row["file"]] = _TABLE_SPLITS[row["split"]]
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{table_path} is not UTF-8 ({err.reason} at byte {err.start}); re-save it as "
                "UTF-8, e.g. `iconv -f latin1 -t utf-8`"
            ) from err
    else:
        raise ConfigError(
            f"CMU-MOSEI: no standard folds in {str(root)!r}: provide folds.json "
            "({'train': [...], 'valid': [...], 'test': [...]}, e.g. from the SDK's "
            "standard_train_fold/standard_valid_fold/standard_test_fold) or CMU_MOSEI_Labels.csv"
        )
    if not folds:
        raise ConfigError(f"CMU-MOSEI: the folds file in {str(root)!r} lists no video")
    return folds


def _read_transcript(path: Path, video: str) -> list[tuple[float, float, str]]:
    segments: list[tuple[float, float, str]] = []
    if not path.is_file():
        return segments
    # Split on newlines only: str.splitlines() also breaks at U+0085 and other separators.
    for line in path.read_bytes().decode("utf-8", errors="replace").split("\n"):
        line = line.rstrip("\r")
        # Lines are "<video>___<segment>___<start>___<end>___<text>"; texts contain underscores.
        # Cutting the known video id off first also keeps ids with underscores intact.
        head = f"{video}___"
        if line.startswith(head):
            parts = line[len(head) :].split("___", 3)
        else:
            parts = line.split("___", 4)[1:]
        try:
            segments.append((float(parts[1]), float(parts[2]), parts[3].strip()))
        except (IndexError, ValueError):
            continue
    return segments


def _match(start: float, end: float, segments: list[tuple[float, float, str]]) -> str | None:
    # Transcript segment numbers do not follow the label rows (labels are a subset, in their own
    # order), so match by time: the nearest interval, accepted when they overlap by IoU >= 0.5.
    # Both starts are clamped at 0 first (some segments start before 0).
    best: tuple[float, float, str] | None = None
    best_cost = float("inf")
    for s, e, text in segments:
        cost = abs(max(s, 0.0) - start) + abs(e - end)
        if cost < best_cost:
            best, best_cost = (max(s, 0.0), e, text), cost
    if best is None:
        return None
    inter = min(best[1], end) - max(best[0], start)
    union = max(best[1], end) - min(best[0], start)
    return best[2] if union > 0 and inter / union >= 0.5 else None


def read_mosei_with_report(
    root: Path, task: MoseiTask = "emotion6", keep_all_zero: bool = False
) -> tuple[list[Utterance], dict[str, int]]:
    """Read the CMU-MOSEI manifest, one utterance per labelled segment, and count what changed.

    Args:
        root: the folder holding ``CMU_MOSEI_Labels.csd``, ``Raw/`` and the folds file.
        task: ``emotion6``: class index of the strongest emotion, ties to the first in
            :data:`MOSEI_EMOTIONS` (the paper's 6-class single label); ``multilabel``: tuple of
            six ``float(intensity > 0)`` (the field's per-emotion presence); ``sentiment``: the
            score in [-3, 3] as a float.
        keep_all_zero: ``emotion6`` only. ``False`` drops segments with no emotion at all (they
            have no single label). ``True`` keeps them as class 0 (``happy``), which is what the
            argmax gives and what ``CMU_MOSEI_Labels.csv``'s ``label6`` holds: that table keeps all
            23,259 segments, all-zero ones included.

    Returns:
        Utterances ``<video>_<row>`` (row = segment row in the labels; ``start``/``end`` cut the
        whole-video wav; speaker = the video id, since MOSEI has no speaker ids and one video is
        one speaker) and counts ``clamped_start`` (negative start set to 0), ``no_fold`` (video in
        no standard fold: dropped), ``all_zero`` (dropped or kept, see above),
        ``missing_transcript`` (no overlapping transcript segment: dropped), ``missing_audio``.

    Raises:
        ConfigError: unknown task, labels file or folds missing, or an unexpected HDF5 layout.
    """
    import h5py

    if task not in ("emotion6", "multilabel", "sentiment"):
        raise ConfigError(f"task={task!r}: use 'emotion6', 'multilabel' or 'sentiment'")
    root = Path(root)
    labels_path = root / _LABELS
    if not labels_path.is_file():
        raise ConfigError(
            f"CMU-MOSEI: {labels_path} not found: root must hold {_LABELS} "
            "(the labels computational sequence) and the Raw/ folder"
        )
    folds = read_mosei_folds(root)
    counts: Counter[str] = Counter(
        clamped_start=0, no_fold=0, all_zero=0, missing_transcript=0, missing_audio=0
    )
    out: list[Utterance] = []
    with h5py.File(labels_path, "r") as f:
        # The root is the single top-level key ("All Labels").
        keys = list(f.keys())
        top = keys[0] if len(keys) == 1 else "All Labels"
        if top not in f or "data" not in f[top]:
            raise ConfigError(f"{labels_path}: expected one top-level group with data/, got {keys}")
        data = f[top]["data"]
        for video in sorted(data):
            features = np.asarray(data[video]["features"], dtype=np.float64)
            intervals = np.asarray(data[video]["intervals"], dtype=np.float64)
            if video not in folds:
                counts["no_fold"] += len(features)
                continue
            segments = _read_transcript(root / _TRANSCRIPTS / f"{video}.txt", video)
            wav = root / _WAVS / f"{video}.wav"
            has_wav = wav.is_file()
            for row, (vector, (start, end)) in enumerate(zip(features, intervals, strict=True)):
                emotions = vector[1:7]
                if task == "emotion6" and not emotions.any():
                    counts["all_zero"] += 1
                    if not keep_all_zero:
                        continue
                if start < 0:  # 239 segments start before 0
                    counts["clamped_start"] += 1
                    start = 0.0
                text = _match(start, end, segments)
                if text is None:
                    counts["missing_transcript"] += 1
                    continue
                counts["missing_audio"] += not has_wav
                label: int | float | tuple[float, ...]
                if task == "emotion6":
                    label = int(np.argmax(emotions))  # argmax takes the first of ties
                elif task == "multilabel":
                    label = tuple(float(x > 0) for x in emotions)
                else:
                    label = float(vector[0])
                out.append(
                    Utterance(
                        id=f"{video}_{row}",
                        audio_path=wav,
                        text=text,
                        label=label,
                        speaker=video,
                        split=folds[video],
                        start=float(start),
                        end=float(end),
                        group=video,
                    )
                )
    return out, dict(counts)


def read_mosei(
    root: Path, task: MoseiTask = "emotion6", keep_all_zero: bool = False
) -> list[Utterance]:
    """Read the CMU-MOSEI manifest; see :func:`read_mosei_with_report` (same arguments)."""
    return read_mosei_with_report(root, task, keep_all_zero)[0]
