"""Bounded memory: one 10-minute clip in a tiny corpus is cut (and counted) or stopped, by name."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import pytest

import mmfa.datamodules.sampler as sampler
from mmfa.datamodules.base import EmotionDataModule
from mmfa.errors import MMFAError
from mmfa.features.torch_mfcc import TorchMFCCExtractor
from mmfa.fusion.single import AudioOnly
from mmfa.manifest import Utterance
from mmfa.models.task import EmotionTask
from mmfa.testing.media import tone, write_wav

LONG_SECONDS = 600.0


class TinyCorpus(EmotionDataModule):
    class_names = ("a", "b")

    def __init__(self, utterances: list[Utterance], **kwargs: object) -> None:
        self._utterances = utterances
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def load_manifest(self) -> list[Utterance]:
        return self._utterances


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Utterance]:
    root = tmp_path_factory.mktemp("long-corpus")
    # A 10-minute recording (a whole session left in by mistake), as 1 s repeated: cheap to make.
    one_second = tone(1.0, freq=140.0, seed=99)
    long_path = write_wav(root / "session.wav", np.tile(one_second, int(LONG_SECONDS)))
    utts = [Utterance("runaway_session", long_path, "w", 0, "s0", split="train")]
    for i in range(11):
        path = write_wav(root / f"u{i}.wav", tone(0.6 + 0.2 * i, freq=110.0 + 15 * i, seed=i))
        split = ("train", "train", "val", "test")[i % 4]
        utts.append(Utterance(f"u{i}", path, "w", i % 2, f"s{i % 4}", split=split))
    return utts


def test_default_cap_cuts_the_clip_counts_it_and_trains(
    tmp_path: Path, corpus: list[Utterance], caplog: pytest.LogCaptureFixture
) -> None:
    dm = TinyCorpus(corpus, use_text=False, cache_dir=str(tmp_path / "cache"), batch_size=4)
    assert dm.max_clip_seconds == 60.0 and dm.audio is not None
    assert dm.audio.max_seconds == 60.0  # the corpus default reached the front-end
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert "1 of 12 clips are longer than max_seconds=60" in caplog.text
    assert "runaway_session" in caplog.text and "data.max_clip_seconds" in caplog.text
    store = dm._pipeline.audio_store if dm._pipeline else None
    assert store is not None
    long_ref = next(r for r in dm.refs["train"] if dm.utterances[r.index].id == "runaway_session")
    assert store.get_row(long_ref.audio_row).shape == ((60 * 16000 - 1600) // 800 + 1, 39)

    model = EmotionTask(fusion=AudioOnly, audio_dim=dm.audio_dim, text_dim=0, num_outputs=2)
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(model, dm)
    assert trainer.state.finished


def test_without_a_cap_training_stops_at_once_naming_clip_and_setting(
    tmp_path: Path, corpus: list[Utterance], monkeypatch: pytest.MonkeyPatch
) -> None:
    dm = TinyCorpus(
        corpus,
        audio=TorchMFCCExtractor(),  # fast on 10 minutes; the check is the same for any front-end
        use_text=False,
        cache_dir=str(tmp_path / "cache"),
        batch_size=4,
        max_clip_seconds=None,
    )
    # 4 x 12,000 frames need about 70 GiB of attention: more than this machine is told it has.
    monkeypatch.setattr(sampler, "available_memory", lambda device="cpu": 8 * 2**30)
    dm.setup("fit")
    with pytest.raises(MMFAError) as info:
        dm.train_dataloader()
    message = str(info.value)
    assert "runaway_session" in message and "600 s" in message
    assert "data.max_clip_seconds" in message and "data.batch_size" in message


def test_attention_estimate_grows_with_the_square_of_the_length() -> None:
    assert sampler.attention_bytes(16, 2400) == 4 * sampler.attention_bytes(16, 1200)
    # 16 clips of 30 s (600 frames at 20 frames/s) stay well under a gigabyte
    assert sampler.attention_bytes(16, 600) < 2**30
