"""Item 10: truncated wavs and float samples beyond full scale are named and skipped, not used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmfa.errors import BadInputError
from mmfa.features.audio import MFCCExtractor
from mmfa.features.audio_io import read_audio
from mmfa.features.pipeline import FeaturePipeline
from mmfa.manifest import Utterance
from mmfa.testing.media import tone, write_wav


def _truncated(path: Path) -> Path:
    write_wav(path, tone(1.0))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a download or copy cut short
    return path


def test_truncated_wav_is_named(tmp_path: Path) -> None:
    path = _truncated(tmp_path / "cut.wav")
    with pytest.raises(BadInputError) as info:
        read_audio(path, utterance_id="cut")
    assert info.value.reason == "truncated" and str(path) in info.value.detail
    assert "50%" in info.value.detail


def test_wav_with_unknown_length_header_is_read(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "stream.wav", tone(0.5))
    data = bytearray(path.read_bytes())
    at = data.index(b"data") + 4
    data[at : at + 4] = (0xFFFFFFFF).to_bytes(4, "little")  # what streaming writers put there
    path.write_bytes(bytes(data))
    assert len(read_audio(path, utterance_id="s")) == 8000


def test_float_samples_beyond_full_scale_are_named(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "loud.wav", 3.0 * tone(0.5), subtype="FLOAT")
    with pytest.raises(BadInputError) as info:
        read_audio(path, utterance_id="loud")
    assert info.value.reason == "out_of_range" and "1.5" in info.value.detail


def test_float_samples_within_full_scale_are_fine(tmp_path: Path) -> None:
    signal = tone(0.5)
    signal[100] = 1.0  # exactly full scale is allowed
    path = write_wav(tmp_path / "ok.wav", signal, subtype="FLOAT")
    np.testing.assert_allclose(read_audio(path, utterance_id="ok"), signal, atol=1e-6)


def test_pipeline_skips_and_counts_them(tmp_path: Path) -> None:
    utts = [
        Utterance("good", write_wav(tmp_path / "good.wav", tone(0.5)), "fine words", 0, "a"),
        Utterance("cut", _truncated(tmp_path / "cut.wav"), "cut words", 1, "a"),
        Utterance(
            "loud",
            write_wav(tmp_path / "loud.wav", 3.0 * tone(0.5), subtype="FLOAT"),
            "loud words",
            1,
            "a",
        ),
    ]
    refs, report = FeaturePipeline(
        tmp_path / "cache", MFCCExtractor(), None, num_workers=1, progress=False
    ).run(utts)
    assert [utts[r.index].id for r in refs] == ["good"]
    assert report.skip_counts() == {"truncated": 1, "out_of_range": 1}
