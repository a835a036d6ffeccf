"""IEMOCAP's dialogue-context option on the fake tree: earlier turns by start time, no labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmfa.corpora.iemocap import read_iemocap
from mmfa.errors import ConfigError
from mmfa.testing.fakes import fake_expected, write_fake_iemocap


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_iemocap(tmp_path_factory.mktemp("iemocap"), seed=4, utterances_per_dialog=5)


def _dialog(utt_id: str) -> str:
    return utt_id.rsplit("_", 1)[0]


def _turn(utt_id: str) -> int:
    """Position in the fake's dialog: it alternates F000, M000, F001, M001... in time."""
    suffix = utt_id.rsplit("_", 1)[1]
    return 2 * int(suffix[1:]) + (suffix[0] == "M")


def test_default_has_no_context(corpus: Path) -> None:
    assert all(u.context == () for u in read_iemocap(corpus))


@pytest.mark.parametrize(("turns", "names"), [(1, True), (3, True), (2, False)])
def test_context_is_the_earlier_transcribed_turns(corpus: Path, turns: int, names: bool) -> None:
    expected = fake_expected(corpus)["utterances"]
    plain = read_iemocap(corpus, "8class")
    utts = read_iemocap(corpus, "8class", context_turns=turns, context_speakers=names)
    assert [(u.id, u.text, u.label) for u in utts] == [(u.id, u.text, u.label) for u in plain]
    for u in utts:
        # Every transcribed turn before it in its dialog counts, labelled in this label set or
        # not (context is text only); the turn without a transcript line cannot.
        earlier = sorted(
            (k for k in expected if _dialog(k) == _dialog(u.id) and _turn(k) < _turn(u.id)),
            key=_turn,
        )
        rows = [expected[k] for k in earlier if expected[k]["text"] is not None]
        want = [f"{e['speaker']}: {e['text']}" if names else e["text"] for e in rows]
        assert list(u.context) == want[-turns:]


def test_dropped_turns_still_give_context(corpus: Path) -> None:
    # 4class drops some codes (e.g. fru, sur): their words still precede the next kept turn.
    four = {u.id: u for u in read_iemocap(corpus, "4class", context_turns=1)}
    eight = {u.id: u for u in read_iemocap(corpus, "8class", context_turns=1)}
    assert set(four) < set(eight)
    assert all(four[k].context == eight[k].context for k in four)


def test_bad_context_turns_names_the_key(corpus: Path) -> None:
    with pytest.raises(ConfigError, match="context_turns"):
        read_iemocap(corpus, context_turns=-2)


def test_datamodule_option_reaches_the_manifest(corpus: Path, tmp_path: Path) -> None:
    from mmfa.datamodules.iemocap import IEMOCAPDataModule

    dm = IEMOCAPDataModule(root=str(corpus), use_audio=False, cache_dir=str(tmp_path))
    assert all(u.context == () for u in dm.load_manifest())  # off by default
    dm = IEMOCAPDataModule(
        root=str(corpus), use_audio=False, cache_dir=str(tmp_path), context_turns=2
    )
    assert dm.load_manifest() == read_iemocap(corpus, context_turns=2)
    with pytest.raises(ConfigError, match="data.context_turns"):
        IEMOCAPDataModule(root=str(corpus), use_audio=False, context_turns=1.5)  # type: ignore[arg-type]
