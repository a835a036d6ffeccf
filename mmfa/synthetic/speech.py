"""Audio of the synthetic corpus: speech-*like* clips telling *where* the class is, and its arousal.

Used by :mod:`mmfa.synthetic.corpus`. Not speech from people: a glottal-like harmonic
source (a band-limited sawtooth, i.e. harmonics with 1/k roll-off) with a time-varying pitch
contour goes through three formant resonances that change per syllable; syllables get an amplitude
envelope and noise-burst onsets, a short pause with breath noise separates the two phrases of a
transcript (:mod:`mmfa.synthetic.text`), and a little background noise runs throughout.

Every word gets about the same time, so word ``i`` of ``Lw`` is said near ``i / (Lw - 1)`` of the
clip. The *true* phrase is emphasised: 9-15 dB louder than the decoy, with pitch accents, sharper
onsets and a brighter spectrum; the decoy phrase is said flat and soft, whatever its class. How the
true phrase is emphasised depends only on the class's *arousal* (happy and angry alike: higher,
wider pitch, faster, brighter; neutral and sad alike: lower, narrower, slower), so the audio tells
where the class is said and its arousal, and nothing else about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from mmfa.synthetic.text import Phrase

MIN_SECONDS, MAX_SECONDS = 0.8, 4.0


@dataclass(frozen=True)
class Delivery:
    """How a phrase is said, before per-utterance jitter."""

    pitch: float  # multiple of the speaker's base f0
    depth: float  # semitones of pitch movement (accents, wiggles)
    level_db: float  # level relative to the true phrase (dB)
    tilt: float  # pre-emphasis coefficient: more high-frequency energy when larger
    attack: float  # syllable onset time (s): sharper when smaller
    burst: float  # loudness of consonant-like noise bursts at onsets


#: The true phrase by arousal, and the decoy (whatever its class).
DELIVERY = {
    "high": Delivery(1.22, 3.0, 0.0, 0.62, 0.012, 0.40),
    "low": Delivery(1.00, 1.8, 0.0, 0.42, 0.025, 0.30),
    "decoy": Delivery(0.93, 0.25, -12.0, 0.20, 0.050, 0.10),
}
AROUSAL = {"neutral": "low", "happy": "high", "sad": "low", "angry": "high"}
WORD_SECONDS = {"high": 0.27, "low": 0.34}  # time per word: high arousal speaks faster
PEAK_DB = {"high": -4.0, "low": -9.0}  # clip peak level (dBFS) before speaker and jitter

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
    phrases: Sequence[Phrase], word: float, sr: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Syllable onsets, lengths (samples) and phrase indices, and the clip length.

    Every word gets a slot of about ``word`` seconds, split over its syllables (~1 per 3
    letters), so words are spread evenly over the speech; the phrases are separated by a short
    pause. The clip is squeezed or stretched to stay within [MIN_SECONDS, MAX_SECONDS].
    """
    starts, durs, which, t = [], [], [], 0.0
    for p, phrase in enumerate(phrases):
        if p:
            t += rng.uniform(0.08, 0.16)
        for w in phrase.words:
            slot = word * rng.uniform(0.9, 1.1)
            n_syl = int(np.clip(round(len(w) / 3), 1, 3))
            for _ in range(n_syl):
                starts.append(t)
                durs.append(slot / n_syl * rng.uniform(0.85, 0.95))
                which.append(p)
                t += slot / n_syl
    lead, trail = rng.uniform(0.05, 0.15, size=2)
    fit = np.clip(t, MIN_SECONDS + 0.02 - lead - trail, MAX_SECONDS - 0.02 - lead - trail) / t
    on = ((lead + np.asarray(starts) * fit) * sr).astype(int)
    length = np.maximum((np.asarray(durs) * fit * sr).astype(int), int(0.04 * sr))
    return on, length, np.asarray(which), int(round((lead + t * fit + trail) * sr))


