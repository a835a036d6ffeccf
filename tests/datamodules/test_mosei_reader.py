"""The CMU-MOSEI reader on a fake raw release, and on the real segment table when available."""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from mmfa.corpora.mosei import read_mosei, read_mosei_folds, read_mosei_with_report
from mmfa.errors import ConfigError
from mmfa.testing.fakes import fake_expected, write_fake_mosei

#: Optional real data: a folder holding ``mosei/CMU_MOSEI_Labels.csv``. Unset, the real-data test
#: skips; nothing else is assumed.
REAL_DATA = os.environ.get("MMFA_REAL_DATA", "")
REAL_TABLE = Path(REAL_DATA) / "mosei" / "CMU_MOSEI_Labels.csv"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_mosei(tmp_path_factory.mktemp("mosei"), seed=4)


@pytest.fixture(scope="module")
def expected(corpus: Path) -> dict[str, Any]:
    return fake_expected(corpus)


def _in_folds(expected: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in expected["segments"].items() if v["split"] is not None}


def test_emotion6(corpus: Path, expected: dict[str, Any]) -> None:
    utts, report = read_mosei_with_report(corpus, "emotion6")
    want = {k: v for k, v in _in_folds(expected).items() if v["emotion6"] is not None}
    assert {u.id: u.label for u in utts} == {k: v["emotion6"] for k, v in want.items()}
    assert report == {
        "clamped_start": 1,
        "no_fold": 3,
        "all_zero": 1,
        "missing_transcript": 0,
        "missing_audio": 0,
    }


def test_emotion6_ties_go_to_the_first(corpus: Path, expected: dict[str, Any]) -> None:
    # The fake has sad == anger (-> sad, 1) and happy == fear (-> happy, 0).
    labels = {u.id: u.label for u in read_mosei(corpus)}
    videos = expected["order"]
    assert labels[f"{videos[0]}_1"] == 1
    assert labels[f"{videos[1]}_0"] == 0


def test_keep_all_zero_reproduces_the_table_label6(corpus: Path, tmp_path: Path) -> None:
    utts, report = read_mosei_with_report(corpus, "emotion6", keep_all_zero=True)
    assert report["all_zero"] == 1
    table = write_fake_mosei(tmp_path, seed=4, folds="table") / "CMU_MOSEI_Labels.csv"
    with table.open(encoding="utf-8", newline="") as f:
        label6 = {f"{r['file']}_{r['index']}": int(r["label6"]) for r in csv.DictReader(f)}
    assert utts and all(u.label == label6[u.id] for u in utts)


def test_multilabel_and_sentiment(corpus: Path, expected: dict[str, Any]) -> None:
    want = _in_folds(expected)
    multi = read_mosei(corpus, "multilabel")
    assert len(multi) == len(want)  # no segment is dropped for having no emotion
    for u in multi:
        assert isinstance(u.label, tuple) and len(u.label) == 6
        assert list(u.label) == want[u.id]["multilabel"]
    assert any(not any(u.label) for u in multi)  # type: ignore[arg-type]
    for u in read_mosei(corpus, "sentiment"):
        assert isinstance(u.label, float) and -3 <= u.label <= 3
        assert u.label == pytest.approx(want[u.id]["sentiment"])


def test_segment_fields(corpus: Path, expected: dict[str, Any]) -> None:
    want = _in_folds(expected)
    utts = read_mosei(corpus, "sentiment")
    assert {u.id for u in utts} == set(want)
    for u in utts:
        seg = want[u.id]
        video = u.id.rsplit("_", 1)[0]
        assert u.text == seg["text"]  # matched by time, not by segment number
        assert (u.start, u.end) == (pytest.approx(seg["start"]), pytest.approx(seg["end"]))
        assert u.split == seg["split"] == expected["videos"][video]
        assert u.speaker == video and u.group == video
        assert u.audio_path is not None and u.audio_path.is_file()
        assert u.audio_path.stem == video
    assert any("___" in u.text for u in utts)  # texts keep their underscores
    assert any("_" in u.speaker for u in utts)  # ids with underscores survive the split
    clamped = [u for u in utts if u.start == 0.0]
    assert len(clamped) == 1
    assert Counter(u.split for u in utts).keys() == {"train", "val", "test"}


def test_folds_from_json_and_from_table_agree(corpus: Path, tmp_path: Path) -> None:
    json_folds = read_mosei_folds(corpus)
    table_corpus = write_fake_mosei(tmp_path, seed=4, folds="table")
    assert not (table_corpus / "folds.json").exists()
    assert read_mosei_folds(table_corpus) == json_folds
    assert Counter(json_folds.values()) == {"train": 6, "val": 2, "test": 2}
    assert [(u.id, u.split) for u in read_mosei(table_corpus)] == [
        (u.id, u.split) for u in read_mosei(corpus)
    ]


def test_sdk_fold_names_are_accepted(corpus: Path, tmp_path: Path) -> None:
    import json

    folds = json.loads((corpus / "folds.json").read_text())
    sdk = {f"standard_{k}_fold": v for k, v in folds.items()}
    (tmp_path / "folds.json").write_text(json.dumps(sdk))
    assert read_mosei_folds(tmp_path) == read_mosei_folds(corpus)


def test_missing_files_are_named(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CMU_MOSEI_Labels.csd"):
        read_mosei(tmp_path)
    with pytest.raises(ConfigError, match="folds.json"):
        read_mosei_folds(tmp_path)
    (tmp_path / "folds.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="folds.json"):
        read_mosei_folds(tmp_path)
    with pytest.raises(ConfigError, match="task"):
        read_mosei(corpus, "emotion7")  # type: ignore[arg-type]


# --- the real segment table ($MMFA_REAL_DATA/mosei), when present -------------------------------


@pytest.mark.skipif(
    not (REAL_DATA and REAL_TABLE.is_file()),
    reason="real MOSEI table: set MMFA_REAL_DATA to a folder holding mosei/CMU_MOSEI_Labels.csv",
)
def test_real_table_folds() -> None:
    folds = read_mosei_folds(REAL_TABLE.parent)
    # The standard folds have 2,249 / 300 / 678 videos; 2 test videos have no labelled segment, so a
    # table of labelled segments can only name 676 of them.
    assert Counter(folds.values()) == {"train": 2249, "val": 300, "test": 676}
    with REAL_TABLE.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 23259
    assert sum(float(r["start"]) < 0 for r in rows) == 239
    rows_of: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        rows_of[r["file"]].append(int(r["index"]))
    # "index" is the row within a video's labels: the "<video>_<row>" ids line up with it.
    assert all(sorted(v) == list(range(len(v))) for v in rows_of.values())
