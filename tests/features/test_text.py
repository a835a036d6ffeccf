from __future__ import annotations

import os
import pickle
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on the network (docs/performance.md)

import numpy as np
import pytest
import torch

from mmfa.errors import BadInputError, ConfigError, ModelUnavailableError
from mmfa.features.text import TextFeatureExtractor, resolve_model, split_words

TEXTS = [
    "Oh, I can't believe it. [LAUGHTER]",
    "unbelievably uncharacteristic",
    "Yes.",
    "   ",
    "This is a somewhat longer transcript with more words than the others",
]
IDS = [f"Ses01F_impro01_F00{i}" for i in range(len(TEXTS))]


def run(ex: TextFeatureExtractor, texts: list[str], ids: list[str] | None = None) -> dict:
    ids = ids or [f"u{i}" for i in range(len(texts))]
    out = dict(ex.extract_many(texts, ids, progress=False))
    assert sorted(out) == list(range(len(texts)))
    return out


@pytest.fixture(scope="module")
def word() -> TextFeatureExtractor:
    return TextFeatureExtractor(batch_size=2)


@pytest.fixture(scope="module")
def token() -> TextFeatureExtractor:
    return TextFeatureExtractor(pooling="token")


@pytest.fixture(scope="module")
def word_out(word: TextFeatureExtractor) -> dict:
    return run(word, TEXTS, IDS)


@pytest.fixture(scope="module")
def bert768(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("bert768")
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=768, num_hidden_layers=2, num_attention_heads=12, intermediate_size=256
    )
    BertModel(config).save_pretrained(folder)
    # Same uncased WordPiece vocabulary as bert-base, so the MiniLM tokenizer fits.
    AutoTokenizer.from_pretrained(resolve_model("minilm"), local_files_only=True).save_pretrained(
        folder
    )
    return folder


def test_resolve_model(tmp_path: Path) -> None:
    packaged = resolve_model("minilm")
    assert Path(packaged, "config.json").is_file()
    assert resolve_model("all-MiniLM-L6-v2") == packaged
    assert resolve_model("sentence-transformers/all-MiniLM-L6-v2") == packaged
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("bert-base-uncased") == "bert-base-uncased"


def test_construction_is_lazy_and_picklable() -> None:
    ex = TextFeatureExtractor(model="no/such-model")  # nothing is looked up yet
    assert ex._encoder is None
    clone = pickle.loads(pickle.dumps(ex))
    assert clone.model == "no/such-model"


