"""MELD: the manifest reader for ``MELD.Raw`` (official train/dev/test split), label sets.

Reads the three CSVs and points at the mp4 clips as users unpack ``MELD.Raw.tar.gz`` (layout and
quirks: ``docs/corpus_formats.md``, "MELD"). Pure parsing: no torch, no lightning; the datamodule
is :class:`mmfa.datamodules.meld.MELDDataModule`.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from mmfa.dialogue import add_dialogue_context, check_context_size
from mmfa.errors import ConfigError, MMFAError
from mmfa.manifest import Utterance

__all__ = [
    "MELD_EMOTIONS",
    "MELD_KNOWN_BAD",
    "MELD_MAX_SECONDS",
    "MELD_SENTIMENTS",
    "MELD_SPLITS",
    "parse_meld_time",
    "read_meld",
    "read_meld_csv",
    "read_meld_with_report",
    "repair_cp1252",
]

MELD_EMOTIONS: tuple[str, ...] = (
    "neutral",
    "joy",
    "sadness",
    "anger",
    "surprise",
    "fear",
    "disgust",
)
MELD_SENTIMENTS: tuple[str, ...] = ("neutral", "positive", "negative")

#: Official split -> (CSV name, clip folder). mmfa calls ``dev`` ``val``.
MELD_SPLITS: dict[str, tuple[str, str]] = {
    "train": ("train_sent_emo.csv", "train_splits"),
    "val": ("dev_sent_emo.csv", "dev_splits_complete"),
    "test": ("test_sent_emo.csv", "output_repeated_splits_test"),
}

#: Clips known to be broken in the real release (utterance id -> what is wrong).
MELD_KNOWN_BAD: dict[str, str] = {
    "train_dia125_utt3": "unreadable",
    "val_dia110_utt7": "missing",
    "test_dia220_utt0": "over-long (cut wrongly)",
    "test_dia38_utt4": "over-long (cut wrongly)",
    "train_dia309_utt0": "over-long (cut wrongly)",
    "train_dia793_utt0": "over-long (cut wrongly)",
}

#: Audio beyond this many seconds is cut off by the audio stage. A few clips are cut wrongly and
#: last minutes (docs/corpus_formats.md); every real utterance is far shorter than 30 s, so the
#: cap only touches those.
MELD_MAX_SECONDS = 30.0

# Time stamps are "hh:mm:ss,ms", also 1-digit hours and 2-digit ms.
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*$")


def repair_cp1252(text: str) -> str:
    """Turn C1 control characters that are really cp1252 bytes back into what they stand for.

    The 2019 CSVs hold U+0080..U+009F where the source had cp1252 bytes (U+0092 is ``’``; see
    docs/corpus_formats.md). The five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90,
    0x9D) stand for no character at all, so they are dropped rather than kept as invisible
    controls.
    """
    out = []
    for char in text:
        if "\x80" <= char <= "\x9f":
            try:
                out.append(bytes([ord(char)]).decode("cp1252"))
            except UnicodeDecodeError:
                pass  # undefined in cp1252: drop (see docstring)
        else:
            out.append(char)
    return "".join(out)


def _clean_text(text: str) -> tuple[str, int]:
    repaired = repair_cp1252(text)
    changed = sum("\x80" <= c <= "\x9f" for c in text)
    # Repaired copies of the CSVs in circulation also write the 2019 no-break spaces as plain
    # spaces; doing the same makes both versions load to identical text.
    return repaired.replace("\xa0", " "), changed


def parse_meld_time(value: str) -> float | None:
    """Seconds of a MELD time stamp, or ``None`` when it cannot be read.

    The millisecond field is read as an integer count: the 2-digit values (``00:05:11,82``) come
    from the same unpadded integer formatting that gives 1-digit hours, so ``82`` means 0.082 s.
    """
    match = _TIME.match(value or "")
    if match is None:
        return None
    h, m, s, ms = (int(g) for g in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def read_meld_csv(path: Path, split: str) -> list[dict[str, Any]]:
    """Read one MELD CSV into plain rows.

    Args:
        path: ``train_sent_emo.csv``, ``dev_sent_emo.csv`` or ``test_sent_emo.csv``.
        split: the mmfa split it holds (``train``, ``val`` or ``test``).

    Returns:
        One dict per row, keyed ``split``, ``dialogue_id``, ``utterance_id`` (ints; together the
        unique key: ``Sr No.`` is not unique), ``text`` (cp1252 damage repaired),
        ``speaker``, ``emotion``, ``sentiment``, ``season``, ``episode``, ``start``/``end``
        (seconds in the episode, ``None`` when unreadable) and ``repaired_chars``.

    Raises:
        MMFAError: a header column is missing, an id is not an integer, or a key repeats.
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:  # a copy re-saved as real cp1252
        text = data.decode("cp1252", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    needed = {"Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID"}
    missing = needed - set(reader.fieldnames or ())
    if missing:
        raise MMFAError(f"{path}: not a MELD CSV, columns {sorted(missing)} are missing")
    rows: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for line, row in enumerate(reader, start=2):
        try:
            key = (int(row["Dialogue_ID"]), int(row["Utterance_ID"]))
        except (TypeError, ValueError) as err:
            raise MMFAError(f"{path}, line {line}: Dialogue_ID/Utterance_ID not integers") from err
        if key in seen:
            raise MMFAError(f"{path}, line {line}: dialogue {key[0]} utterance {key[1]} repeats")
        seen.add(key)
        utterance, repaired = _clean_text(row["Utterance"] or "")
        speaker, _ = _clean_text(row["Speaker"] or "")
        rows.append(
            {
                "split": split,
                "dialogue_id": key[0],
                "utterance_id": key[1],
                "text": utterance.strip(),
                "speaker": speaker.strip(),
                "emotion": (row["Emotion"] or "").strip().lower(),
                "sentiment": (row["Sentiment"] or "").strip().lower(),
                "season": (row.get("Season") or "").strip(),
                "episode": (row.get("Episode") or "").strip(),
                "start": parse_meld_time(row.get("StartTime") or ""),
                "end": parse_meld_time(row.get("EndTime") or ""),
                "repaired_chars": repaired,
            }
        )
    return rows


def _find(root: Path, name: str, want_dir: bool) -> Path | None:
    # The CSVs are sometimes inside the split folders: look one level down too.
    for candidate in [root / name, *sorted(root.glob(f"*/{name}"))]:
        if candidate.is_dir() if want_dir else candidate.is_file():
            return candidate
    return None


def read_meld_with_report(
    root: Path,
    target: Literal["emotion", "sentiment"] = "emotion",
    with_audio: bool = True,
    context_turns: int = 0,
    context_speakers: bool = True,
) -> tuple[list[Utterance], dict[str, int]]:
    """Read the MELD manifest and count clip problems.

    Args:
        root: the ``MELD.Raw`` folder (the three CSVs, at the top or one level down, and the clip
            folders ``train_splits``, ``dev_splits_complete``, ``output_repeated_splits_test``).
        target: label by ``emotion`` (7 classes) or ``sentiment`` (3 classes).
        with_audio: ``False`` for text-only runs: only the CSVs are needed, ``audio_path`` is
            ``None``.
        context_turns: fill each utterance's ``context`` with the text of up to this many
            earlier utterances of its dialogue (``Utterance_ID`` order; never later ones, never
            labels); 0, the paper's setting, gives none. See :mod:`mmfa.dialogue`.
        context_speakers: prefix each context turn with ``"Speaker: "``.

    Returns:
        Utterances ``{split}_dia{D}_utt{U}`` (speaker = the Speaker column, group = ``dia{D}``,
        episode times in ``extra``: ``start``/``end`` stay ``None`` since each clip is already cut)
        and counts ``missing_clip`` (not an error: the audio stage skips and counts it),
        ``known_bad_clip`` (in :data:`MELD_KNOWN_BAD`), ``repaired_chars`` and ``bad_time``.

    Raises:
        ConfigError: bad target, or a CSV is not found.
        MMFAError: a CSV row is malformed or has an unknown label.
    """
    if target not in ("emotion", "sentiment"):
        raise ConfigError(f"target={target!r}: use 'emotion' or 'sentiment'")
    check_context_size(context_turns, "context_turns")
    classes = MELD_EMOTIONS if target == "emotion" else MELD_SENTIMENTS
    root = Path(root)
    counts: Counter[str] = Counter(missing_clip=0, known_bad_clip=0, repaired_chars=0, bad_time=0)
    out: list[Utterance] = []
    for split, (csv_name, clip_folder) in MELD_SPLITS.items():
        csv_path = _find(root, csv_name, want_dir=False)
        if csv_path is None:
            raise ConfigError(
                f"MELD: {csv_name} not found in {str(root)!r} or one level down: point root at "
                "the unpacked 'MELD.Raw' folder"
            )
        clips = _find(root, clip_folder, want_dir=True) or root / clip_folder
        for row in read_meld_csv(csv_path, split):
            utt_id = f"{split}_dia{row['dialogue_id']}_utt{row['utterance_id']}"
            if row[target] not in classes:
                raise MMFAError(
                    f"{csv_path}: {utt_id} has {target} {row[target]!r}, not in {classes}"
                )
            counts["repaired_chars"] += row["repaired_chars"]
            counts["bad_time"] += (row["start"] is None) + (row["end"] is None)
            audio: Path | None = None
            if with_audio:
                # final_videos_test* twins are ignored: the plain name is the clip.
                audio = clips / f"dia{row['dialogue_id']}_utt{row['utterance_id']}.mp4"
                counts["missing_clip"] += not audio.is_file()
                counts["known_bad_clip"] += utt_id in MELD_KNOWN_BAD
            times = {k: f"{row[k]:.3f}" for k in ("start", "end") if row[k] is not None}
            out.append(
                Utterance(
                    id=utt_id,
                    audio_path=audio,
                    text=row["text"],
                    label=classes.index(row[target]),
                    speaker=row["speaker"],
                    split=split,
                    group=f"dia{row['dialogue_id']}",
                    extra={"season": row["season"], "episode": row["episode"], **times},
                )
            )
    # Dialogue ids restart in every split: a dialogue is (split, Dialogue_ID); the id ends in
    # its Utterance_ID.
    out = add_dialogue_context(
        out,
        context_turns,
        dialogue_of=lambda u: (u.split, u.group),
        position_of=lambda u: int(u.id.rsplit("_utt", 1)[1]),
        speaker_names=context_speakers,
    )
    return out, dict(counts)


def read_meld(
    root: Path,
    target: Literal["emotion", "sentiment"] = "emotion",
    with_audio: bool = True,
    context_turns: int = 0,
    context_speakers: bool = True,
) -> list[Utterance]:
    """Read the MELD manifest; see :func:`read_meld_with_report` (same arguments)."""
    return read_meld_with_report(root, target, with_audio, context_turns, context_speakers)[0]
