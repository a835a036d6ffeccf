"""RAVDESS speech: the file-name reader and actor-independent folds (no torch, no lightning).

The audio-only speech release unpacks to ``Actor_01/`` ... ``Actor_24/``, each holding 60 clips
named ``03-01-EE-II-SS-RR-AA.wav`` (modality 03 = audio only, vocal channel 01 = speech, emotion,
intensity, statement, repetition, actor). FLAC copies under the same names are read too. The
transcript is one of two fixed, emotionally neutral sentences, so the text carries no emotion.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from mmfa.errors import ConfigError
from mmfa.manifest import Utterance

log = logging.getLogger(__name__)

#: The 8 emotions, in label-index order (file-name codes 01 ... 08).
RAVDESS_CLASSES: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)
#: Statement code -> the sentence every actor reads (the transcript).
RAVDESS_STATEMENTS: dict[int, str] = {
    1: "Kids are talking by the door",
    2: "Dogs are sitting by the door",
}
#: Audio files the reader takes; the original release is wav, FLAC copies are common.
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac")
#: How many folds a corpus gets by default (6: groups of 4 actors on the full 24, of 2 on 12).
DEFAULT_NUM_FOLDS = 6

_ACTOR_DIR = re.compile(r"^Actor_(\d{2})$")
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_FORMAT_HINT = (
    "RAVDESS names are 03-01-EE-II-SS-RR-AA (modality, channel, emotion 01-08, intensity 01-02, "
    "statement 01-02, repetition 01-02, actor 01-24); rename or remove the file"
)


@dataclass(frozen=True)
class RavdessName:
    """The seven fields of a RAVDESS file name, as integers."""

    modality: int
    channel: int
    emotion: int
    intensity: int
    statement: int
    repetition: int
    actor: int

    @property
    def is_speech_audio(self) -> bool:
        """Audio-only (03) speech (01): what this reader uses; song and video files are not."""
        return self.modality == 3 and self.channel == 1


def parse_name(path: Path) -> RavdessName:
    """Parse and check ``03-01-EE-II-SS-RR-AA.<ext>``.

    Raises:
        ConfigError: the name is malformed or a field is out of range; the message names the file.
    """
    match = _NAME.match(path.stem)
    if match is None:
        raise ConfigError(f"RAVDESS file {str(path)!r}: malformed name. {_FORMAT_HINT}")
    name = RavdessName(*(int(g) for g in match.groups()))
    problems = []
    if name.modality not in (1, 2, 3):
        problems.append(f"modality {name.modality:02d} (01-03)")
    if name.channel not in (1, 2):
        problems.append(f"vocal channel {name.channel:02d} (01-02)")
    if not 1 <= name.emotion <= len(RAVDESS_CLASSES):
        problems.append(f"emotion {name.emotion:02d} (01-08)")
    if name.intensity not in (1, 2):
        problems.append(f"intensity {name.intensity:02d} (01-02)")
    elif name.emotion == 1 and name.intensity == 2:
        problems.append("intensity 02 for neutral (neutral has normal intensity only)")
    if name.statement not in RAVDESS_STATEMENTS:
        problems.append(f"statement {name.statement:02d} (01-02)")
    if name.repetition not in (1, 2):
        problems.append(f"repetition {name.repetition:02d} (01-02)")
    if not 1 <= name.actor <= 24:
        problems.append(f"actor {name.actor:02d} (01-24)")
    if problems:
        raise ConfigError(
            f"RAVDESS file {str(path)!r}: out of range: {', '.join(problems)}. {_FORMAT_HINT}"
        )
    return name


def gender_of(actor: int) -> str:
    """``male`` for odd actor numbers, ``female`` for even ones (the RAVDESS convention)."""
    return "male" if actor % 2 else "female"


def speaker_id(actor: int) -> str:
    """The speaker id of an actor: its folder name, ``Actor_07``."""
    return f"Actor_{actor:02d}"


def _actor_dirs(root: Path) -> dict[int, Path]:
    root = Path(root)
    dirs = {}
    if root.is_dir():
        for sub in root.iterdir():
            match = _ACTOR_DIR.match(sub.name)
            if match and sub.is_dir():
                dirs[int(match.group(1))] = sub
    if not dirs:
        raise ConfigError(
            f"RAVDESS root {str(root)!r} has no Actor_XX folders: point data.root at the folder "
            "holding Actor_01 ... Actor_24 (the unpacked Audio_Speech_Actors_01-24.zip)"
        )
    return dict(sorted(dirs.items()))


def _audio_files(folder: Path) -> list[Path]:
    # macOS "._*" AppleDouble copies and other hidden files are not clips.
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )


def list_actors(root: Path) -> list[int]:
    """Actor numbers that have at least one audio file under ``root`` (names not checked)."""
    return [actor for actor, folder in _actor_dirs(root).items() if _audio_files(folder)]


def read_ravdess_with_report(root: Path) -> tuple[list[Utterance], dict[str, int]]:
    """Read every speech clip under ``root/Actor_XX/``.

    Args:
        root: the folder holding ``Actor_01`` ... (any subset of the 24 actors).

    Returns:
        The utterances (id = the file stem, speaker = ``Actor_XX``, ``split=""``: folds decide;
        ``extra`` holds gender, intensity, statement, repetition) and counts: ``clips``,
        ``not_speech_audio`` (song or video files, skipped) and ``duplicates`` (the same clip as
        both wav and flac: the wav is kept).

    Raises:
        ConfigError: no ``Actor_XX`` folders, a malformed name, or a clip whose actor field
            differs from its folder; the message names the file.
    """
    counts: Counter[str] = Counter(clips=0, not_speech_audio=0, duplicates=0)
    out: dict[str, Utterance] = {}
    for actor, folder in _actor_dirs(root).items():
        for path in _audio_files(folder):
            name = parse_name(path)
            if name.actor != actor:
                raise ConfigError(
                    f"RAVDESS file {str(path)!r}: actor field {name.actor:02d} but it lies in "
                    f"{folder.name}; move it to Actor_{name.actor:02d}"
                )
            if not name.is_speech_audio:
                counts["not_speech_audio"] += 1
                continue
            if path.stem in out:
                counts["duplicates"] += 1
                if path.suffix.lower() != ".wav":
                    continue  # the sorted order puts .flac before .wav: the wav replaces it
            out[path.stem] = Utterance(
                id=path.stem,
                audio_path=path,
                text=RAVDESS_STATEMENTS[name.statement],
                label=name.emotion - 1,
                speaker=speaker_id(actor),
                group="strong" if name.intensity == 2 else "normal",
                extra={
                    "gender": gender_of(actor),
                    "intensity": f"{name.intensity:02d}",
                    "statement": f"{name.statement:02d}",
                    "repetition": f"{name.repetition:02d}",
                },
            )
    counts["clips"] = len(out)
    return sorted(out.values(), key=lambda u: (u.speaker, u.id)), dict(counts)


def read_ravdess(root: Path) -> list[Utterance]:
    """Read the RAVDESS manifest; see :func:`read_ravdess_with_report`."""
    return read_ravdess_with_report(root)[0]


@dataclass(frozen=True)
class RavdessFold:
    """One actor-independent fold: test actors, validation actors, the rest train."""

    name: str
    test: tuple[int, ...]
    val: tuple[int, ...]


def actor_groups(actors: list[int], num_groups: int) -> list[tuple[int, ...]]:
    """Split actors into ``num_groups`` groups, gender balanced and of near-equal size.

    Women and men are each cut, in actor order, into consecutive runs; the larger runs of women
    go to the first groups and the larger runs of men to the last ones, so group sizes differ by
    at most one and every group holds as even a mix as the counts allow. On the full 24 actors
    and 6 groups this gives ``(1, 2, 3, 4), (5, 6, 7, 8), ...``; on actors 01-12, ``(1, 2), (3,
    4), ...``.
    """
    women = sorted(a for a in actors if gender_of(a) == "female")
    men = sorted(a for a in actors if gender_of(a) == "male")
    k = num_groups

    def sizes(n: int, extra_last: bool) -> list[int]:
        base, rest = divmod(n, k)
        return [base + (1 if (j >= k - rest if extra_last else j < rest) else 0) for j in range(k)]

    groups: list[tuple[int, ...]] = []
    fw = fm = 0
    for sw, sm in zip(sizes(len(women), False), sizes(len(men), True), strict=True):
        groups.append(tuple(sorted(women[fw : fw + sw] + men[fm : fm + sm])))
        fw, fm = fw + sw, fm + sm
    return groups


def ravdess_folds(actors: list[int], num_folds: int = DEFAULT_NUM_FOLDS) -> list[RavdessFold]:
    """Actor-independent folds over whatever actors a user has.

    The actors are split into ``min(num_folds, len(actors))`` groups (:func:`actor_groups`). Fold
    ``i`` tests on group ``i``, validates on group ``i + 1`` (wrapping round) and trains on the
    rest, so every actor is tested exactly once and validation never shares an actor with test.

    Args:
        actors: the actor numbers present (1-24).
        num_folds: the largest number of folds wanted (at least 3).

    Returns:
        The folds, named after their test actors (``actors-01-02``).

    Raises:
        ConfigError: fewer than 3 actors (test, validation and train each need one) or
            ``num_folds < 3``.
    """
    actors = sorted(set(actors))
    if num_folds < 3:
        raise ConfigError(
            f"data.num_folds={num_folds}: at least 3 are needed (test, validation and train "
            "each take a group of actors)"
        )
    if len(actors) < 3:
        raise ConfigError(
            f"RAVDESS: {len(actors)} actor(s) found ({[speaker_id(a) for a in actors]}); "
            "actor-independent folds need at least 3 (one each for test, validation and train). "
            "Add Actor_XX folders to data.root"
        )
    groups = actor_groups(actors, min(num_folds, len(actors)))
    folds = []
    for i, test in enumerate(groups):
        name = "actors-" + "-".join(f"{a:02d}" for a in test)
        folds.append(RavdessFold(name, test, groups[(i + 1) % len(groups)]))
    return folds


def assign_ravdess_split(utt: Utterance, fold: RavdessFold) -> str:
    """``test``, ``val`` or ``train`` of an utterance in a fold (by its speaker's actor number)."""
    actor = int(utt.speaker.rsplit("_", 1)[-1])
    if actor in fold.test:
        return "test"
    if actor in fold.val:
        return "val"
    return "train"
