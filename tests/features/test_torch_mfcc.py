"""TorchMFCCExtractor: parity with openSMILE (MFCCExtractor), shape, errors, batching, settings."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from mmfa.errors import BadInputError
from mmfa.features.audio import MFCCExtractor
from mmfa.features.frontend import AudioFrontEnd, AudioJob
from mmfa.features.torch_mfcc import TorchMFCCExtractor
from mmfa.testing.media import tone, write_wav

# Documented in docs/audio_frontends.md ("Parity with openSMILE"): both sides compute in float32,
# so statics differ by float32 rounding of log-energies around 25 (about 1e-4 measured) and
# deltas/accelerations by less; 1e-3 leaves a 5x margin and still catches any wrong stage (a
# wrong window, pre-emphasis, filter edge or delta rule moves values by 1e-2 to 10).
ATOL = 1e-3
MIN_CORRELATION = 0.9999


@pytest.fixture(scope="module")
def pair() -> tuple[MFCCExtractor, TorchMFCCExtractor]:
    return MFCCExtractor(), TorchMFCCExtractor()


def non_silent(raw: np.ndarray) -> np.ndarray:
    """Frames whose log-energy is within 60 dB of the loudest (column 0 is log-energy)."""
    return raw[:, 0] > raw[:, 0].max() - np.log(1e6)


def test_parity_with_opensmile_on_a_generated_clip(
    tmp_path: Path, pair: tuple[MFCCExtractor, TorchMFCCExtractor]
) -> None:
    opensmile_mfcc, torch_mfcc = pair
    signal = tone(3.7, freq=150.0, seed=7)
    signal[16000:20000] *= 1e-3  # a quiet stretch, as between words
    path = write_wav(tmp_path / "a.wav", signal)
    ref = opensmile_mfcc.from_file(path, utterance_id="a")
    ours = torch_mfcc.from_file(path, utterance_id="a")
    assert ours.shape == ref.shape == ((len(signal) - 1600) // 800 + 1, 39)
    keep = non_silent(MFCCExtractor(normalise=False).from_file(path, utterance_id="a"))
    assert 0 < keep.sum() < len(keep)  # the quiet stretch is left out
    for j in range(39):
        assert np.corrcoef(ours[keep, j], ref[keep, j])[0, 1] > MIN_CORRELATION, j
    assert np.abs(ours[keep] - ref[keep]).max() < ATOL
    # Measured: silence matches too (HTK's floor of 1 on energy and mel power is reproduced).
    assert np.abs(ours - ref).max() < ATOL


@pytest.mark.parametrize(
    "options",
    [
        {"num_bands": 40, "num_ceps": 13, "low_freq": 20.0, "high_freq": 7000.0, "lifter": 0.0},
        {"frame_size": 0.025, "frame_step": 0.01},
    ],
)
def test_parity_holds_for_other_options(options: dict) -> None:
    signal = tone(2.0, seed=3)
    ref = MFCCExtractor(normalise=False, **options).from_signal(signal, "u")
    ours = TorchMFCCExtractor(normalise=False, **options).from_signal(signal, "u")
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < ATOL


@pytest.mark.parametrize("n", [1600, 2399, 2400, 16000, 33333])
def test_frame_count_follows_the_paper(n: int) -> None:
    feats = TorchMFCCExtractor().from_signal(tone(n / 16000, seed=n), "u")
    assert feats.shape == ((n - 1600) // 800 + 1, 39)
    assert feats.dtype == np.float32 and feats.flags.c_contiguous


def test_statics_match_even_on_the_shortest_clips() -> None:
    # Under 4 frames openSMILE's delta stage pads the end differently (docs): statics still match.
    signal = tone(0.15, seed=1)
    ref = MFCCExtractor(normalise=False).from_signal(signal, "u")
    ours = TorchMFCCExtractor(normalise=False).from_signal(signal, "u")
    assert np.abs(ours[:, :13] - ref[:, :13]).max() < ATOL


def test_columns_have_zero_mean() -> None:
    feats = TorchMFCCExtractor().from_signal(tone(3.0, seed=3), "u")
    np.testing.assert_allclose(feats.mean(axis=0), 0.0, atol=1e-4)


def test_too_short_is_a_bad_input_error() -> None:
    with pytest.raises(BadInputError) as info:
        TorchMFCCExtractor().from_signal(np.zeros(1599, np.float32), "tiny")
    assert info.value.reason == "too_short" and info.value.utterance_id == "tiny"


def test_full_scale_signal_does_not_wrap() -> None:
    square = np.where(np.arange(16000) % 80 < 40, 1.0, -1.0).astype(np.float32)
    feats = TorchMFCCExtractor(normalise=False).from_signal(square, "u")
    assert feats[:, 0].min() > np.log(1600 * 32000.0**2)


def test_extract_many_batches_equal_one_by_one(tmp_path: Path) -> None:
    paths = [write_wav(tmp_path / f"{i}.wav", tone(0.5 + 0.37 * i, seed=i)) for i in range(6)]
    jobs = [AudioJob(i, p.stem, p) for i, p in enumerate(paths)]
    jobs.append(AudioJob(6, "gone", tmp_path / "missing.wav"))
    jobs.append(AudioJob(7, "short", write_wav(tmp_path / "s.wav", tone(0.05))))
    # batch_seconds small enough that the jobs span several batches
    ext = TorchMFCCExtractor(batch_seconds=2.0)
    out = dict(ext.extract_many(jobs, num_workers=2, progress=False))
    assert sorted(out) == list(range(8))
    for job in jobs[:6]:
        got = out[job.index]
        assert isinstance(got, np.ndarray)
        # float32 values up to ~10: batched and single FFTs round differently (~3e-6 relative,
        # more with other thread counts and CPU kernel sets); a wrong frame is off by far more
        want = ext.from_file(job.path, utterance_id="x")
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    assert isinstance(out[6], BadInputError) and out[6].reason == "missing"
    assert isinstance(out[7], BadInputError) and out[7].reason == "too_short"


def test_settings_dim_and_pickling() -> None:
    ext = TorchMFCCExtractor(max_seconds=30.0)
    assert isinstance(ext, AudioFrontEnd) and ext.batched
    assert ext.dim == 39 and ext.frame_rate == pytest.approx(20.0)
    assert ext.settings()["extractor"] == "torch-mfcc"
    assert ext.settings() != MFCCExtractor().settings()
    assert TorchMFCCExtractor(num_bands=40).settings() != TorchMFCCExtractor().settings()
    assert TorchMFCCExtractor(device="cpu").settings() == TorchMFCCExtractor().settings()
    ext.from_signal(tone(0.5), "u")  # builds the device constants
    clone = pickle.loads(pickle.dumps(ext))
    assert clone.settings() == ext.settings()


def test_max_seconds_caps_the_signal(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", tone(5.0))
    feats = TorchMFCCExtractor(max_seconds=2.0).from_file(path, utterance_id="long")
    assert feats.shape[0] == (32000 - 1600) // 800 + 1


def test_device_path_matches_the_reader_thread_path() -> None:
    # compute() (all in torch: what runs on a GPU) and the CPU path that prepares energy and
    # pre-emphasis on reader threads in numpy agree to float32 rounding.
    import torch

    ext = TorchMFCCExtractor()
    signals = [tone(1.3, seed=1), tone(0.7, seed=2)]
    with torch.inference_mode():
        device_path = [f.numpy() for f in ext.compute(signals)]
    for signal, got in zip(signals, device_path, strict=True):
        np.testing.assert_allclose(got, ext.from_signal(signal, "u"), atol=1e-4)