@pytest.mark.parametrize("kwargs", [{"pooling": "mean"}, {"max_length": 2}, {"batch_size": 0}])
def test_bad_settings_raise(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        TextFeatureExtractor(**kwargs)


def test_minilm_dim(word: TextFeatureExtractor) -> None:
    assert word.dim == 384


def test_word_pooling_rows_are_words(word_out: dict) -> None:
    for i, text in enumerate(TEXTS):
        if not text.strip():
            continue
        feats = word_out[i]
        assert isinstance(feats, np.ndarray)
        assert feats.dtype == np.float32
        assert feats.shape == (len(split_words(text)), 384)
        assert np.isfinite(feats).all()
    # The IEMOCAP marker is one word, not three ("[", "laughter", "]").
    assert word_out[0].shape[0] == 6  # Oh, | I | can't | believe | it. | [LAUGHTER]


def test_token_pooling_rows_are_pieces(token: TextFeatureExtractor) -> None:
    out = run(token, TEXTS[:3])
    token._load()
    for i, text in enumerate(TEXTS[:3]):
        n_pieces = len(token._tokenizer.tokenize(text))
        assert n_pieces > len(split_words(text))  # pieces and words really differ here
        assert out[i].shape == (n_pieces, 384)


def test_word_is_mean_of_its_pieces(
    word: TextFeatureExtractor, token: TextFeatureExtractor
) -> None:
    text = "unbelievably nice"
    token._load()
    pieces = token._tokenizer.tokenize("unbelievably")
    assert len(pieces) > 2  # a word that splits into several pieces
    w = run(word, [text])[0]
    t = run(token, [text])[0]
    np.testing.assert_allclose(w[0], t[: len(pieces)].mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(w[1], t[len(pieces)], atol=1e-5)


def test_deterministic_and_batch_independent(word: TextFeatureExtractor, word_out: dict) -> None:
    again = run(word, TEXTS[::-1])  # other order, other batches, other padding
    for i in range(len(TEXTS)):
        j = len(TEXTS) - 1 - i
        if isinstance(word_out[i], np.ndarray):
            np.testing.assert_allclose(again[j], word_out[i], atol=1e-5)


def test_empty_transcript_is_yielded(word_out: dict) -> None:
    err = word_out[3]
    assert isinstance(err, BadInputError)
    assert err.utterance_id == IDS[3]
    assert err.reason == "empty_transcript"


def test_only_unknown_format_characters_is_empty(word: TextFeatureExtractor) -> None:
    out = run(word, ["\u200b", "hi \u200b there"])
    assert isinstance(out[0], BadInputError) and out[0].reason == "empty_transcript"
    assert out[1].shape == (2, 384)  # the word the tokenizer drops has no row


def test_truncation_is_counted_and_keeps_whole_words(word: TextFeatureExtractor) -> None:
    word._load()
    short = TextFeatureExtractor(max_length=6)
    short._tokenizer, short._encoder = word._tokenizer, word._encoder  # no second load
    # 2 + 5 pieces ("un", "##bel", ...) + 1: room for 4 pieces cuts "unbelievably" in two.
    out = run(short, ["oh no unbelievably yes", "fine"])
    assert short.truncated == 1
    assert out[0].shape == (2, 384)  # "oh", "no"; the half word is dropped
    assert out[1].shape == (1, 384)
    run(word, ["fine"])
    assert word.truncated == 0


def test_settings_change_with_what_changes_output(bert768: Path) -> None:
    base = TextFeatureExtractor().settings()
    assert base["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert TextFeatureExtractor(model="all-MiniLM-L6-v2").settings() == base
    assert TextFeatureExtractor(model=resolve_model("minilm")).settings() == base
    assert TextFeatureExtractor(batch_size=3).settings() == base  # does not change the output
    assert TextFeatureExtractor(pooling="token").settings() != base
    assert TextFeatureExtractor(max_length=128).settings() != base
    other = TextFeatureExtractor(model=str(bert768)).settings()
    assert other != base and other["model"] == bert768.name
    assert str(bert768) not in str(other)  # a moved folder keeps its cache


def test_settings_follow_the_weights(bert768: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / bert768.name
    shutil.copytree(bert768, copy)
    before = TextFeatureExtractor(model=str(copy)).settings()
    assert before == TextFeatureExtractor(model=str(bert768)).settings()
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # same size, one weight byte differs
    weights.write_bytes(bytes(data))
    assert TextFeatureExtractor(model=str(copy)).settings() != before


def test_local_768_folder(bert768: Path) -> None:
    ex = TextFeatureExtractor(model=str(bert768))
    assert ex.dim == 768
    assert ex._encoder is None  # dim read from the config only
    out = run(ex, TEXTS[:3])
    for i, text in enumerate(TEXTS[:3]):
        assert out[i].shape == (len(split_words(text)), 768)
    assert pickle.loads(pickle.dumps(ex))._encoder is None  # loaded model is not pickled


def test_missing_hub_model_fails_fast_and_helps() -> None:
    ex = TextFeatureExtractor(model="bert-base-uncased")
    with pytest.raises(ModelUnavailableError) as info:
        ex.dim  # noqa: B018
    msg = str(info.value)
    assert "bert-base-uncased" in msg and "local Hugging Face cache" in msg
    assert "hf download bert-base-uncased" in msg and "model: minilm" in msg
    with pytest.raises(ModelUnavailableError):
        ex.settings()
    with pytest.raises(ModelUnavailableError):
        list(ex.extract_many(["hello"], ["u0"], progress=False))


def test_missing_local_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="not a readable model folder"):
        TextFeatureExtractor(model=str(tmp_path / "nope")).dim  # noqa: B018
