"""Dialogue context: the earlier turns of the same dialogue, as text for the text encoder.

An utterance in a conversation is often ambiguous alone ("Really?" may be joy, surprise or
anger); the turns before it usually are not. A corpus reader that knows its dialogues fills
:attr:`mmfa.manifest.Utterance.context` with the ``size`` turns before each utterance (never
later ones, never labels), oldest first; the text features then encode the pair
``[CLS] context [SEP] utterance [SEP]`` and keep only the utterance's own words
(:class:`mmfa.features.text.TextFeatureExtractor`), so the model's input keeps its shape.

Pure Python (no torch), so any corpus plugin can use it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from mmfa.errors import ConfigError
from mmfa.manifest import Utterance


def check_context_size(size: int, key: str = "data.context_turns") -> int:
    """Validate a context size (number of earlier turns); returns it.

    Raises:
        ConfigError: ``size`` is not a non-negative integer.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ConfigError(
            f"{key}={size!r}: the number of earlier dialogue turns must be an integer >= 0 "
            "(0: no context, the paper's setting)"
        )
    return size


def format_turn(speaker: str, text: str, speaker_names: bool = True) -> str:
    """One context turn: ``"Speaker: text"`` (or just ``text``)."""
    text = " ".join(text.split())
    speaker = " ".join(speaker.split())
    return f"{speaker}: {text}" if speaker_names and speaker else text


def earlier_turns(
    turns: Sequence[tuple[str, str]], size: int, speaker_names: bool = True
) -> list[tuple[str, ...]]:
    """The context of every turn of one dialogue: the ``size`` turns before it.

    Args:
        turns: ``(speaker, text)`` of each turn, in dialogue order (every spoken turn, labelled
            or not: context is text only).
        size: number of earlier turns to keep (0: none).
        speaker_names: prefix each turn with ``"Speaker: "``.

    Returns:
        One tuple per turn, parallel to ``turns``: its earlier turns, oldest first (at most
        ``size``; the first turn has none).
    """
    check_context_size(size)
    formatted = [format_turn(s, t, speaker_names) for s, t in turns]
    return [tuple(formatted[max(0, i - size) : i]) if size else () for i in range(len(turns))]


def add_dialogue_context(
    utterances: Sequence[Utterance],
    size: int,
    *,
    dialogue_of: Callable[[Utterance], Hashable],
    position_of: Callable[[Utterance], Any],
    speaker_names: bool = True,
) -> list[Utterance]:
    """Fill ``context`` from the other utterances of the manifest (when it holds every turn).

    For corpora whose manifest has one row per spoken turn (MELD). A corpus with unlabelled
    turns that are not in the manifest should build the turn list itself and use
    :func:`earlier_turns`, so that those turns count as context too.

    Args:
        utterances: the manifest.
        size: number of earlier turns per utterance (0 returns the manifest unchanged).
        dialogue_of: the dialogue an utterance belongs to (unique across splits).
        position_of: a sort key of an utterance within its dialogue (turn number, start time).
        speaker_names: prefix each turn with ``"Speaker: "``.

    Returns:
        The utterances in the same order, with ``context`` set.
    """
    if check_context_size(size) == 0:
        return list(utterances)
    dialogues: dict[Hashable, list[int]] = defaultdict(list)
    for i, utt in enumerate(utterances):
        dialogues[dialogue_of(utt)].append(i)
    out = list(utterances)
    for members in dialogues.values():
        members.sort(key=lambda i: position_of(utterances[i]))
        turns = [(utterances[i].speaker, utterances[i].text) for i in members]
        for i, context in zip(members, earlier_turns(turns, size, speaker_names), strict=True):
            out[i] = dataclasses.replace(utterances[i], context=context)
    return out
