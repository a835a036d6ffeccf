"""IEMOCAP: the manifest reader, label maps and the paper's leave-one-speaker-out folds.

Reads ``IEMOCAP_full_release/`` exactly as the release unpacks (layout and quirks:
``docs/corpus_formats.md``, "IEMOCAP"). Pure parsing: no torch, no lightning; the datamodule is
:class:`mmfa.datamodules.iemocap.IEMOCAPDataModule`.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Literal

from mmfa.dialogue import check_context_size, earlier_turns
from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

__all__ = [
    "IEMOCAP_CODE_MAPS",
    "IEMOCAP_LABEL_SETS",
    "IEMOCAP_SPEAKERS",
    "assign_iemocap_split",
    "iemocap_folds",
    "read_iemocap",
    "read_iemocap_with_report",
    "speaker_of",
]

#: Class names of the paper's two label sets, in label-index order.
IEMOCAP_LABEL_SETS: dict[str, tuple[str, ...]] = {
    "4class": ("neutral", "angry", "sad", "happy"),
    "8class": ("neutral", "frustrated", "angry", "sad", "happy", "surprise", "excited", "fear"),
}

#: Consensus code -> class name; codes absent from a map are dropped (``xxx``, ``oth``, ``dis``...).
IEMOCAP_CODE_MAPS: dict[str, dict[str, str]] = {
    # Paper Sec. IV.B: happy and excited are merged in the 4-class set.
    "4class": {"neu": "neutral", "ang": "angry", "sad": "sad", "hap": "happy", "exc": "happy"},
    "8class": {
        "neu": "neutral",
        "fru": "frustrated",
        "ang": "angry",
        "sad": "sad",
        "hap": "happy",
        "sur": "surprise",
        "exc": "excited",
        "fea": "fear",
    },
}

#: The 10 speakers: session + the letter of the speaker (not of the dialog id).
IEMOCAP_SPEAKERS: tuple[str, ...] = tuple(f"Ses0{n}{g}" for n in range(1, 6) for g in "FM")

# "[6.2901 - 8.2357]<TAB>id<TAB>code<TAB>[v, a, d]" opens each EmoEvaluation block
# (docs/corpus_formats.md, "IEMOCAP").
_SUMMARY = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\w+)\s+\[([^\]]*)\]")
# A transcript line: "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me."
_TURN = re.compile(r"^(\S+)\s+\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s*:\s?(.*)$")
# Cross-talk turns end in MXX*/FXX* and have no label and no wav.
_CROSSTALK = re.compile(r"_[MF]XX\w*$")


def _text_files(folder: Path) -> list[Path]:
    # Only regular *.txt files directly inside; macOS "._*" copies and the
    # Categorical/Attribute/Self-evaluation sub-folders hold no consensus labels.
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix == ".txt" and p.is_file() and not p.name.startswith(".")
    )


def _read_lines(path: Path) -> list[str]:
    # Some transcripts are not clean UTF-8; cp1252 is what the stray bytes are.
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    # Split on newlines only: str.splitlines() also breaks at U+0085 and other separators.
    return [line.rstrip("\r") for line in text.split("\n")]


def speaker_of(utterance_id: str) -> str:
    """Speaker id of an utterance: ``Ses0N`` + the first letter of the last ``_`` part.

    The letter in the dialog id is the actor wearing markers, not the speaker.
    """
    return utterance_id[:5] + utterance_id.rsplit("_", 1)[1][:1]


def read_iemocap_with_report(
    root: Path,
    label_set: str = "4class",
    scenario: Literal["improvised", "mixed"] = "mixed",
    context_turns: int = 0,
    context_speakers: bool = True,
) -> tuple[list[Utterance], dict[str, int]]:
    """Read the IEMOCAP manifest and count what was left out.

    Args:
        root: the ``IEMOCAP_full_release`` folder (holding ``Session1`` ... ``Session5``).
        label_set: ``"4class"`` or ``"8class"`` (see :data:`IEMOCAP_LABEL_SETS`).
        scenario: ``"improvised"`` (impro dialogs only) or ``"mixed"`` (all dialogs).
        context_turns: fill each utterance's ``context`` with up to this many earlier turns of
            its dialog, ordered by start time: every transcribed turn counts, labelled or not,
            of either speaker (cross-talk lines excepted); never later turns, never labels.
            0, the paper's setting, gives none. See :mod:`mmfa.dialogue`.
        context_speakers: prefix each context turn with its speaker (``"Ses01F: "``).

    Returns:
        The utterances (``split=""``: folds decide; ``extra`` holds ``dialog`` and ``code``) and
        counts: ``dropped_label`` (code not in the label set), ``dropped_scenario`` (scripted in
        the improvised scenario), ``missing_transcript`` (labelled, no transcript line: skipped),
        ``crosstalk_lines`` and ``unparsed_lines`` (transcript lines ignored), ``missing_audio``
        (kept, but the wav is absent: the audio stage skips it).

    Raises:
        ConfigError: unknown label set or scenario, missing root, or no ``Session*`` folders.
    """
    if label_set not in IEMOCAP_LABEL_SETS:
        raise ConfigError(f"label_set={label_set!r}: use one of {sorted(IEMOCAP_LABEL_SETS)}")
    if scenario not in ("improvised", "mixed"):
        raise ConfigError(f"scenario={scenario!r}: use 'improvised' or 'mixed'")
    check_context_size(context_turns, "context_turns")
    root = Path(root)
    sessions = sorted(root.glob("Session[1-5]")) if root.is_dir() else []
    if not sessions:
        raise ConfigError(
            f"IEMOCAP root {str(root)!r} has no Session1..Session5 folders: point root at the "
            "unpacked 'IEMOCAP_full_release' folder"
        )
    classes = IEMOCAP_LABEL_SETS[label_set]
    code_map = IEMOCAP_CODE_MAPS[label_set]
    counts: Counter[str] = Counter(
        dropped_label=0,
        dropped_scenario=0,
        missing_transcript=0,
        crosstalk_lines=0,
        unparsed_lines=0,
        missing_audio=0,
    )
    out: list[Utterance] = []
    for session in sessions:
        texts: dict[str, str] = {}
        # dialog -> (start time, turn id, text) of every transcribed turn, for the context.
        dialog_turns: dict[str, list[tuple[float, str, str]]] = {}
        for path in _text_files(session / "dialog" / "transcriptions"):
            for line in _read_lines(path):
                if not line.strip():
                    continue
                match = _TURN.match(line.strip())
                if match is None:
                    counts["unparsed_lines"] += 1
                elif _CROSSTALK.search(match.group(1)):
                    counts["crosstalk_lines"] += 1
                else:
                    turn_id, text = match.group(1), match.group(4).strip()
                    if turn_id not in texts:
                        texts[turn_id] = text
                        dialog_turns.setdefault(turn_id.rsplit("_", 1)[0], []).append(
                            (float(match.group(2)), turn_id, text)
                        )
        context: dict[str, tuple[str, ...]] = {}
        for turns in dialog_turns.values() if context_turns else ():
            turns.sort()
            spoken = [(speaker_of(turn_id), text) for _, turn_id, text in turns]
            found = earlier_turns(spoken, context_turns, context_speakers)
            context.update((turn_id, c) for (_, turn_id, _), c in zip(turns, found, strict=True))
        for path in _text_files(session / "dialog" / "EmoEvaluation"):
            for line in _read_lines(path):
                match = _SUMMARY.match(line)
                if match is None:
                    continue  # header, C-/A- vote lines, blank lines
                utt_id, code = match.group(3), match.group(4)
                dialog = utt_id.rsplit("_", 1)[0]  # not the first two underscores
                improvised = "impro" in dialog
                if code not in code_map:
                    counts["dropped_label"] += 1
                    continue
                if scenario == "improvised" and not improvised:
                    counts["dropped_scenario"] += 1
                    continue
                if utt_id not in texts:
                    counts["missing_transcript"] += 1
                    continue
                wav = session / "sentences" / "wav" / dialog / f"{utt_id}.wav"
                if not wav.is_file():
                    counts["missing_audio"] += 1
                out.append(
                    Utterance(
                        id=utt_id,
                        audio_path=wav,
                        text=texts[utt_id],
                        label=classes.index(code_map[code]),
                        speaker=speaker_of(utt_id),
                        group="improvised" if improvised else "scripted",
                        extra={"dialog": dialog, "code": code},
                        context=context.get(utt_id, ()),
                    )
                )
    return out, dict(counts)


def read_iemocap(
    root: Path,
    label_set: str = "4class",
    scenario: Literal["improvised", "mixed"] = "mixed",
    context_turns: int = 0,
    context_speakers: bool = True,
) -> list[Utterance]:
    """Read the IEMOCAP manifest; see :func:`read_iemocap_with_report` (same arguments)."""
    return read_iemocap_with_report(root, label_set, scenario, context_turns, context_speakers)[0]


def iemocap_folds() -> list[tuple[str, str, str]]:
    """List the paper's 10 leave-one-speaker-out folds (Sec. IV.B).

    Returns:
        ``(fold_name, test_speaker, val_speaker)`` per fold: test is one speaker, validation is the
        other speaker of the same session, the four other sessions train. ``fold_name`` is the
        test speaker (``Ses01F`` ...).
    """
    partner = {"F": "M", "M": "F"}
    return [(spk, spk, spk[:5] + partner[spk[5]]) for spk in IEMOCAP_SPEAKERS]


def assign_iemocap_split(utt: Utterance, fold: tuple[str, str, str] | str) -> str:
    """``train``, ``val`` or ``test`` of an utterance in a fold (a tuple or a fold name)."""
    folds = {f[0]: f for f in iemocap_folds()}
    if isinstance(fold, str):
        if fold not in folds:
            raise ConfigError(f"fold={fold!r}: use one of {sorted(folds)}")
        fold = folds[fold]
    _, test, val = fold
    if utt.speaker not in IEMOCAP_SPEAKERS:
        raise ConfigError(
            f"utterance {utt.id!r}: speaker {utt.speaker!r} is not an IEMOCAP speaker"
        )
    if utt.speaker == test:
        return "test"
    if utt.speaker == val:
        return "val"
    return "train"
