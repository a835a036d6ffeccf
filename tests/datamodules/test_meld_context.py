"""MELD's dialogue-context option on the fake MELD.Raw tree: earlier turns only, no labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmfa.corpora.meld import read_meld
from mmfa.errors import ConfigError
from mmfa.testing.fakes import fake_expected, write_fake_meld


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_meld(tmp_path_factory.mktemp("meld"), seed=3, rows_per_split=(12, 6, 6))


def _key(utt_id: str) -> tuple[str, int, int]:
    split, dia, utt = utt_id.split("_")
    return split, int(dia.removeprefix("dia")), int(utt.removeprefix("utt"))


def _expected_context(expected: dict[str, Any], utt_id: str, turns: int, names: bool) -> tuple:
    """The ``turns`` rows before ``utt_id`` in its split and dialogue, from expected.json."""
    split, dia, utt = _key(utt_id)
    earlier = sorted(
        (k for k in expected["utterances"] if _key(k)[:2] == (split, dia) and _key(k)[2] < utt),
        key=lambda k: _key(k)[2],
    )[-turns:]
    rows = [expected["utterances"][k] for k in earlier]
    return tuple(f"{r['speaker']}: {r['text']}" if names else r["text"] for r in rows)


def test_default_has_no_context(corpus: Path) -> None:
    assert all(u.context == () for u in read_meld(corpus, with_audio=False))


@pytest.mark.parametrize(("turns", "names"), [(1, True), (2, True), (3, False)])
def test_context_is_the_earlier_turns_of_the_dialogue(
    corpus: Path, turns: int, names: bool
) -> None:
    expected = fake_expected(corpus)
    plain = read_meld(corpus, with_audio=False)
    utts = read_meld(corpus, with_audio=False, context_turns=turns, context_speakers=names)
    assert [u.id for u in utts] == [u.id for u in plain]  # same manifest, same order
    with_context = 0
    for u, p in zip(utts, plain, strict=True):
        assert (u.text, u.label, u.speaker, u.split) == (p.text, p.label, p.speaker, p.split)
        assert u.context == _expected_context(expected, u.id, turns, names)
        with_context += bool(u.context)
    assert with_context > 0  # the fake has dialogues of several turns


def test_context_is_only_earlier_text_of_the_same_dialogue(corpus: Path) -> None:
    expected = fake_expected(corpus)["utterances"]
    utts = read_meld(corpus, with_audio=False, context_turns=50)
    for u in utts:
        split, dia, turn = _key(u.id)
        earlier = [
            f"{expected[k]['speaker']}: {expected[k]['text']}"
            for k in sorted(expected, key=lambda k: _key(k)[2])
            if _key(k)[:2] == (split, dia) and _key(k)[2] < turn
        ]
        # All earlier turns (50 is more than any fake dialogue has), in order; nothing else:
        # no later turn, no other dialogue, no label.
        assert list(u.context) == earlier


def test_bad_context_turns_names_the_key(corpus: Path) -> None:
    with pytest.raises(ConfigError, match="context_turns"):
        read_meld(corpus, with_audio=False, context_turns=-1)


def test_datamodule_option_reaches_the_manifest(corpus: Path, tmp_path: Path) -> None:
    from mmfa.datamodules.meld import MELDDataModule

    dm = MELDDataModule(root=str(corpus), use_audio=False, cache_dir=str(tmp_path))
    assert all(u.context == () for u in dm.load_manifest())  # off by default
    dm = MELDDataModule(
        root=str(corpus), use_audio=False, cache_dir=str(tmp_path), context_turns=2,
        context_speakers=False,
    )  # fmt: skip
    assert dm.load_manifest() == read_meld(
        corpus, with_audio=False, context_turns=2, context_speakers=False
    )
    with pytest.raises(ConfigError, match="data.context_turns"):
        MELDDataModule(root=str(corpus), use_audio=False, context_turns=-1)
