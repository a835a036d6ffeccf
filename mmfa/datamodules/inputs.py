"""A user's inputs as utterances: a folder, audio files, or a manifest (CSV or JSON lines).

The one reader behind ``mmfa predict --input`` and :class:`~mmfa.inference.EmotionRecognizer`:

- a folder: every audio file in it (:data:`AUDIO_SUFFIXES`, sub-folders included), its id the
  path relative to the folder; a ``.txt`` file beside an audio file, same stem, is its
  transcript;
- audio files, listed one after the other (id: the file name);
- a manifest, ``.csv`` or ``.jsonl``: a ``path`` column (relative to the manifest's folder)
  and/or ``text``, optionally ``id``, ``speaker`` and ``label`` (a class name).

Who speaks matters to models trained with per-speaker normalisation: it comes from the manifest's
``speaker`` column, else from ``speaker`` (one name for every input) or, with
``speaker_from_folder``, from each file's parent folder; otherwise it is unknown (``""``) and the
model uses its training statistics (:mod:`mmfa.datamodules.preparation`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".mp4", ".m4a")
MANIFEST_SUFFIXES = (".csv", ".jsonl")


@dataclass
class Inputs:
    """Utterances to predict, with the gold labels a manifest gave (None where not given)."""

    utterances: list[Utterance]
    labels: list[str | None]

    def paths(self) -> set[Path]:
        """Every file the inputs read (audio and manifests), resolved: never to be overwritten."""
        return {Path(u.audio_path).resolve() for u in self.utterances if u.audio_path}


def read_inputs(
    items: list[str | Path], *, speaker: str | None = None, speaker_from_folder: bool = False
) -> Inputs:
    """Read ``--input`` values into utterances.

    Args:
        items: one folder, files, or one manifest.
        speaker: the speaker of every input (a manifest's column wins).
        speaker_from_folder: each file's parent folder names its speaker.

    Raises:
        ConfigError: a path that does not exist, an empty folder, a bad manifest row, an id given
            twice.
    """
    if not items:
        raise ConfigError("--input: give a folder, audio files or a manifest (.csv, .jsonl)")
    if speaker is not None and speaker_from_folder:
        raise ConfigError("give --speaker or --speaker_from_folder, not both")
    paths = [Path(i) for i in items]
    if len(paths) == 1 and paths[0].suffix.lower() in MANIFEST_SUFFIXES:
        inputs = _read_manifest(paths[0], speaker, speaker_from_folder)
    else:
        utterances: list[Utterance] = []
        for path in paths:
            if path.is_dir():
                files = sorted(p for p in _walk(path) if p.suffix.lower() in AUDIO_SUFFIXES)
                # Folders named like audio go; a dangling link stays, to be listed as missing.
                files = [f for f in files if f.is_file() or f.is_symlink()]
                if not files:
                    raise ConfigError(
                        f"--input {path}: no audio file ({', '.join(AUDIO_SUFFIXES)}) in this "
                        "folder"
                    )
                utterances += [
                    _from_file(f, f.relative_to(path).as_posix(), speaker, speaker_from_folder)
                    for f in files
                ]
            elif path.is_file():
                if path.suffix.lower() in MANIFEST_SUFFIXES:
                    raise ConfigError(
                        f"--input {path}: a manifest must be the only input (got {len(paths)})"
                    )
                utterances.append(_from_file(path, path.name, speaker, speaker_from_folder))
            else:
                raise ConfigError(f"--input {path}: no such file or folder")
        inputs = Inputs(utterances, [None] * len(utterances))
    repeated = sorted(i for i, n in Counter(u.id for u in inputs.utterances).items() if n > 1)
    if repeated:
        raise ConfigError(
            f"--input gives these ids more than once: {repeated[:5]}; ids name the output rows, "
            "so each must be unique (rename the files or fix the manifest's id column)"
        )
    return inputs


def _walk(folder: Path) -> list[Path]:
    """Every entry under ``folder``, following linked folders (each real folder once)."""
    seen: set[Path] = set()
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = Path(root).resolve()
        if real in seen:  # a link back up the tree: do not loop
            dirs[:] = []
            continue
        seen.add(real)
        found += [Path(root) / name for name in files]
    return found


def _from_file(path: Path, uid: str, speaker: str | None, from_folder: bool) -> Utterance:
    sidecar = path.with_suffix(".txt")
    text = sidecar.read_text(encoding="utf-8").strip() if sidecar.is_file() else ""
    who = path.resolve().parent.name if from_folder else (speaker or "")
    return Utterance(id=uid, audio_path=path, text=text, label=0, speaker=who)


def read_table(path: Path, required: tuple[str, ...] = ()) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a manifest, ``.csv`` or ``.jsonl``, with their line numbers.

    The one manifest reader: ``mmfa predict --input`` and corpus plugins (e.g. the example
    wav-folder plugin) read their tables through it, so every table gets the same checks.

    Raises:
        ConfigError: no such file, not UTF-8 (with the byte and a fix), a line that is not a JSON
            object, a CSV row with extra cells or an unterminated quote, no rows, or a missing
            ``required`` column.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: no such manifest")
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path} is not UTF-8 (byte {err.object[err.start]:#04x} at offset {err.start}); "
            "re-save it as UTF-8, e.g. `iconv -f latin1 -t utf-8`"
        ) from None
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix.lower() == ".jsonl":
        for n, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ConfigError(f"{path}, line {n}: not JSON ({err})") from None
                if not isinstance(row, dict):
                    raise ConfigError(f"{path}, line {n}: not a JSON object")
                rows.append((n, row))
    else:
        reader = csv.DictReader(io.StringIO(raw, newline=""))
        for row in reader:
            # A stray quote makes csv swallow the following lines into one cell: refuse it.
            if None in row or any(isinstance(v, str) and "\n" in v for v in row.values()):
                raise ConfigError(
                    f"{path}, line {reader.line_num}: the row has extra cells or a cell that "
                    "runs over several lines (an unterminated quote?); fix the quoting"
                )
            rows.append((reader.line_num, dict(row)))
    if not rows:
        raise ConfigError(f"{path}: the manifest has no rows")
    missing = [c for c in required if c not in rows[0][1]]
    if missing:
        raise ConfigError(f"{path}: missing columns {missing}; expected {', '.join(required)}")
    return rows


def _read_manifest(path: Path, speaker: str | None, from_folder: bool) -> Inputs:
    rows = read_table(path)
    utterances, labels = [], []
    for n, row in rows:
        audio = str(row.get("path") or "")
        text = str(row.get("text") or "")
        if not audio and not text.strip():
            raise ConfigError(f"{path}, line {n}: needs a 'path' (audio) or a 'text' column")
        audio_path = (path.parent / audio) if audio else None
        uid = str(row.get("id") or audio or f"row{n}")
        who = str(row.get("speaker") or "")
        if not who:
            if from_folder and audio_path is not None:
                who = audio_path.resolve().parent.name
            else:
                who = speaker or ""
        utterances.append(Utterance(id=uid, audio_path=audio_path, text=text, label=0, speaker=who))
        label = row.get("label")
        labels.append(str(label) if label not in (None, "") else None)
    return Inputs(utterances, labels)


def segments(inputs: Inputs, window: float, hop: float) -> Inputs:
    """Cut every audio input into windows of ``window`` seconds every ``hop`` seconds.

    Segment ids are ``<id>@<start>-<end>`` (seconds, one decimal); ``group`` keeps the input's
    id for the recording-level summary. Only the segment's samples are read when its features
    are extracted (wav, flac and ogg seek), so a recording of hours needs no more memory than
    one window. Transcripts cannot be cut: segments carry none.

    Raises:
        ConfigError: a window or hop that is not positive, or an unreadable recording.
    """
    from mmfa.errors import BadInputError
    from mmfa.features.audio_io import audio_duration

    if not (window > 0 and hop > 0):
        raise ConfigError(f"--window {window} --hop {hop}: both must be positive seconds")
    out: list[Utterance] = []
    labels: list[str | None] = []
    for utt, label in zip(inputs.utterances, inputs.labels, strict=True):
        if utt.audio_path is None:
            continue
        try:
            total = audio_duration(Path(utt.audio_path), utterance_id=utt.id)
        except BadInputError:
            out.append(replace(utt, group=utt.id, text=""))  # skipped later, with its reason
            labels.append(label)
            continue
        start = 0.0
        while True:
            end = min(start + window, total)
            out.append(
                replace(
                    utt,
                    id=f"{utt.id}@{start:.1f}-{end:.1f}",
                    start=start,
                    end=end,
                    group=utt.id,
                    text="",
                )
            )
            labels.append(label)
            if end >= total:
                break
            start += hop
    return Inputs(out, labels)


def summarise(
    rows: list[dict[str, Any]],
    score_columns: list[str],
    predicted: Callable[[list[float]], str],
) -> list[dict[str, Any]]:
    """One row per recording from its segments' rows: scores averaged, weighted by duration.

    Args:
        rows: segment rows as ``mmfa predict`` writes them (``id``, ``start``, ``end``, scores).
        score_columns: the score columns to average.
        predicted: the prediction of mean scores (the problem's: top class, labels, value).

    Returns:
        ``id, path, segments, seconds, prediction`` and the mean score columns, in the order the
        recordings first appear.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row["id"]).rsplit("@", 1)[0], []).append(row)
    summary = []
    for uid, members in groups.items():
        weights = [float(m["end"]) - float(m["start"]) for m in members]
        total = sum(weights) or 1.0
        means = {
            c: sum(w * float(m[c]) for w, m in zip(weights, members, strict=True)) / total
            for c in score_columns
        }
        summary.append(
            {
                "id": uid,
                "path": members[0]["path"],
                "segments": len(members),
                "seconds": round(max(float(m["end"]) for m in members), 3),
                "prediction": predicted([means[c] for c in score_columns]),
                **means,
            }
        )
    return summary