def synthesize_speech(
    phrases: Sequence[Phrase],
    label: str,
    speaker: SyntheticSpeaker,
    sr: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """One speech-like clip for ``phrases`` said by ``speaker``, the true phrase emphasised.

    Args:
        phrases: the transcript's phrases, in order (:func:`~.synthetic_text.make_transcript`).
        label: the utterance's class: its arousal sets how the true phrase is emphasised.
        speaker: the voice.
        sr: sample rate (Hz).
        rng: the utterance's generator.

    Returns:
        ``(n,)`` float samples in [-1, 1], 0.8-4 s long, peak at the (jittered) arousal level.
    """
    arousal = AROUSAL[label]
    true, decoy = DELIVERY[arousal], DELIVERY["decoy"]
    kinds = [true if p.true else decoy for p in phrases]
    word = WORD_SECONDS[arousal] / speaker.rate * rng.uniform(0.9, 1.1)
    on, length, which, n = _syllables(phrases, word, sr, rng)
    syl = [kinds[i] for i in which]
    # per phrase: level (the decoy's jittered) and spectral tilt (the true phrase is brighter)
    level_db = [k.level_db + (0.0 if k is true else rng.uniform(-3, 3)) for k in kinds]
    tilt = [float(np.clip(k.tilt + rng.normal(0, 0.08), 0.0, 0.95)) for k in kinds]

    # Pitch contour in semitones: the phrase's register and accents at the syllables (lerped
    # between syllable centres) plus slow wiggles scaled by the phrase's depth.
    idx = np.arange(n)
    mid = on + length // 2
    depth = np.array([k.depth for k in syl]) * rng.uniform(0.7, 1.3)
    register = 12 * np.log2([k.pitch for k in syl])
    accents = rng.normal(0.0, 0.6, size=len(on)) * depth
    semis = np.interp(idx, mid, register + accents)
    u = idx / n
    ph = rng.uniform(0, 2 * np.pi, size=2)
    semis += np.interp(idx, mid, depth) * (
        0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 1.5) * u + ph[0])
        + 0.3 * np.sin(2 * np.pi * rng.uniform(2.0, 4.0) * u + ph[1])
    )
    f0 = speaker.f0 * np.exp(rng.normal(0, 0.05)) * 2.0 ** (semis / 12)
    source = _sawtooth(f0, sr) + speaker.breath * rng.standard_normal(n)  # aspiration noise
    tilted = [lfilter([1.0, -a], [1.0], source) for a in tilt]

    out = np.zeros(n)
    for s, d, k, p in zip(on, length, syl, which, strict=True):
        gain = 10 ** (level_db[p] / 20)
        burst = int(rng.uniform(0.015, 0.05) * sr) if rng.random() < 0.6 else 0
        if burst:  # consonant-like noise onset
            noise = _resonate(rng.standard_normal(burst), rng.uniform(2500, 4500), 1500, sr)
            noise *= np.hanning(burst) / (noise.std() + 1e-9)  # windowed: a hiss, not a click
            out[s : s + burst] += gain * k.burst * rng.uniform(0.5, 1.5) * noise[: n - s]
        v0 = s + burst // 2
        seg = tilted[p][v0 : v0 + d - burst // 2]
        for f, bw in zip(_VOWELS[rng.integers(len(_VOWELS))], _BANDWIDTHS, strict=True):
            seg = _resonate(seg, f * speaker.formants * rng.uniform(0.95, 1.05), bw, sr)
        tt = np.arange(len(seg)) / sr
        env = np.sin(0.5 * np.pi * np.clip(tt / (k.attack * rng.uniform(0.7, 1.4)), 0, 1))
        env *= np.sin(0.5 * np.pi * np.clip((tt[-1:] - tt) / 0.05, 0, 1))
        out[v0 : v0 + len(seg)] += gain * rng.uniform(0.7, 1.0) * env * seg / (seg.std() + 1e-9)
    ends = on + length
    for a, b in zip(ends[:-1], on[1:], strict=True):  # breath noise in the longer gaps
        if b - a > 0.06 * sr:
            noise = _resonate(rng.standard_normal(b - a), 1500, 2000, sr)
            out[a:b] += 2 * speaker.breath * np.hanning(b - a) * noise / (noise.std() + 1e-9)
    level = PEAK_DB[arousal] + speaker.gain_db + rng.normal(0, 1.5)
    out *= 10 ** (min(level, -1.0) / 20) / np.abs(out).max()
    out += 10 ** (rng.uniform(-62, -50) / 20) * rng.standard_normal(n)  # background noise
    return np.clip(out, -1.0, 1.0)
