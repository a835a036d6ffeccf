"""Write small synthetic audio files (wav, audio-only mp4) for tests and benchmarks.

Kept dependency-light: numpy, soundfile and PyAV (``av``), all runtime deps of mmfa already.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["tone", "write_mp4", "write_wav"]


def tone(
    seconds: float, sample_rate: int = 16000, freq: float = 220.0, seed: int = 0
) -> np.ndarray:
    """Make a speech-ish test signal: decaying harmonics, slow amplitude modulation and noise.

    Deterministic for a given ``seed``. Not silent, so it passes every input check.

    Args:
        seconds: Duration in seconds.
        sample_rate: Samples per second.
        freq: Fundamental frequency in Hz.
        seed: Seed of the additive noise.

    Returns:
        Signal of shape ``(round(seconds * sample_rate),)``, float32 in ``[-1, 1]``.
    """
    n = int(round(seconds * sample_rate))
    t = np.arange(n, dtype=np.float64) / sample_rate
    signal = np.zeros(n, dtype=np.float64)
    # Harmonics with 1/k amplitude roll-off give energy across the mel bands, like voiced speech.
    for k in range(1, 9):
        if k * freq < sample_rate / 2:
            signal += np.sin(2 * np.pi * k * freq * t + 0.3 * k) / k
    # A ~4 Hz syllable-rate envelope makes energy vary between frames (non-trivial deltas).
    signal *= 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t)
    signal += 0.05 * np.random.default_rng(seed).standard_normal(n)
    peak = float(np.max(np.abs(signal))) if n else 0.0
    if peak > 0:
        signal *= 0.5 / peak
    return signal.astype(np.float32)


def write_wav(
    path: str | Path,
    signal: np.ndarray,
    sample_rate: int = 16000,
    subtype: str = "PCM_16",
) -> Path:
    """Write a wav file with soundfile.

    Args:
        path: Destination; parent folders are created.
        signal: Samples of shape ``(N,)`` (mono) or ``(N, C)`` (C channels), floats in ``[-1, 1]``.
        sample_rate: Samples per second.
        subtype: soundfile subtype, e.g. ``"PCM_16"`` or ``"FLOAT"``
            (keeps NaN, for bad-input tests).

    Returns:
        The path written.
    """
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(signal), sample_rate, subtype=subtype, format="WAV")
    return path


def write_mp4(
    path: str | Path,
    signal: np.ndarray,
    sample_rate: int = 16000,
    channels: int = 1,
) -> Path:
    """Write an audio-only mp4 (AAC) with PyAV, as MELD ships its clips.

    Args:
        path: Destination; parent folders are created.
        signal: Samples of shape ``(N,)`` or ``(N, C)``, floats in ``[-1, 1]``. A mono signal is
            duplicated when ``channels == 2``.
        sample_rate: Samples per second.
        channels: 1 (mono) or 2 (stereo).

    Returns:
        The path written.
    """
    import av

    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    data = np.asarray(signal, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[1] != channels:
        data = np.repeat(data[:, :1], channels, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sample_rate, layout=layout)
        stream.time_base = Fraction(1, sample_rate)
        # AAC takes fixed-size planar frames; 1024 samples each is its native frame length.
        block = 1024
        pts = 0
        for begin in range(0, len(data), block):
            chunk = np.ascontiguousarray(data[begin : begin + block].T)  # (C, n) planar
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = pts
            frame.time_base = Fraction(1, sample_rate)
            pts += chunk.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
