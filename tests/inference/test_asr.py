"""Automatic transcripts: a tiny random wav2vec 2.0 CTC model built here (nothing downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmfa.errors import ModelUnavailableError
from mmfa.features.asr import Transcriber
from mmfa.testing.media import tone, write_wav


@pytest.fixture(scope="module")
def tiny_asr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    folder = tmp_path_factory.mktemp("tiny_asr")
    vocab = {"<pad>": 0, "<unk>": 1, "|": 2, **{c: i + 3 for i, c in enumerate("abcdefgh")}}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = Wav2Vec2CTCTokenizer(str(folder / "vocab.json"), word_delimiter_token="|")
    features = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0)
    config = Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(16, 16),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
        pad_token_id=0,
    )
    Wav2Vec2ForCTC(config).save_pretrained(folder)
    Wav2Vec2Processor(feature_extractor=features, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def test_transcribes_files_and_names_unreadable_ones(tiny_asr: Path, tmp_path: Path) -> None:
    good = write_wav(tmp_path / "a.wav", tone(1.0))
    bad = tmp_path / "b.wav"
    bad.write_bytes(b"not audio")
    texts = Transcriber(str(tiny_asr)).transcribe([good, bad], ["a", "b"])
    assert isinstance(texts[0], str)  # random weights: any string, but a string
    assert not isinstance(texts[1], str) and texts[1].utterance_id == "b"


def test_a_model_that_is_not_here_fails_fast_with_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="cannot be loaded offline"):
        Transcriber(str(tmp_path / "no-such-model")).transcribe(
            [write_wav(tmp_path / "a.wav", tone(0.5))], ["a"]
        )
