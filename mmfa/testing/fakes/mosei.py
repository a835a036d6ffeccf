"""A tiny fake CMU-MOSEI tree in the real layout, for tests.

``CMU_MOSEI_Labels.csd`` (HDF5), whole-video wavs, segmented transcripts and the folds (as
``folds.json`` or the segment table), with the quirks real copies have: ids with ``_`` and ``-``,
segments that start before 0, segments with no emotion, ties (see ``docs/corpus_formats.md``).
Deterministic by seed; ``<corpus>.expected.json`` beside it records what it holds (read with
:func:`~mmfa.testing.fakes.fake_expected`).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmfa.testing.fakes._common import sentence, write_expected
from mmfa.testing.media import tone, write_wav

__all__ = ["write_fake_mosei"]


_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ID_LAST = "AEIMQUYcgkosw048"  # a YouTube id never ends in '_' or '-'


def _video_id(rng: np.random.Generator, k: int) -> str:
    chars = [str(c) for c in rng.choice(list(_ID_CHARS), size=10)] + [
        str(rng.choice(list(_ID_LAST)))
    ]
    if k == 0:
        chars[4] = "_"  # an underscore inside the id, beside the "___" separators
    if k == 1:
        chars[0] = "-"
    return "".join(chars)


def _mosei_emotions(rng: np.random.Generator, video: int, row: int) -> list[float]:
    if (video, row) == (0, 0):
        return [0.0] * 6  # no emotion at all
    if (video, row) == (0, 1):
        return [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # tie sad/anger -> sad
    if (video, row) == (1, 0):
        return [2.0 / 3, 0.0, 0.0, 0.0, 0.0, 2.0 / 3]  # tie happy/fear -> happy
    values = rng.integers(1, 10, size=6) / 3 * (rng.random(6) < 0.4)
    values[int(rng.integers(6))] = float(rng.integers(1, 10)) / 3
    return [float(v) for v in values]


def write_fake_mosei(
    root: Path,
    seed: int = 0,
    videos: tuple[int, int, int] = (6, 2, 2),
    folds: Literal["json", "table"] = "json",
) -> Path:
    """Write a fake CMU-MOSEI raw release under ``root``.

    ``CMU_MOSEI_Labels.csd`` (HDF5: root ``All Labels``, ``data/<video>/features`` (N, 7) and
    ``intervals`` (N, 2), ``metadata`` JSON strings), a whole-video 16 kHz wav per video,
    ``Combined`` transcripts (one extra unlabelled segment per video, label rows not in time
    order, ``___`` inside a text, an underscore inside a video id), one negative start time, an
    all-zero emotion row, emotion ties, 1-2 s segments, ``videos`` train/valid/test videos plus
    one video in no standard fold. ``folds``: write ``folds.json`` or the segment table
    ``CMU_MOSEI_Labels.csv``.

    ``expected.json`` holds ``videos`` (id -> split or null), ``order`` (the ids as written, the
    first two with the ties and the all-zero row) and ``segments`` (id -> split,
    start (clamped), end, text, emotion6 (null when all zero), multilabel, sentiment).

    Returns:
        The corpus folder ``root/CMU_MOSEI``.
    """
    import h5py

    rng = np.random.default_rng(seed)
    corpus = Path(root) / "CMU_MOSEI"
    wav_dir = corpus / "Raw" / "Audio" / "Full" / "WAV_16000"
    tr_dir = corpus / "Raw" / "Transcript" / "Segmented" / "Combined"
    tr_dir.mkdir(parents=True, exist_ok=True)
    splits = ["train"] * videos[0] + ["val"] * videos[1] + ["test"] * videos[2] + [None]
    expected: dict[str, Any] = {"videos": {}, "order": [], "segments": {}}
    table: list[list[Any]] = []
    with h5py.File(corpus / "CMU_MOSEI_Labels.csd", "w") as f:
        top = f.create_group("All Labels")
        meta = top.create_group("metadata")
        for key, value in {
            "root name": "All Labels",
            "dimension names": json.dumps(
                ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
            ),
            "computational sequence version": "1.0",
        }.items():
            meta.create_dataset(key, data=value, dtype=h5py.string_dtype())
        data = top.create_group("data")
        for v, split in enumerate(splits):
            video = _video_id(rng, v)
            expected["videos"][video] = split
            expected["order"].append(video)
            t = -0.2 if v == 0 else float(rng.uniform(0.2, 1.0))  # Negative starts
            times = []
            for _ in range(4):
                seconds = float(rng.uniform(1.0, 2.0))
                times.append((round(t, 3), round(t + seconds, 3)))
                t += seconds + float(rng.uniform(0.2, 0.6))
            texts = [sentence(rng) for _ in times]
            texts[1] += " ___ my_view"  # Texts can contain underscores
            lines = [
                f"{video}___{k}___{s}___{e}___{x}\n"
                for k, ((s, e), x) in enumerate(zip(times, texts, strict=True))
            ]
            (tr_dir / f"{video}.txt").write_text("".join(lines), encoding="utf-8")
            write_wav(wav_dir / f"{video}.wav", tone(t + 0.5, freq=120.0 + 15 * v, seed=v))
            # Labels cover 3 of the 4 transcript segments, in reverse time order.
            labelled = [2, 1, 0]
            feats = []
            for row, seg in enumerate(labelled):
                emotions = _mosei_emotions(rng, v, row)
                sentiment = float(rng.integers(-9, 10)) / 3
                feats.append([sentiment, *emotions])
                vec = np.asarray(feats[-1], dtype=np.float32)
                start, end = times[seg]
                expected["segments"][f"{video}_{row}"] = {
                    "split": split,
                    "start": max(start, 0.0),
                    "end": end,
                    "text": texts[seg],
                    "emotion6": int(np.argmax(vec[1:])) if vec[1:].any() else None,
                    "multilabel": [float(x > 0) for x in vec[1:]],
                    "sentiment": float(vec[0]),
                }
                label7 = int(np.clip(np.round(sentiment), -3, 3))
                fold = {"train": 0, "val": 1, "test": 2, None: 3}[split]
                label6 = int(np.argmax(vec[1:]))  # all-zero rows too: the table keeps them
                label2 = [int(label7 >= 0), int(np.sign(label7))]
                table.append([len(table), video, row, start, end, *label2, label6, label7, fold])
            group = data.create_group(video)
            group.create_dataset("features", data=np.asarray(feats, dtype=np.float32))
            group.create_dataset("intervals", data=np.asarray([times[s] for s in labelled]))
    if folds == "json":
        names = {"train": "train", "val": "valid", "test": "test"}
        fold_lists = {
            names[s]: [vid for vid, sp in expected["videos"].items() if sp == s] for s in names
        }
        (corpus / "folds.json").write_text(json.dumps(fold_lists, indent=1), encoding="utf-8")
    else:
        with (corpus / "CMU_MOSEI_Labels.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            # The real table's header (docs/corpus_formats.md), unnamed row-number column first.
            writer.writerow(",file,index,start,end,label2a,label2b,label6,label7,split".split(","))
            writer.writerows(table)
    write_expected(corpus, expected)
    return corpus
