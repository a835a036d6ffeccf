"""Bad input through the real pipeline (openSMILE + MiniLM): counted skips, or a named error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mmfa.datamodules.base import EmotionDataModule
from mmfa.errors import BadInputError
from mmfa.manifest import Utterance
from mmfa.testing.media import tone, write_wav

EXPECTED_SKIPS = {
    "missing": 1,
    "unreadable": 1,
    "empty": 1,
    "silent": 1,
    "too_short": 1,
    "non_finite": 1,
    "empty_transcript": 1,
}


class TinyCorpus(EmotionDataModule):
    class_names = ("a", "b")
    test_after_fit = False  # train/val only: these tests never test after fitting

    def __init__(self, utterances: list[Utterance], **kwargs: object) -> None:
        self._utterances = utterances
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def load_manifest(self) -> list[Utterance]:
        return self._utterances


def make_corpus(root: Path) -> list[Utterance]:
    root.mkdir(parents=True, exist_ok=True)
    utts = []
    for i in range(6):  # good ones, both splits
        path = write_wav(root / f"good{i}.wav", tone(0.5 + 0.1 * i, seed=i))
        utts.append(
            Utterance(
                f"good{i}",
                path,
                f"some words {i}",
                i % 2,
                f"s{i}",
                split="train" if i < 4 else "val",
            )
        )
    (root / "corrupt.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    sf.write(root / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    write_wav(root / "silent.wav", np.zeros(16000, dtype=np.float32))
    write_wav(root / "short.wav", tone(0.05))
    nan = tone(0.5)
    nan[100:200] = np.nan
    sf.write(root / "nan.wav", nan, 16000, subtype="FLOAT")
    bad = {
        "missing": root / "absent.wav",
        "corrupt": root / "corrupt.wav",
        "empty": root / "empty.wav",
        "silent": root / "silent.wav",
        "short": root / "short.wav",
        "nan": root / "nan.wav",
    }
    for name, path in bad.items():
        utts.append(Utterance(f"bad_{name}", path, "words here", 0, "s9", split="train"))
    utts.append(Utterance("bad_text", root / "good0.wav", "  ", 0, "s9", split="train"))
    return utts


def test_bad_inputs_are_skipped_counted_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dm = TinyCorpus(make_corpus(tmp_path / "c"), cache_dir=str(tmp_path / "cache"), batch_size=2)
    with caplog.at_level("WARNING"):
        dm.setup("fit")
    assert dm.feature_report is not None
    assert dict(dm.feature_report.skip_counts()) == EXPECTED_SKIPS
    assert "Skipped 7 utterances" in caplog.text and "bad_" in caplog.text
    assert len(dm.refs["train"]) == 4 and len(dm.refs["val"]) == 2
    for batch in dm.train_dataloader():  # nothing non-finite reaches training
        assert torch.isfinite(batch["audio"]).all() and torch.isfinite(batch["text"]).all()


@pytest.mark.parametrize(
    "bad_id", ["bad_missing", "bad_corrupt", "bad_silent", "bad_nan", "bad_text"]
)
def test_error_policy_names_the_utterance(tmp_path: Path, bad_id: str) -> None:
    utts = [u for u in make_corpus(tmp_path / "c") if not u.id.startswith("bad_") or u.id == bad_id]
    dm = TinyCorpus(utts, cache_dir=str(tmp_path / "cache"), on_bad_input="error")
    with pytest.raises(BadInputError, match=bad_id):
        dm.setup("fit")
