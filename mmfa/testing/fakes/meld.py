"""A tiny fake ``MELD.Raw`` tree in the real layout, for tests.

The three CSVs (optionally with the 2019 release's cp1252 damage, odd time stamps, gaps in the
ids) and mp4 clips, including the real release's broken clips and a ``final_videos_test`` twin
(see ``docs/corpus_formats.md``). Deterministic by seed; ``<corpus>.expected.json`` beside it
records what it holds (read with :func:`~mmfa.testing.fakes.fake_expected`).
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.testing.fakes._common import sentence, write_expected
from mmfa.testing.media import tone, write_mp4

__all__ = ["write_fake_meld"]


_MELD_HEADER = [
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
]
_MELD_EMOTIONS = ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")
_MELD_SENTIMENT_OF = {
    "neutral": "neutral",
    "joy": "positive",
    "surprise": "positive",
    "sadness": "negative",
    "anger": "negative",
    "fear": "negative",
    "disgust": "negative",
}
_MELD_SPEAKERS = ("Chandler", "Monica", "Rachel", "The Interviewer", "Joey")
# (csv, clip folder, dialogue ids): dialogue 125 and 110 hold the real release's broken clips;
# train dialogue 60 does not exist in the real CSVs either. First utterance ids leave gaps.
_MELD_SPLITS = {
    "train": ("train_sent_emo.csv", "train_splits", ((0, 0), (1, 0), (125, 0))),
    "val": ("dev_sent_emo.csv", "dev_splits_complete", ((0, 0), (110, 5))),
    "test": ("test_sent_emo.csv", "output_repeated_splits_test", ((0, 0), (3, 2))),
}
# What cp1252 bytes became in the 2019 CSVs (U+0092 for ’ ...), and a no-break space.
_DAMAGE = "’…—“”–‘\xa0"


def _meld_time(ms: int, style: int) -> tuple[str, float]:
    """Format ``ms`` milliseconds in a MELD time style; also return the seconds it means."""
    h, m, s, frac = ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60, ms % 1000
    if style == 1:  # 1-digit hours occur
        return f"{h}:{m:02d}:{s:02d},{frac:03d}", ms / 1000
    if style == 2:  # 2-digit ms occur, read as an integer count of ms
        return f"{h:02d}:{m:02d}:{s:02d},{frac % 100}", (ms - frac + frac % 100) / 1000
    return f"{h:02d}:{m:02d}:{s:02d},{frac:03d}", ms / 1000


def write_fake_meld(
    root: Path,
    seed: int = 0,
    rows_per_split: tuple[int, int, int] = (12, 6, 6),
    cp1252_damage: bool = True,
) -> Path:
    """Write a fake ``MELD.Raw`` under ``root``.

    The three CSVs with the real header (``test_sent_emo.csv`` one level down, inside
    ``output_repeated_splits_test/``, as when taken from the split tarballs), 2019-style C1
    damage and no-break spaces in some texts (``cp1252_damage``), a repeated ``Sr No.``,
    1-digit-hour and 2-digit-ms times, a 0.4-0.8 s mp4 clip per row (some stereo), a corrupt clip
    (``train_splits/dia125_utt3.mp4``, garbage bytes), a missing one (``dev_splits_complete/
    dia110_utt7.mp4``) and a ``final_videos_test...`` twin.

    ``expected.json`` holds ``rows`` and ``emotions`` per split, ``utterances`` (id -> text,
    speaker, emotion, sentiment, start, end), ``missing_clip``, ``corrupt_clip``,
    ``repaired_chars`` and ``twin``.

    Returns:
        The ``MELD.Raw`` folder.
    """
    rng = np.random.default_rng(seed)
    corpus = Path(root) / "MELD.Raw"
    expected: dict[str, Any] = {
        "rows": {},
        "emotions": {},
        "utterances": {},
        "missing_clip": [],
        "corrupt_clip": [],
        "repaired_chars": 0,
    }
    sr_no = 0
    for (split, (csv_name, folder, dialogues)), n in zip(
        _MELD_SPLITS.items(), rows_per_split, strict=True
    ):
        clips = corpus / folder
        clips.mkdir(parents=True, exist_ok=True)
        csv_path = clips / csv_name if split == "test" else corpus / csv_name
        per = [n // len(dialogues) + (i < n % len(dialogues)) for i in range(len(dialogues))]
        rows: list[list[Any]] = []
        emotions: Counter[str] = Counter()
        t = 600_000 + int(rng.integers(100_000))  # ms into the episode
        for (dia, first), count in zip(dialogues, per, strict=True):
            for utt in range(first, first + count):
                i = len(rows)
                emotion = _MELD_EMOTIONS[int(rng.integers(len(_MELD_EMOTIONS)))]
                clean = sentence(rng)
                if i % 3 == 0:  # typographic characters, damaged or not below
                    clean = f"{clean}{_DAMAGE[i % len(_DAMAGE)]} it’s"
                written = clean
                if cp1252_damage:
                    written = "".join(
                        chr(c.encode("cp1252")[0]) if c in _DAMAGE[:-1] else c for c in clean
                    )
                    expected["repaired_chars"] += sum(c in _DAMAGE[:-1] for c in clean)
                clean = clean.replace("\xa0", " ")  # the reader writes no-break spaces as spaces
                start_ms = t
                end_ms = t + int(rng.integers(1000, 3000))
                t = end_ms + 200
                start, start_s = _meld_time(start_ms, i % 3)
                end, end_s = _meld_time(end_ms, 0)
                sr_no += i != 5  # Sr No. is not unique
                speaker = _MELD_SPEAKERS[i % len(_MELD_SPEAKERS)]
                sentiment = _MELD_SENTIMENT_OF[emotion]
                rows.append(
                    [sr_no, written, speaker, emotion, sentiment, dia, utt, 8, 21, start, end]
                )
                emotions[emotion] += 1
                utt_id = f"{split}_dia{dia}_utt{utt}"
                expected["utterances"][utt_id] = {
                    "text": clean,
                    "speaker": speaker,
                    "emotion": emotion,
                    "sentiment": sentiment,
                    "start": start_s,
                    "end": end_s,
                }
                clip = clips / f"dia{dia}_utt{utt}.mp4"
                if (split, dia, utt) == ("val", 110, 7):
                    expected["missing_clip"].append(utt_id)
                elif (split, dia, utt) == ("train", 125, 3):
                    clip.write_bytes(rng.bytes(2048))
                    expected["corrupt_clip"].append(utt_id)
                else:
                    signal = tone(float(rng.uniform(0.4, 0.8)), freq=150.0 + 10 * i, seed=i)
                    write_mp4(clip, signal, channels=1 + (i % 4 == 1))
        with csv_path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(_MELD_HEADER)
            writer.writerows(rows)
        expected["rows"][split] = len(rows)
        expected["emotions"][split] = dict(emotions)
    test_clips = corpus / "output_repeated_splits_test"
    twin_of = next(iter(sorted(test_clips.glob("dia*.mp4"))), None)
    if twin_of is not None:  # ~130 final_videos_test* twins
        shutil.copyfile(twin_of, test_clips / f"final_videos_test{twin_of.name}")
        expected["twin"] = f"final_videos_test{twin_of.name}"
    write_expected(corpus, expected)
    return corpus
