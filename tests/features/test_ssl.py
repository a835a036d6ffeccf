"""SSLFrontEnd with a tiny randomly initialised wav2vec 2.0 built here (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mmfa.errors import BadInputError, ConfigError, ModelUnavailableError
from mmfa.features.frontend import AudioFrontEnd
from mmfa.features.pipeline import FeaturePipeline
from mmfa.features.ssl import SSLFrontEnd
from mmfa.manifest import Utterance
from mmfa.testing.media import tone, write_wav


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,  # the real CNN strides (320 samples per frame), narrow channels
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    folder = tmp_path_factory.mktemp("tiny-wav2vec2")
    Wav2Vec2Model(config).save_pretrained(folder)
    return folder


def test_shape_rate_and_contract(tiny_model: Path) -> None:
    frontend = SSLFrontEnd(model=str(tiny_model))
    assert isinstance(frontend, AudioFrontEnd)
    assert frontend.dim == 32 and frontend.num_layers == 3
    assert frontend.frame_rate == pytest.approx(50.0) and frontend.min_samples == 400
    for n in (400, 16000, 23456):
        feats = frontend.from_signal(tone(n / 16000, seed=n), "u")
        assert feats.shape == ((n - 400) // 320 + 1, 32) and feats.dtype == np.float32


def test_layers_are_the_encoders_hidden_states(tiny_model: Path) -> None:
    from transformers import AutoModel

    x = tone(1.0, seed=1)
    normed = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    with torch.inference_mode():
        states = AutoModel.from_pretrained(tiny_model)(
            torch.from_numpy(normed)[None], output_hidden_states=True
        ).hidden_states
    for layer, expected in ((0, states[0]), (2, states[2]), (-1, states[3])):
        got = SSLFrontEnd(model=str(tiny_model), layer=layer).from_signal(x, "u")
        np.testing.assert_allclose(got, expected[0].numpy(), atol=1e-5)
    mean = SSLFrontEnd(model=str(tiny_model), layer="mean").from_signal(x, "u")
    np.testing.assert_allclose(mean, torch.stack(states).mean(0)[0].numpy(), atol=1e-5)


def test_frozen_and_settings(tiny_model: Path) -> None:
    frontend = SSLFrontEnd(model=str(tiny_model), layer=2)
    frontend.from_signal(tone(0.5), "u")
    assert not any(p.requires_grad for p in frontend._encoder.parameters())
    assert not frontend._encoder.training
    settings = frontend.settings()
    assert settings["extractor"] == "ssl" and settings["layer"] == 2 and settings["dim"] == 32
    assert SSLFrontEnd(model=str(tiny_model), layer="mean").settings()["layer"] == "mean"
    assert SSLFrontEnd(model=str(tiny_model), layer=-2).settings()["layer"] == 2  # same as 2
    with pytest.raises(ConfigError, match="outside"):
        SSLFrontEnd(model=str(tiny_model), layer=7).settings()


def test_too_short_is_a_bad_input(tiny_model: Path) -> None:
    with pytest.raises(BadInputError) as info:
        SSLFrontEnd(model=str(tiny_model)).from_signal(np.ones(300, np.float32) * 0.1, "tiny")
    assert info.value.reason == "too_short"


def test_missing_model_fails_fast_and_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast means: no network attempt at all (a timing bound failed on a busy machine)."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("SSLFrontEnd tried the network")

    monkeypatch.setattr("socket.socket.connect", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    with pytest.raises(ModelUnavailableError, match="hf download"):
        _ = SSLFrontEnd(model="no-such-org/no-such-speech-model").dim


def test_feeds_the_feature_pipeline(tmp_path: Path, tiny_model: Path) -> None:
    utts = [
        Utterance(
            f"u{i}", write_wav(tmp_path / f"u{i}.wav", tone(0.5 + i * 0.2, seed=i)), "w", 0, "s"
        )
        for i in range(3)
    ]
    frontend = SSLFrontEnd(model=str(tiny_model))
    pipeline = FeaturePipeline(tmp_path / "cache", frontend, None, progress=False)
    refs, report = pipeline.run(utts)
    assert report.extracted["audio"] == 3 and pipeline.audio_store is not None
    assert pipeline.audio_store.get_row(refs[2].audio_row).shape == ((14400 - 400) // 320 + 1, 32)
