"""Dialogue context: the earlier turns as a first segment, the utterance's own rows as output."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on the network

import numpy as np
import pytest

from mmfa.dialogue import add_dialogue_context, check_context_size, earlier_turns, format_turn
from mmfa.errors import ConfigError
from mmfa.features.pipeline import FeaturePipeline
from mmfa.features.store import text_key
from mmfa.features.text import TextFeatureExtractor
from mmfa.manifest import Utterance

TURNS = [
    ("Ross", "I got the job."),
    ("Rachel", "What job?"),
    ("Ross", "The museum job!"),
    ("Rachel", "Really?"),
]


def utt(dia: int, turn: int, text: str, speaker: str = "A", label: int = 0) -> Utterance:
    return Utterance(
        id=f"train_dia{dia}_utt{turn}",
        audio_path=None,
        text=text,
        label=label,
        speaker=speaker,
        split="train",
        group=f"dia{dia}",
    )


def run(ex: TextFeatureExtractor, texts: list[str], contexts: list | None = None) -> dict:
    ids = [f"u{i}" for i in range(len(texts))]
    out = dict(ex.extract_many(texts, ids, contexts=contexts, progress=False))
    assert sorted(out) == list(range(len(texts)))
    return out


@pytest.fixture(scope="module")
def word() -> TextFeatureExtractor:
    return TextFeatureExtractor(batch_size=2)


# -- the turns ------------------------------------------------------------------------------------
def test_earlier_turns_are_only_earlier_and_at_most_size() -> None:
    ctx = earlier_turns(TURNS, 2)
    assert ctx[0] == ()
    assert ctx[1] == ("Ross: I got the job.",)
    assert ctx[3] == ("Rachel: What job?", "Ross: The museum job!")  # oldest first, no "Really?"
    assert earlier_turns(TURNS, 0) == [()] * 4
    assert earlier_turns(TURNS, 2, speaker_names=False)[3] == ("What job?", "The museum job!")


def test_format_turn_normalises_whitespace() -> None:
    assert format_turn(" The  Interviewer ", "so\n  what?") == "The Interviewer: so what?"
    assert format_turn("", "hi") == "hi"


@pytest.mark.parametrize("size", [-1, 1.5, "2", True])
def test_bad_context_size_names_the_key(size: object) -> None:
    with pytest.raises(ConfigError, match="data.context_turns"):
        check_context_size(size)  # type: ignore[arg-type]


def test_add_dialogue_context_orders_within_each_dialogue_and_keeps_manifest_order() -> None:
    # Manifest order scrambled; two dialogues with the same turn numbers never mix.
    manifest = [
        utt(1, 1, "b1", "Y", label=3),
        utt(0, 2, "a2", "X"),
        utt(1, 0, "b0", "X", label=5),
        utt(0, 0, "a0", "X"),
        utt(0, 1, "a1", "Y"),
    ]
    out = add_dialogue_context(
        manifest,
        5,
        dialogue_of=lambda u: u.group,
        position_of=lambda u: int(u.id.rsplit("utt", 1)[1]),
    )
    assert [u.id for u in out] == [u.id for u in manifest]
    by_id = {u.id: u.context for u in out}
    assert by_id["train_dia0_utt0"] == ()
    assert by_id["train_dia0_utt2"] == ("X: a0", "Y: a1")
    assert by_id["train_dia1_utt1"] == ("X: b0",)  # text only: never the label
    assert all("3" not in c and "5" not in c for u in out for c in u.context)
    assert add_dialogue_context(manifest, 0, dialogue_of=id, position_of=id) == manifest


# -- the cache key --------------------------------------------------------------------------------
def test_text_key_separates_context() -> None:
    plain = text_key("Really?")
    assert text_key("Really?", ()) == plain  # caches made before context existed stay valid
    one = text_key("Really?", ("Ross: The museum job!",))
    two = text_key("Really?", ("Rachel: What job?", "Ross: The museum job!"))
    assert len({plain, one, two}) == 3
    # The turn boundaries are part of the key, not just the concatenated text.
    assert text_key("c", ("a", "b")) != text_key("c", ("a b",))


# -- the encoder ----------------------------------------------------------------------------------
def test_context_changes_rows_not_shape(word: TextFeatureExtractor) -> None:
    texts = ["Really?", "Oh my God, you got the job!"]
    alone = run(word, texts)
    ctx = [("Ross: I got the job.", "Rachel: What job?"), ("Ross: The museum job!",)]
    paired = run(word, texts, ctx)
    for i in range(2):
        assert paired[i].shape == alone[i].shape  # one row per word of the utterance only
        assert not np.allclose(paired[i], alone[i], atol=1e-3)
    # No context (None or empty) is exactly the context-free encoding.
    same = run(word, texts, [(), ("   ",)])
    for i in range(2):
        np.testing.assert_array_equal(same[i], alone[i])


def test_context_rows_equal_the_pair_encoding_by_hand(word: TextFeatureExtractor) -> None:
    import torch

    word._load()
    tok, enc = word._tokenizer, word._encoder
    batch = tok("Ross: I got the job.", "Really?", return_tensors="pt")
    with torch.inference_mode():
        hidden = enc(**batch).last_hidden_state[0]
    second = [p for p, s in enumerate(batch.sequence_ids(0)) if s == 1]
    # "Really?" is one word of two pieces ("really", "?"): its row is their mean.
    expected = hidden[second].mean(dim=0).numpy()
    got = run(word, ["Really?"], [("Ross: I got the job.",)])[0]
    assert got.shape == (1, 384)
    np.testing.assert_allclose(got[0], expected, atol=1e-5)


def test_mixed_batches_match_separate_runs(word: TextFeatureExtractor) -> None:
    texts = ["Really?", "fine", "What job?", "Yes."]
    ctx = [("Ross: I got the job.",), (), ("Ross: I got the job.",), ()]
    mixed = run(word, texts, ctx)
    for i in range(4):
        np.testing.assert_allclose(mixed[i], run(word, [texts[i]], [ctx[i]])[0], atol=1e-5)


def test_long_context_keeps_latest_whole_words(word: TextFeatureExtractor) -> None:
    word._load()
    short = TextFeatureExtractor(max_length=8)
    short._tokenizer, short._encoder = word._tokenizer, word._encoder  # no second load
    # 3 special tokens + "yes" (1 piece) leave room for 4 context pieces, filled with the
    # latest whole words. "unbelievably" is 5 pieces: as the latest word it fits not even
    # alone, so the context is empty; as the oldest, "A: oh no" (a : oh no) fits before it.
    out = run(short, ["yes"], [("A: oh no unbelievably",)])
    assert short.context_trimmed == 1
    np.testing.assert_array_equal(out[0], run(short, ["yes"])[0])
    out = run(short, ["yes"], [("unbelievably A: oh no",)])
    assert short.context_trimmed == 1  # "unbelievably" dropped, "A: oh no" kept
    np.testing.assert_allclose(out[0], run(short, ["yes"], [("A: oh no",)])[0], atol=1e-6)
    assert short.truncated == 0


def test_contexts_must_be_parallel(word: TextFeatureExtractor) -> None:
    with pytest.raises(ValueError, match="contexts"):
        list(word.extract_many(["a", "b"], ["u0", "u1"], contexts=[()], progress=False))


# -- through the pipeline -------------------------------------------------------------------------
class RecordingText:
    """A text extractor that records what it is asked (the real one is tested above)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def settings(self) -> dict:
        return {"extractor": "recording"}

    def extract_many(self, texts, ids, progress=True, **kwargs):  # noqa: ANN001, ANN003, ANN201
        self.calls.append({"texts": list(texts), **kwargs})
        for i, text in enumerate(texts):
            ctx = (kwargs.get("contexts") or [()] * len(texts))[i]
            yield i, np.full((len(text.split()), 2), float(len(ctx)), np.float32)


def test_pipeline_keys_and_caches_with_context(tmp_path: Path) -> None:
    plain = [utt(0, 0, "hi there", "X"), utt(0, 1, "hi there", "Y")]
    with_ctx = add_dialogue_context(
        plain, 1, dialogue_of=lambda u: u.group, position_of=lambda u: u.id
    )
    text = RecordingText()
    pipe = FeaturePipeline(tmp_path, None, text, progress=False)  # type: ignore[arg-type]
    refs, report = pipe.run(plain)
    assert "contexts" not in text.calls[-1]  # context-free corpora: the old call
    assert refs[0].text_row == refs[1].text_row  # one transcript, one entry
    refs2, report2 = pipe.run(with_ctx)
    assert text.calls[-1]["contexts"] == [("X: hi there",)]  # only the new key is extracted
    assert report2.reused["text"] == 1 and report2.extracted["text"] == 1
    assert refs2[0].text_row == refs[0].text_row  # the first turn has no context: same entry
    assert refs2[1].text_row != refs[1].text_row
    store = pipe.text_store
    assert store is not None
    assert store.get_row(refs2[1].text_row)[0, 0] == 1.0  # encoded with its one context turn
    assert store.get_row(refs[1].text_row)[0, 0] == 0.0
