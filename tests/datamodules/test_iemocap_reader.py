"""The IEMOCAP reader on a fake tree in the real layout, and the leave-one-speaker-out folds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mmfa.corpora.iemocap import (
    IEMOCAP_LABEL_SETS,
    IEMOCAP_SPEAKERS,
    assign_iemocap_split,
    iemocap_folds,
    read_iemocap,
    read_iemocap_with_report,
    speaker_of,
)
from mmfa.errors import ConfigError
from mmfa.manifest import Utterance
from mmfa.testing.fakes import fake_expected, write_fake_iemocap


def _index(u: Utterance) -> int:
    assert isinstance(u.label, int)
    return u.label


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_iemocap(tmp_path_factory.mktemp("iemocap"), seed=3)


@pytest.fixture(scope="module")
def expected(corpus: Path) -> dict[str, Any]:
    return fake_expected(corpus)


@pytest.mark.parametrize("label_set", ["4class", "8class"])
@pytest.mark.parametrize("scenario", ["mixed", "improvised"])
def test_counts_match_the_tree(
    corpus: Path, expected: dict[str, Any], label_set: str, scenario: Any
) -> None:
    utts, report = read_iemocap_with_report(corpus, label_set, scenario)
    want = expected[label_set][scenario]
    classes = IEMOCAP_LABEL_SETS[label_set]
    assert len(utts) == want["total"]
    assert Counter(classes[_index(u)] for u in utts) == want["classes"]
    assert Counter(u.speaker for u in utts) == want["speakers"]
    assert report == want["report"]
    assert len({u.id for u in utts}) == len(utts)
    if scenario == "improvised":
        assert {u.group for u in utts} == {"improvised"}


def test_every_label_set_and_code_is_exercised(expected: dict[str, Any]) -> None:
    # The fake must hold every consensus code, so each mapping above is really checked.
    assert set(expected["codes"]) == {
        "neu", "fru", "ang", "sad", "hap", "sur", "exc", "fea", "xxx", "oth", "dis"
    }  # fmt: skip
    assert set(expected["8class"]["mixed"]["classes"]) == set(IEMOCAP_LABEL_SETS["8class"])


def test_utterance_fields(corpus: Path, expected: dict[str, Any]) -> None:
    utts = read_iemocap(corpus, "4class")
    happy = IEMOCAP_LABEL_SETS["4class"].index("happy")
    for u in utts:
        want = expected["utterances"][u.id]
        assert u.speaker == want["speaker"]
        assert u.text == want["text"]
        assert u.group == want["scenario"]
        assert u.split == ""
        assert u.extra["code"] == want["code"]
        assert u.extra["dialog"] == u.id.rsplit("_", 1)[0]
        assert u.audio_path is not None and u.audio_path.is_file()
        assert u.audio_path.parent.name == u.extra["dialog"]
        if want["code"] in ("hap", "exc"):  # paper: happy and excited merged
            assert u.label == happy
    assert not any("XX" in u.id for u in utts)  # cross-talk is never an utterance


def test_non_utf8_transcript_is_decoded(corpus: Path, expected: dict[str, Any]) -> None:
    # Some transcripts are not clean UTF-8; the fake writes "café" as cp1252.
    cafe = [k for k, v in expected["utterances"].items() if "café" in (v["text"] or "")]
    assert len(cafe) == 1
    utts = {u.id: u for u in read_iemocap(corpus, "4class")}
    assert utts[cafe[0]].text.endswith("café")


@pytest.mark.parametrize(
    ("utt_id", "speaker", "dialog"),
    [
        ("Ses03M_impro05a_F000", "Ses03F", "Ses03M_impro05a"),
        ("Ses03M_impro05b_M001", "Ses03M", "Ses03M_impro05b"),
        ("Ses03M_impro08a_F001", "Ses03F", "Ses03M_impro08a"),
        ("Ses05M_script01_1b_F000", "Ses05F", "Ses05M_script01_1b"),
        ("Ses01M_script01_1_F000", "Ses01F", "Ses01M_script01_1"),
    ],
)
def test_irregular_dialogs(
    corpus: Path, expected: dict[str, Any], utt_id: str, speaker: str, dialog: str
) -> None:
    assert speaker_of(utt_id) == speaker
    assert expected["utterances"][utt_id]["speaker"] == speaker
    assert (corpus / f"Session{utt_id[4]}/sentences/wav/{dialog}/{utt_id}.wav").is_file()
    for u in read_iemocap(corpus, "8class"):
        if u.id == utt_id:
            assert (u.speaker, u.extra["dialog"]) == (speaker, dialog)


def test_ten_speaker_independent_folds(corpus: Path) -> None:
    utts = read_iemocap(corpus, "8class")
    folds = iemocap_folds()
    assert len(folds) == 10 and [f[0] for f in folds] == list(IEMOCAP_SPEAKERS)
    assert len(set(IEMOCAP_SPEAKERS)) == 10
    for name, test, val in folds:
        assert name == test and test != val and test[:5] == val[:5]
        speakers: dict[str, set[str]] = {"train": set(), "val": set(), "test": set()}
        for u in utts:
            speakers[assign_iemocap_split(u, (name, test, val))].add(u.speaker)
        assert speakers["test"] == {test} and speakers["val"] == {val}
        assert speakers["train"] == set(IEMOCAP_SPEAKERS) - {test, val}
        assert {s[:5] for s in speakers["train"]}.isdisjoint({test[:5]})
        assert [assign_iemocap_split(u, name) for u in utts] == [
            assign_iemocap_split(u, (name, test, val)) for u in utts
        ]


def test_bad_fold_and_speaker() -> None:
    utt = Utterance("x_F000", None, "", 0, "Ses09F")
    with pytest.raises(ConfigError, match="Ses09F"):
        assign_iemocap_split(utt, "Ses01F")
    with pytest.raises(ConfigError, match="fold"):
        assign_iemocap_split(utt, "Ses06F")


def test_missing_root_says_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="IEMOCAP_full_release") as err:
        read_iemocap(tmp_path / "nowhere")
    assert "nowhere" in str(err.value)
    with pytest.raises(ConfigError, match="Session1"):
        read_iemocap(tmp_path)


def test_bad_arguments(corpus: Path) -> None:
    with pytest.raises(ConfigError, match="label_set"):
        read_iemocap(corpus, "5class")
    with pytest.raises(ConfigError, match="scenario"):
        read_iemocap(corpus, scenario="scripted")  # type: ignore[arg-type]


def test_deterministic(tmp_path: Path) -> None:
    a = write_fake_iemocap(tmp_path / "a", seed=1, utterances_per_dialog=2)
    b = write_fake_iemocap(tmp_path / "b", seed=1, utterances_per_dialog=2)
    assert [(u.id, u.text, u.label) for u in read_iemocap(a)] == [
        (u.id, u.text, u.label) for u in read_iemocap(b)
    ]
