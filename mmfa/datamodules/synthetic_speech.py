"""Audio of the synthetic corpus: speech-*like* clips whose prosody carries mostly *arousal*.

Used by :mod:`mmfa.datamodules.synthetic_corpus`. Not speech from people: a glottal-like harmonic
source (a band-limited sawtooth, i.e. harmonics with 1/k roll-off) with a time-varying pitch
contour goes through three formant resonances that change per syllable; syllables get an amplitude
envelope and noise-burst onsets, some words are followed by pauses with breath noise, and a little
background noise runs throughout. Happy/angry and neutral/sad get close prosody on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

MIN_SECONDS, MAX_SECONDS = 0.8, 4.0


@dataclass(frozen=True)
class Prosody:
    """How a class sounds, before per-utterance jitter."""

    pitch: float  # multiple of the speaker's base f0
    slope: float  # semitones from start to end of the clip (contour direction)
    depth: float  # semitones of contour variation
    rate: float  # syllables per second
    pause_prob: float  # chance of a pause after a word
    pause: float  # mean pause length (s)
    level_db: float  # peak level (dBFS)
    tilt: float  # pre-emphasis coefficient: more high-frequency energy when larger
    attack: float  # syllable onset time (s): sharper when smaller
    burst: float  # loudness of consonant-like noise bursts at onsets


PROSODY = {
    "neutral": Prosody(1.00, -0.5, 1.2, 4.3, 0.20, 0.14, -9.5, 0.35, 0.030, 0.25),
    "happy": Prosody(1.22, 2.0, 2.8, 5.4, 0.15, 0.08, -4.5, 0.52, 0.018, 0.32),
    "sad": Prosody(0.93, -2.0, 0.9, 3.7, 0.30, 0.22, -11.5, 0.28, 0.040, 0.20),
    "angry": Prosody(1.12, 0.0, 2.4, 5.6, 0.15, 0.07, -4.0, 0.70, 0.010, 0.40),
}

# (F1, F2, F3) in Hz of a few vowels, adult male-like; speakers scale them (their timbre).
_VOWELS = np.array(
    [[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410],
     [300, 870, 2240], [500, 1500, 2500]],
    dtype=float,
)  # fmt: skip
_BANDWIDTHS = np.array([80.0, 110.0, 160.0])


@dataclass(frozen=True)
class SyntheticSpeaker:
    """A synthetic voice."""

    f0: float  # base pitch (Hz)
    formants: float  # formant scale: vocal-tract length, i.e. timbre
    gain_db: float  # habitual loudness
    rate: float  # habitual speaking-rate factor
    breath: float  # breathiness


def make_speaker(index: int, rng: np.random.Generator) -> SyntheticSpeaker:
    """Speaker ``index`` (0-based): even indices (spk01, spk03...) low-pitched, odd ones high."""
    low = index % 2 == 0
    return SyntheticSpeaker(
        f0=rng.uniform(110, 130) if low else rng.uniform(190, 230),
        formants=rng.uniform(0.9, 1.02) if low else rng.uniform(1.03, 1.16),
        gain_db=rng.normal(0, 1.5),
        rate=rng.uniform(0.9, 1.1),
        breath=rng.uniform(0.02, 0.06),
    )


def _resonate(x: np.ndarray, freq: float, bw: float, sr: int) -> np.ndarray:
    """Two-pole resonator with unit gain at 0 Hz (Klatt's cascade formant filter)."""
    r = np.exp(-np.pi * bw / sr)
    a1, a2 = -2 * r * np.cos(2 * np.pi * min(freq, 0.45 * sr) / sr), r * r
    return lfilter([1 + a1 + a2], [1, a1, a2], x)


def _sawtooth(f0: np.ndarray, sr: int) -> np.ndarray:
    """Band-limited (PolyBLEP) sawtooth: the sum of all harmonics with 1/k roll-off, in O(n)."""
    dt = f0 / sr
    t = np.cumsum(dt) % 1.0
    y = 2 * t - 1
    m = t < dt  # smooth the wrap-around so harmonics above Nyquist do not alias back
    x = t[m] / dt[m]
    y[m] -= 2 * x - x * x - 1
    m = t > 1 - dt
    x = (t[m] - 1) / dt[m]
    y[m] -= x * x + 2 * x + 1
    return y


def _syllables(
    text: str, c: Prosody, rate: float, sr: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """Syllable onsets and lengths (samples) and the clip length, kept in the allowed range."""
    starts, durs, t = [], [], 0.0
    words = text.split()
    for i, word in enumerate(words):
        for _ in range(int(np.clip(round(len(word) / 3), 1, 3))):  # ~1 syllable per 3 letters
            starts.append(t)
            durs.append(rng.uniform(0.75, 1.25) / rate)
            t += durs[-1] + rng.uniform(0.0, 0.02)
        if i < len(words) - 1 and rng.random() < c.pause_prob:
            t += c.pause * rng.uniform(0.5, 1.5)
    lead, trail = rng.uniform(0.05, 0.2, size=2)
    # Squeeze or stretch the speech so the clip stays within [MIN_SECONDS, MAX_SECONDS].
    fit = np.clip(t, MIN_SECONDS + 0.02 - lead - trail, MAX_SECONDS - 0.02 - lead - trail) / t
    on = ((lead + np.asarray(starts) * fit) * sr).astype(int)
    length = np.maximum((np.asarray(durs) * fit * sr).astype(int), int(0.04 * sr))
    return on, length, int(round((lead + t * fit + trail) * sr))


def synthesize_speech(
    text: str, label: str, speaker: SyntheticSpeaker, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """One speech-like clip for ``text`` said by ``speaker`` with the prosody of ``label``.

    Returns:
        ``(n,)`` float samples in [-1, 1], 0.8-4 s long, peak at the (jittered) class level.
    """
    c = PROSODY[label]
    # Per-utterance jitter makes the classes overlap.
    rate = c.rate * speaker.rate * rng.uniform(0.85, 1.15)
    tilt = float(np.clip(c.tilt + rng.normal(0, 0.12), 0.0, 0.95))
    on, length, n = _syllables(text, c, rate, sr, rng)

    # Pitch contour in semitones: global slope + slow wiggles + per-syllable accents.
    u = np.linspace(0.0, 1.0, n)
    depth = c.depth * rng.uniform(0.6, 1.4)
    ph = rng.uniform(0, 2 * np.pi, size=2)
    semis = (c.slope + rng.normal(0, 1.2)) * (u - 0.5)
    semis += depth * (
        0.6 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * u + ph[0])
        + 0.4 * np.sin(2 * np.pi * rng.uniform(1.5, 3.0) * u + ph[1])
    )
    semis += np.interp(np.arange(n), on + length // 2, rng.normal(0, 0.4 * depth, size=len(on)))
    f0 = speaker.f0 * c.pitch * np.exp(rng.normal(0, 0.05)) * 2.0 ** (semis / 12)
    source = _sawtooth(f0, sr) + speaker.breath * rng.standard_normal(n)  # aspiration noise
    source = lfilter([1.0, -tilt], [1.0], source)  # spectral tilt: angry is brighter

    out = np.zeros(n)
    attack = c.attack * rng.uniform(0.7, 1.4)
    for s, d in zip(on, length, strict=True):
        burst = int(rng.uniform(0.015, 0.05) * sr) if rng.random() < 0.6 else 0
        if burst:  # consonant-like noise onset
            noise = _resonate(rng.standard_normal(burst), rng.uniform(2500, 4500), 1500, sr)
            noise *= np.hanning(burst) / (noise.std() + 1e-9)  # windowed: a hiss, not a click
            out[s : s + burst] += c.burst * rng.uniform(0.5, 1.5) * noise[: n - s]
        v0 = s + burst // 2
        seg = source[v0 : v0 + d - burst // 2]
        for f, bw in zip(_VOWELS[rng.integers(len(_VOWELS))], _BANDWIDTHS, strict=True):
            seg = _resonate(seg, f * speaker.formants * rng.uniform(0.95, 1.05), bw, sr)
        tt = np.arange(len(seg)) / sr
        env = np.sin(0.5 * np.pi * np.clip(tt / attack, 0, 1))
        env *= np.sin(0.5 * np.pi * np.clip((tt[-1:] - tt) / 0.05, 0, 1))
        out[v0 : v0 + len(seg)] += rng.uniform(0.6, 1.0) * env * seg / (seg.std() + 1e-9)
    ends = on + length
    for a, b in zip(ends[:-1], on[1:], strict=True):  # breath noise in the longer gaps
        if b - a > 0.12 * sr:
            noise = _resonate(rng.standard_normal(b - a), 1500, 2000, sr)
            out[a:b] += 3 * speaker.breath * np.hanning(b - a) * noise / (noise.std() + 1e-9)
    level = c.level_db + speaker.gain_db + rng.normal(0, 1.5)
    out *= 10 ** (min(level, -1.0) / 20) / np.abs(out).max()
    out += 10 ** (rng.uniform(-62, -50) / 20) * rng.standard_normal(n)  # background noise
    return np.clip(out, -1.0, 1.0)
