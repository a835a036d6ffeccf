"""read_audio: formats, resampling, downmix, segments, caps and every bad-input reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmfa.errors import BadInputError
from mmfa.features.audio_io import TARGET_SAMPLE_RATE, audio_duration, read_audio
from mmfa.testing.media import tone, write_mp4, write_wav


def _ramp_signal(seconds: float, sample_rate: int = 16000) -> np.ndarray:
    """A tone whose amplitude grows with time, so a wrong segment offset is visible."""
    x = tone(seconds, sample_rate)
    return (x * np.linspace(0.2, 1.0, len(x), dtype=np.float32)).astype(np.float32)


@pytest.mark.parametrize("rate", [44100, 8000, 22050, 48000])
def test_resamples_to_16k_with_right_length(tmp_path: Path, rate: int) -> None:
    path = write_wav(tmp_path / "a.wav", tone(1.5, rate), rate)
    x = read_audio(path, utterance_id="u")
    assert x.dtype == np.float32 and x.ndim == 1
    assert len(x) == 24000


def test_resampled_tone_keeps_its_pitch(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    path = write_wav(tmp_path / "a.wav", 0.5 * np.sin(2 * np.pi * 1000 * t), 44100)
    x = read_audio(path, utterance_id="u")
    peak_hz = np.argmax(np.abs(np.fft.rfft(x))) * TARGET_SAMPLE_RATE / len(x)
    assert abs(peak_hz - 1000) <= 2


def test_stereo_is_downmixed_by_averaging(tmp_path: Path) -> None:
    left, right = tone(1.0, freq=200.0), tone(1.0, freq=330.0, seed=1)
    path = write_wav(tmp_path / "s.wav", np.stack([left, right], axis=1), subtype="FLOAT")
    np.testing.assert_allclose(read_audio(path, utterance_id="u"), (left + right) / 2, atol=1e-6)


def test_segment_reads_only_start_to_end(tmp_path: Path) -> None:
    x = _ramp_signal(3.0)
    path = write_wav(tmp_path / "whole.wav", x, subtype="FLOAT")
    seg = read_audio(path, utterance_id="u", start=1.0, end=2.25)
    np.testing.assert_array_equal(seg, x[16000:36000])
    # A negative start (seen in CMU-MOSEI timings) means the beginning.
    np.testing.assert_array_equal(read_audio(path, utterance_id="u", start=-0.5, end=0.5), x[:8000])
    # An end past the file means the end of the file.
    np.testing.assert_array_equal(read_audio(path, utterance_id="u", start=2.0, end=9.0), x[32000:])


def test_segment_of_resampled_file(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", tone(3.0, 44100), 44100)
    assert len(read_audio(path, utterance_id="u", start=0.5, end=2.5)) == 32000


def test_max_seconds_caps_and_duration_reports_the_original(tmp_path: Path) -> None:
    x = _ramp_signal(3.0)
    path = write_wav(tmp_path / "long.wav", x, subtype="FLOAT")
    capped = read_audio(path, utterance_id="u", max_seconds=1.0)
    np.testing.assert_array_equal(capped, x[:16000])
    capped = read_audio(path, utterance_id="u", start=1.0, max_seconds=0.5)
    np.testing.assert_array_equal(capped, x[16000:24000])
    assert audio_duration(path) == pytest.approx(3.0)


@pytest.mark.parametrize("channels", [1, 2])
def test_reads_mp4(tmp_path: Path, channels: int) -> None:
    x = tone(2.0)
    path = write_mp4(tmp_path / "clip.mp4", x, channels=channels)
    y = read_audio(path, utterance_id="u")
    assert y.dtype == np.float32
    assert len(y) == 32000  # AAC padding trimmed to the header duration
    assert np.corrcoef(x, y)[0, 1] > 0.95  # lossy, but the same sound, not shifted
    assert audio_duration(path) == pytest.approx(2.0, abs=1e-3)


def test_mp4_segment_and_resampling(tmp_path: Path) -> None:
    x = tone(3.0, 22050)
    path = write_mp4(tmp_path / "clip.mp4", x, sample_rate=22050, channels=2)
    y = read_audio(path, utterance_id="u", start=1.0, end=2.0)
    assert len(y) == 16000
    ref = read_audio(write_wav(tmp_path / "ref.wav", x, 22050, subtype="FLOAT"), utterance_id="u")
    assert np.corrcoef(ref[16000:32000], y)[0, 1] > 0.95


def _reason(path: Path, **kwargs: float) -> BadInputError:
    with pytest.raises(BadInputError) as info:
        read_audio(path, utterance_id="utt-7", **kwargs)
    err = info.value
    assert err.utterance_id == "utt-7"
    assert str(path) in err.detail
    return err


def test_missing(tmp_path: Path) -> None:
    err = _reason(tmp_path / "nope.wav")
    assert err.reason == "missing"
    assert "corpus root" in err.detail
    with pytest.raises(BadInputError, match="missing"):
        audio_duration(tmp_path / "nope.wav")


@pytest.mark.parametrize("name", ["garbage.wav", "garbage.mp4", "garbage.flac"])
def test_unreadable(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    assert _reason(path).reason == "unreadable"


def test_empty(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32))
    assert _reason(path).reason == "empty"


def test_segment_past_the_end_is_empty(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", tone(1.0))
    assert _reason(path, start=5.0, end=6.0).reason == "empty"


def test_too_short(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "short.wav", tone(0.05))
    err = _reason(path)
    assert err.reason == "too_short"
    assert "800 samples" in err.detail


def test_exactly_one_frame_is_enough(tmp_path: Path) -> None:
    assert len(read_audio(write_wav(tmp_path / "a.wav", tone(0.1)), utterance_id="u")) == 1600


def test_non_finite(tmp_path: Path) -> None:
    x = tone(1.0)
    x[100] = np.nan
    path = write_wav(tmp_path / "nan.wav", x, subtype="FLOAT")
    assert _reason(path).reason == "non_finite"


def test_silent(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "zero.wav", np.zeros(16000, dtype=np.float32))
    err = _reason(path)
    assert err.reason == "silent"
    # Quiet is not silent: -60 dBFS speech is still read.
    quiet = write_wav(tmp_path / "quiet.wav", tone(1.0) * 2e-3, subtype="FLOAT")
    assert len(read_audio(quiet, utterance_id="u")) == 16000
