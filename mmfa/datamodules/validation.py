"""Manifest and split checks run at setup, so bad data stops a run before any training.

Each check raises an :class:`~mmfa.errors.MMFAError` (or a :class:`~mmfa.errors.ConfigError`
when a config key is at fault) that names the ids, values or key at fault and the fix. Without
them a duplicated id or a misspelled label is silently accepted, and an empty test split or a
one-utterance batch fails only after training, deep inside torchmetrics or BatchNorm.

Each check comes in two forms: ``*_findings`` returns every problem as a :class:`Finding` (what
``mmfa data check`` reports, all in one pass) and ``check_*`` raises the first of them (what
setup does), so both say the same thing in the same words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass
from typing import Any, Protocol

from mmfa.errors import ConfigError, MMFAError
from mmfa.manifest import SPLITS, Utterance
from mmfa.problem import get_problem

__all__ = [
    "Finding",
    "ReadyFacts",
    "check_manifest",
    "check_ready",
    "check_split_name",
    "manifest_findings",
    "raise_first",
    "ready_findings",
    "speaker_overlap_findings",
    "split_findings",
    "split_name_problem",
]


@dataclass(frozen=True)
class Finding:
    """One problem that stops training, as a check found it.

    Attributes:
        kind: a short tag (``duplicate_ids``, ``too_few_classes``, ``bad_labels``,
            ``bad_split``, ``speaker_overlap``, ``empty_split``, ``batch_size``, ``tiny_train``).
        message: the one-line error setup would raise, naming the ids or key and the fix.
        ids: every utterance concerned (empty when the problem is not about utterances).
        error: the exception class setup raises it as (``ConfigError`` when a key is at fault).
    """

    kind: str
    message: str
    ids: tuple[str, ...] = ()
    error: type[MMFAError] = MMFAError


def raise_first(findings: Sequence[Finding]) -> None:
    """Raise the first finding as its error class; nothing when there is none."""
    if findings:
        raise findings[0].error(findings[0].message)


class ReadyFacts(Protocol):
    """What :func:`check_ready` reads from a datamodule (so this module never imports one)."""

    @property
    def fold(self) -> Any:
        """The fold in use (falsy: none)."""

    @property
    def refs(self) -> Mapping[str, Sized]:
        """The usable utterances of each split."""

    @property
    def batch_size(self) -> int:
        """Utterances per training batch."""


# Names people use for a split, and the one mmfa means.
_SPLIT_ALIASES = {
    "dev": "val",
    "devel": "val",
    "development": "val",
    "valid": "val",
    "validation": "val",
    "eval": "val",
    "training": "train",
    "tr": "train",
    "testing": "test",
    "tst": "test",
}
# Which splits a Lightning stage reads.
_STAGE_SPLITS = {
    "fit": ("train", "val"),
    "validate": ("val",),
    "test": ("test",),
    "predict": ("test",),  # prediction runs over the test split
}
_SHOW = 10  # ids shown in a message; the rest are counted


def _some(items: Sequence[Any]) -> str:
    shown = ", ".join(repr(i) for i in items[:_SHOW])
    return shown + (f" and {len(items) - _SHOW} more" if len(items) > _SHOW else "")


def split_name_problem(split: str, utterance_id: str, owner: str) -> str | None:
    """The error message for a split name mmfa does not know; ``None`` for a known one.

    Args:
        split: the split an utterance was given.
        utterance_id: the utterance, for the message.
        owner: the datamodule's name, for the message.
    """
    if split == "" or split in SPLITS:
        return None
    hint = _SPLIT_ALIASES.get(split.strip().lower())
    fix = f"use {hint!r}" if hint else f"use one of {list(SPLITS)}, or '' to leave it out"
    return (
        f"{owner}: utterance {utterance_id!r} has split {split!r}, which mmfa does not know; "
        f"{fix} (fix the split column of the manifest or the plugin's split_of())"
    )


def check_split_name(split: str, utterance_id: str, owner: str) -> None:
    """Raise unless ``split`` is ``train``, ``val``, ``test`` or ``""`` (left out).

    Args:
        split: the split an utterance was given.
        utterance_id: the utterance, for the message.
        owner: the datamodule's name, for the message.
    """
    problem = split_name_problem(split, utterance_id, owner)
    if problem is not None:
        raise MMFAError(problem)


def split_findings(splits: Sequence[tuple[str, str]], owner: str) -> list[Finding]:
    """One finding per unknown split name, with every utterance that has it.

    Args:
        splits: ``(utterance id, split)`` pairs.
        owner: the datamodule's name, for the messages.
    """
    first: dict[str, str] = {}
    ids: dict[str, list[str]] = {}
    for uid, split in splits:
        if split not in first:
            first[split] = split_name_problem(split, uid, owner) or ""
        if first[split]:
            ids.setdefault(split, []).append(uid)
    return [Finding("bad_split", first[s], tuple(found)) for s, found in ids.items()]


def manifest_findings(
    utterances: Sequence[Utterance],
    *,
    owner: str,
    class_names: Sequence[str],
    task_type: str,
) -> list[Finding]:
    """Every problem of a manifest: duplicated ids, too few classes, bad labels, bad split names.

    Args:
        utterances: the corpus manifest.
        owner: the datamodule's name, for messages.
        class_names: the declared classes (label names in index order).
        task_type: ``multiclass``, ``multilabel`` or ``regression``.

    Returns:
        The findings in the order :func:`check_manifest` checks them (empty: a good manifest).
    """
    findings = []
    duplicates = [i for i, n in Counter(u.id for u in utterances).items() if n > 1]
    if duplicates:
        findings.append(
            Finding(
                "duplicate_ids",
                f"{owner}: {len(duplicates)} utterance ids occur more than once: "
                f"{_some(duplicates)}. Ids must be unique (features, predictions and folds are "
                "keyed by id); fix the corpus files or the plugin's load_manifest()",
                tuple(duplicates),
            )
        )
    problem = get_problem(task_type, key=f"{owner}.task_type")
    if len(class_names) < problem.min_classes:
        findings.append(
            Finding(
                "too_few_classes",
                f"{owner}: {len(class_names)} class{'es' if len(class_names) != 1 else ''} "
                f"({list(class_names)}); classification needs at least two. Check the label "
                "column and the declared classes (e.g. data.classes)",
            )
        )
    bad = [(u.id, u.label) for u in utterances if not problem.label_ok(u.label, len(class_names))]
    if bad:
        uid, value = bad[0]
        findings.append(
            Finding(
                "bad_labels",
                f"{owner}: {len(bad)} utterances have a label outside the declared "
                f"{problem.expected_label(class_names)}, e.g. {uid!r} with label {value!r}"
                + (f" (also {_some([i for i, _ in bad[1:]])})" if len(bad) > 1 else "")
                + ". Fix the labels, or declare the classes they use",
                tuple(i for i, _ in bad),
            )
        )
    findings += split_findings([(u.id, u.split) for u in utterances], owner)
    return findings


def check_manifest(
    utterances: Sequence[Utterance],
    *,
    owner: str,
    class_names: Sequence[str],
    task_type: str,
) -> None:
    """Unique ids, labels within the declared classes, known split names.

    Args:
        utterances: the corpus manifest.
        owner: the datamodule's name, for messages.
        class_names: the declared classes (label names in index order).
        task_type: ``multiclass``, ``multilabel`` or ``regression``.

    Raises:
        MMFAError: naming the duplicated ids, or the first utterances with a bad label or split.
    """
    raise_first(
        manifest_findings(utterances, owner=owner, class_names=class_names, task_type=task_type)
    )


def speaker_overlap_findings(speakers: Mapping[str, set[str]], owner: str) -> list[Finding]:
    """Every pair of train/val/test that shares speakers (setup refuses the first).

    Args:
        speakers: the speakers of each split.
        owner: the datamodule's name and fold, for the messages.
    """
    findings = []
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = speakers.get(a, set()) & speakers.get(b, set())
        if shared:
            findings.append(
                Finding(
                    "speaker_overlap",
                    f"{owner}: speakers {sorted(shared)} are in both {a} and {b}; the folds are "
                    "not speaker-independent. Fix split_of() in the corpus plugin.",
                    tuple(sorted(shared)),
                )
            )
    return findings


def check_ready(dm: ReadyFacts, stage: str | None) -> None:
    """Check that the splits a stage needs hold data, and that training batches can be normed.

    ``fit`` needs train and val, and test too when the run tests after fitting
    (``dm.test_after_fit``): an empty test split must stop the run *before* training, not after.
    ``validate`` needs val; ``test`` and ``predict`` need test; no stage (``None``) checks nothing.

    Raises:
        MMFAError: an empty split, named with its fold and the fix.
        ConfigError: ``data.batch_size`` 1 or a one-utterance train split (the model's BatchNorm
            needs at least two utterances per training batch).
    """
    raise_first(ready_findings(dm, stage))


def ready_findings(dm: ReadyFacts, stage: str | None, *, owner: str | None = None) -> list[Finding]:
    """Every reason :func:`check_ready` would stop ``stage``, in the order it checks them.

    Args:
        dm: the datamodule, or anything with its ``fold``, ``refs`` and ``batch_size``.
        stage: the Lightning stage (``None``: nothing is checked).
        owner: the datamodule's name for messages (default: ``dm``'s class name).
    """
    if stage is None:
        return []
    owner = f"{owner or type(dm).__name__}{f' (fold {dm.fold})' if dm.fold else ''}"
    findings = []
    needed = list(_STAGE_SPLITS.get(stage, ()))
    if stage == "fit" and getattr(dm, "test_after_fit", True):
        needed.append("test")
    sizes = {s: len(dm.refs.get(s, [])) for s in SPLITS}
    empty = [s for s in needed if sizes[s] == 0]
    if empty:
        why = (
            "; fit tests the validation-selected checkpoint on test after training "
            "(to train without a test split: --test_after_fit false on the command line, "
            "datamodule.test_after_fit = False in Python)"
            if "test" in empty and stage == "fit"
            else ""
        )
        findings.append(
            Finding(
                "empty_split",
                f"{owner}: the {' and '.join(empty)} split"
                f"{'s are' if len(empty) > 1 else ' is'} empty "
                f"({', '.join(f'{s} {n}' for s, n in sizes.items())} usable utterances)"
                f"{why}. Fix the corpus' split column or the plugin's split_of(), choose another "
                "fold (data.fold), or check the skipped-utterance report",
            )
        )
    if stage != "fit":
        return findings
    if dm.batch_size < 2:
        findings.append(
            Finding(
                "batch_size",
                f"data.batch_size={dm.batch_size}: the model's BatchNorm needs at least 2 "
                "utterances per training batch; use data.batch_size 2 or more",
                error=ConfigError,
            )
        )
    if sizes["train"] < 2:
        findings.append(
            Finding(
                "tiny_train",
                f"{owner}: the train split has {sizes['train']} usable utterance; the model's "
                "BatchNorm needs at least 2 per training batch. Add training data or fix the "
                "split",
            )
        )
    return findings
