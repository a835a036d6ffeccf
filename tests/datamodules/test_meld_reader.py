"""The MELD reader on a fake MELD.Raw tree, and on the real CSVs when $MMFA_REAL_DATA has them."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mmfa.corpora.meld import (
    MELD_EMOTIONS,
    MELD_KNOWN_BAD,
    MELD_MAX_SECONDS,
    MELD_SENTIMENTS,
    parse_meld_time,
    read_meld,
    read_meld_csv,
    read_meld_with_report,
    repair_cp1252,
)
from mmfa.errors import ConfigError, MMFAError
from mmfa.manifest import Utterance
from mmfa.testing.fakes import fake_expected, write_fake_meld

#: Optional real data: a folder holding ``meld/`` (the three CSVs, and the 2019 originals in
#: ``meld/original_2019_cp1252/``). Unset, the real-data tests skip; nothing else is assumed.
REAL_DATA = os.environ.get("MMFA_REAL_DATA", "")
REAL_MELD = Path(REAL_DATA) / "meld"


def _index(u: Utterance) -> int:
    assert isinstance(u.label, int)
    return u.label


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_meld(tmp_path_factory.mktemp("meld"), seed=2)


@pytest.fixture(scope="module")
def expected(corpus: Path) -> dict[str, Any]:
    return fake_expected(corpus)


def test_repair_cp1252() -> None:
    # docs/corpus_formats.md: U+0092 is ’, U+0085 …, U+0097 —, U+0091/93/94 quotes, U+0096 –.
    assert repair_cp1252("can\x92t\x85 \x97 \x91a\x93b\x94 \x96") == "can’t… — ‘a“b” –"
    assert repair_cp1252("café ’ plain") == "café ’ plain"  # already-good text is untouched
    assert repair_cp1252("a\x81b\x8d\x8f\x90\x9dc") == "abc"  # no cp1252 character: dropped


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [
        ("00:16:16,059", 976.059),
        ("0:36:59,425", 2219.425),  # 1-digit hours
        ("00:05:11,82", 311.082),  # 2-digit ms, an integer count of ms
        ("1:00:00,5", 3600.005),
        ("00:00:01.250", 1.25),
    ],
)
def test_parse_time(stamp: str, seconds: float) -> None:
    assert parse_meld_time(stamp) == pytest.approx(seconds)


@pytest.mark.parametrize("stamp", ["", "garbage", "00:16:16", "00:16:16,1234"])
def test_unreadable_time_is_none(stamp: str) -> None:
    assert parse_meld_time(stamp) is None


def test_manifest_matches_the_tree(corpus: Path, expected: dict[str, Any]) -> None:
    utts, report = read_meld_with_report(corpus)
    assert Counter(u.split for u in utts) == expected["rows"]
    assert {u.id for u in utts} == set(expected["utterances"])
    for u in utts:
        want = expected["utterances"][u.id]
        assert u.text == want["text"]
        assert u.speaker == want["speaker"]
        assert MELD_EMOTIONS[_index(u)] == want["emotion"]
        assert u.group == u.id.split("_")[1]
        assert float(u.extra["start"]) == pytest.approx(want["start"])
        assert float(u.extra["end"]) == pytest.approx(want["end"])
        assert u.start is None and u.end is None  # each clip is already cut
        assert u.audio_path is not None and u.audio_path.name == u.id.split("_", 1)[1] + ".mp4"
    for split in ("train", "val", "test"):
        got = Counter(MELD_EMOTIONS[_index(u)] for u in utts if u.split == split)
        assert got == expected["emotions"][split]
    assert not any("final_videos" in str(u.audio_path) for u in utts)
    assert report == {
        "missing_clip": len(expected["missing_clip"]),
        "known_bad_clip": 2,  # the fake's two broken clips sit where the real ones are
        "repaired_chars": expected["repaired_chars"],
        "bad_time": 0,
    }
    assert expected["repaired_chars"] > 0


def test_missing_and_corrupt_clips_are_given_not_fatal(
    corpus: Path, expected: dict[str, Any]
) -> None:
    utts = {u.id: u for u in read_meld(corpus)}
    (missing,), (corrupt,) = expected["missing_clip"], expected["corrupt_clip"]
    assert missing in MELD_KNOWN_BAD and corrupt in MELD_KNOWN_BAD
    assert not utts[missing].audio_path.is_file()  # type: ignore[union-attr]
    # Corrupt is only detectable when decoding: the reader just points at it.
    assert utts[corrupt].audio_path.is_file()  # type: ignore[union-attr]
    assert MELD_MAX_SECONDS == 30.0


def test_sentiment_target(corpus: Path, expected: dict[str, Any]) -> None:
    for u in read_meld(corpus, target="sentiment"):
        assert MELD_SENTIMENTS[_index(u)] == expected["utterances"][u.id]["sentiment"]


def test_text_only_needs_only_the_csvs(corpus: Path, tmp_path: Path) -> None:
    for csv_path in corpus.rglob("*_sent_emo.csv"):
        shutil.copy(csv_path, tmp_path / csv_path.name)
    utts, report = read_meld_with_report(tmp_path, with_audio=False)
    assert all(u.audio_path is None for u in utts)
    assert report["missing_clip"] == 0 and report["known_bad_clip"] == 0
    assert [(u.id, u.text) for u in utts] == [(u.id, u.text) for u in read_meld(corpus)]


def test_damaged_and_clean_csvs_load_the_same(corpus: Path, tmp_path: Path) -> None:
    clean = write_fake_meld(tmp_path, seed=2, rows_per_split=(12, 6, 6), cp1252_damage=False)
    assert [(u.id, u.text) for u in read_meld(clean, with_audio=False)] == [
        (u.id, u.text) for u in read_meld(corpus, with_audio=False)
    ]
    assert read_meld_with_report(clean, with_audio=False)[1]["repaired_chars"] == 0


def test_csv_rows_are_keyed_by_dialogue_and_utterance(corpus: Path, tmp_path: Path) -> None:
    rows = read_meld_csv(corpus / "train_sent_emo.csv", "train")
    assert len({(r["dialogue_id"], r["utterance_id"]) for r in rows}) == len(rows)
    # Not splitlines(): U+0085 (a damaged "…") would count as a line break.
    text = (corpus / "train_sent_emo.csv").read_text(encoding="utf-8").rstrip("\n").split("\n")
    (tmp_path / "dup.csv").write_text("\n".join([*text, text[1]]) + "\n", encoding="utf-8")
    with pytest.raises(MMFAError, match="repeats"):
        read_meld_csv(tmp_path / "dup.csv", "train")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(MMFAError, match="columns"):
        read_meld_csv(tmp_path / "bad.csv", "train")


def test_missing_csv_and_bad_target(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train_sent_emo.csv"):
        read_meld(tmp_path)
    with pytest.raises(ConfigError, match="target"):
        read_meld(corpus, target="valence")  # type: ignore[arg-type]


# --- the real CSVs ($MMFA_REAL_DATA/meld), when present -----------------------------------------

needs_real = pytest.mark.skipif(
    not (REAL_DATA and (REAL_MELD / "train_sent_emo.csv").is_file()),
    reason="real MELD CSVs: set MMFA_REAL_DATA to a folder holding meld/train_sent_emo.csv ...",
)


@needs_real
def test_real_csvs_counts() -> None:
    utts = read_meld(REAL_MELD, with_audio=False)
    assert Counter(u.split for u in utts) == {"train": 9989, "val": 1109, "test": 2610}
    counts = Counter((u.split, MELD_EMOTIONS[_index(u)]) for u in utts)
    want = {  # train/dev/test, docs/corpus_formats.md
        "neutral": (4710, 470, 1256), "joy": (1743, 163, 402), "surprise": (1205, 150, 281),
        "anger": (1109, 153, 345), "sadness": (683, 111, 208), "disgust": (271, 22, 68),
        "fear": (268, 40, 50),
    }  # fmt: skip
    for emotion, per_split in want.items():
        assert tuple(counts[(s, emotion)] for s in ("train", "val", "test")) == per_split


@needs_real
def test_real_repaired_and_2019_csvs_load_the_same() -> None:
    repaired, _ = read_meld_with_report(REAL_MELD, with_audio=False)
    original, report = read_meld_with_report(REAL_MELD / "original_2019_cp1252", with_audio=False)
    assert [(u.id, u.text, u.speaker, u.label) for u in repaired] == [
        (u.id, u.text, u.speaker, u.label) for u in original
    ]
    assert report["repaired_chars"] > 3000 and report["bad_time"] == 0
    assert not any("\x80" <= c <= "\x9f" for u in original for c in u.text)
