"""A tiny fake RAVDESS speech tree in the real layout, for tests.

``Actor_XX/03-01-EE-II-SS-RR-AA.<wav|flac>`` with short generated audio, deterministic by seed, plus
the quirks real copies have: a macOS ``._`` AppleDouble file and a ``.DS_Store`` (not clips), a
song clip (vocal channel 02) and an audio-visual ``.mp4`` (not read). Beside the tree,
``<corpus>.expected.json`` records what it holds, computed from the writer's plan, not by the
reader::

    corpus = write_fake_ravdess(tmp_path, actors=range(1, 7))
    assert len(read_ravdess(corpus)) == fake_expected(corpus)["total"]
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.testing.media import tone

__all__ = ["write_fake_ravdess"]

# Written out here, not imported, so a mistake in the reader's maps shows up in its tests.
_EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
_STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}


def write_fake_ravdess(
    root: Path,
    actors: Iterable[int] = range(1, 7),
    seed: int = 0,
    suffix: str = ".flac",
    repetitions: tuple[int, ...] = (1,),
    seconds: float = 0.4,
) -> Path:
    """Write a fake RAVDESS speech folder (``root/RAVDESS``) for the given actors.

    Per actor: every emotion x intensity (neutral: normal only) x statement x repetition in
    ``repetitions`` (``(1, 2)`` gives the real 60 clips per actor; the default ``(1,)`` gives 30).
    The pitch rises with the emotion index and is higher for women, so a model can learn something.

    Args:
        root: parent folder; the corpus is ``root/RAVDESS``.
        actors: actor numbers (1-24), odd = male.
        seed: seed of the noise and the clip durations.
        suffix: ``.flac`` (as converted copies) or ``.wav`` (the original release).
        repetitions: repetition codes to write.
        seconds: mean clip duration (each clip varies by up to +-25%).

    Returns:
        The corpus folder. ``RAVDESS.expected.json`` beside it holds ``total``, ``actors``
        (sorted numbers), ``classes`` (name -> count), ``speakers`` (id -> count), ``ids`` and
        ``report`` (the counts the reader returns).
    """
    import soundfile as sf

    rng = np.random.default_rng(seed)
    corpus = Path(root) / "RAVDESS"
    fmt = {".flac": "FLAC", ".wav": "WAV"}[suffix]
    ids: list[str] = []
    classes: Counter[str] = Counter()
    speakers: Counter[str] = Counter()
    actors = sorted(actors)
    for actor in actors:
        folder = corpus / f"Actor_{actor:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for e, emotion in enumerate(_EMOTIONS, start=1):
            for intensity in (1,) if e == 1 else (1, 2):
                for statement in _STATEMENTS:
                    for rep in repetitions:
                        stem = (
                            f"03-01-{e:02d}-{intensity:02d}-{statement:02d}-{rep:02d}-{actor:02d}"
                        )
                        dur = seconds * float(rng.uniform(0.75, 1.25))
                        freq = 110.0 + 25.0 * e + 60.0 * (actor % 2 == 0) + 10.0 * intensity
                        signal = tone(dur, freq=freq, seed=int(rng.integers(1 << 30)))
                        sf.write(str(folder / f"{stem}{suffix}"), signal, 16000, format=fmt)
                        ids.append(stem)
                        classes[emotion] += 1
                        speakers[f"Actor_{actor:02d}"] += 1
    first = corpus / f"Actor_{actors[0]:02d}"
    # Not clips: AppleDouble and Finder files, a song clip, an audio-visual mp4.
    (first / f"._03-01-01-01-01-01-{actors[0]:02d}{suffix}").write_bytes(b"\x00\x05\x16\x07")
    (first / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    song = f"03-02-03-01-01-01-{actors[0]:02d}"
    sf.write(str(first / f"{song}{suffix}"), tone(seconds), 16000, format=fmt)
    (first / f"01-01-03-01-01-01-{actors[0]:02d}.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    expected: dict[str, Any] = {
        "total": len(ids),
        "actors": actors,
        "classes": dict(classes),
        "speakers": dict(speakers),
        "ids": ids,
        "texts": {str(k): v for k, v in _STATEMENTS.items()},
        "report": {"clips": len(ids), "not_speech_audio": 1, "duplicates": 0},
    }
    path = corpus.parent / f"{corpus.name}.expected.json"
    path.write_text(json.dumps(expected, indent=1, sort_keys=True), encoding="utf-8")
    return corpus
