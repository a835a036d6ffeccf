"""The embedded *synthetic* multimodal emotion corpus: wav files + transcripts, made from a seed.

Nothing here is speech from people. Each clip is synthesised from a glottal-like harmonic source,
formant resonances and noise; each transcript is two templated phrases said in sequence, one
*true* (cue words of the utterance's class) and one *decoy* (cue words of another class, drawn
uniformly), in random order. The modalities are complementary in the way the paper's MMFA can use
(its second level takes queries and keys from the audio and values from the text, resampled
linearly to the audio length): words are spread evenly over the speech, so text position i lands
near audio frame i/(Lw-1) of the clip, and the true phrase is the *emphasised* one.

=====================  ==========================================  ============================
modality               carries                                     alone
=====================  ==========================================  ============================
text                   the true and the decoy class, not which is  two candidates: ~50%
                       which (same templates, random order)
audio                  where the true phrase is (9-15 dB louder,   arousal only: ~50%
                       pitch accents, brighter; the decoy is flat
                       and soft), and the class's arousal (happy/
                       angry: higher, wider pitch, faster; neutral/
                       sad: lower, narrower, slower)
both (MMFA)            the words said where the audio emphasises   near 100%
=====================  ==========================================  ============================

Every cue is a temporal one (loudness, pitch movement, rate), so it survives the per-utterance
mean normalisation of the MFCC. The words come from a small vocabulary (three cue words per class)
so that ~200 training clips suffice.

Everything derives from ``numpy.random.SeedSequence(seed, spawn_key=(speaker, k))``, so a clip
does not depend on generation order, and the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import wave
from pathlib import Path

import numpy as np

from mmfa.errors import ConfigError, MMFAError
from mmfa.manifest import Utterance
from mmfa.synthetic.speech import make_speaker, synthesize_speech
from mmfa.synthetic.text import SYNTHETIC_CLASSES, make_transcript

__all__ = [
    "GENERATOR_VERSION",
    "SYNTHETIC_CLASSES",
    "read_synthetic_manifest",
    "write_synthetic_corpus",
]
#: Bump when the generator's output changes: it is part of the corpus folder name.
GENERATOR_VERSION = 2
_COLUMNS = ("id", "path", "text", "label", "speaker")


def _write_wav(path: Path, x: np.ndarray, sr: int) -> None:
    # The stdlib writer: a plain 44-byte header, so files are byte-stable across library versions.
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def _generate(folder: Path, seed: int, num_speakers: int, per_speaker: int, sr: int) -> None:
    # One generator per speaker (spawn key (s, 0)) and per utterance ((s, k + 1)): any clip can be
    # regenerated alone, and changing one count does not reshuffle the others.
    (folder / "wav").mkdir(parents=True)
    rows = []
    for s in range(num_speakers):
        srng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s, 0)))
        spk = make_speaker(s, srng)
        labels = np.arange(per_speaker) % len(SYNTHETIC_CLASSES)
        srng.shuffle(labels)
        for k, y in enumerate(labels):
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(s, k + 1)))
            label, uid = SYNTHETIC_CLASSES[y], f"spk{s + 1:02d}_{k:04d}"
            phrases = make_transcript(label, rng)  # first: the audio follows its words
            text = " ".join(w for p in phrases for w in p.words)
            audio = synthesize_speech(phrases, label, spk, sr, rng)
            _write_wav(folder / "wav" / f"{uid}.wav", audio, sr)
            rows.append((uid, f"wav/{uid}.wav", text, label, f"spk{s + 1:02d}"))
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(_COLUMNS)
        writer.writerows(rows)


def write_synthetic_corpus(
    root: Path,
    *,
    seed: int = 0,
    num_speakers: int = 8,
    utterances_per_speaker: int = 40,
    sample_rate: int = 16000,
) -> Path:
    """Generate the synthetic corpus under ``root`` unless it is already there; return its manifest.

    Writes ``root/<name>/wav/<id>.wav`` (mono int16) and ``root/<name>/manifest.csv`` (columns
    ``id,path,text,label,speaker``; ``path`` relative to the manifest), where ``<name>`` encodes the
    generator version and the arguments, e.g. ``synthetic-v2-s0-n8x40``. The corpus is built in a
    temporary folder and renamed into place, with ``params.json`` as the completion marker, so an
    interrupted run is regenerated and concurrent callers do not see half-written corpora.

    Args:
        root: parent folder of the corpus folder.
        seed: same seed, byte-identical corpus; another seed, another corpus.
        num_speakers: synthetic speakers ``spk01``...; odd ones low-pitched, even ones high.
        utterances_per_speaker: clips per speaker, classes balanced (round-robin, shuffled).
        sample_rate: of the wav files (Hz, >= 8000).

    Returns:
        The path of ``manifest.csv``.

    Raises:
        ConfigError: a count or the sample rate is out of range.
    """
    for key, value, low in (
        ("seed", seed, 0),
        ("num_speakers", num_speakers, 1),
        ("sample_rate", sample_rate, 8000),
        ("utterances_per_speaker", utterances_per_speaker, 1),
    ):
        if value < low:
            raise ConfigError(f"synthetic corpus: {key}={value}; use a value >= {low}")
    name = f"synthetic-v{GENERATOR_VERSION}-s{seed}-n{num_speakers}x{utterances_per_speaker}"
    name += "" if sample_rate == 16000 else f"-sr{sample_rate}"
    final = Path(root) / name
    if (final / "params.json").is_file():
        return final / "manifest.csv"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final.parent))
    try:
        _generate(tmp / "corpus", seed, num_speakers, utterances_per_speaker, sample_rate)
        params = {
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "classes": SYNTHETIC_CLASSES,
            "num_speakers": num_speakers,
            "sample_rate": sample_rate,
            "utterances_per_speaker": utterances_per_speaker,
        }
        (tmp / "corpus" / "params.json").write_text(json.dumps(params, indent=2, sort_keys=True))
        if final.exists() and not (final / "params.json").is_file():
            shutil.rmtree(final, ignore_errors=True)  # left by an old, interrupted writer
        try:
            os.rename(tmp / "corpus", final)
        except OSError:
            # A concurrent writer got there first: its corpus is the same, keep it.
            if not (final / "params.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final / "manifest.csv"


def read_synthetic_manifest(manifest: Path) -> list[Utterance]:
    """Read ``manifest.csv`` into utterances: absolute audio paths, labels as class indices.

    Raises:
        MMFAError: the file lacks a column or has an unknown label (names the file and utterance).
    """
    manifest = Path(manifest).resolve()
    with open(manifest, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = set(_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise MMFAError(f"{manifest}: missing column(s) {sorted(missing)}; regenerate it")
        utts = []
        for row in reader:
            if row["label"] not in SYNTHETIC_CLASSES:
                raise MMFAError(
                    f"{manifest}: utterance {row['id']!r} has label {row['label']!r};"
                    f" expected one of {SYNTHETIC_CLASSES}"
                )
            utts.append(
                Utterance(
                    id=row["id"],
                    audio_path=manifest.parent / row["path"],
                    text=row["text"],
                    speaker=row["speaker"],
                    label=SYNTHETIC_CLASSES.index(row["label"]),
                )
            )
    return utts
