"""``mmfa data check``: look at a corpus through its datamodule before training on it.

The config is parsed as ``mmfa cv`` parses it, so the datamodule, its folds, classes and caps are
exactly the ones training would use. Then, without extracting a feature:

* the manifest checks setup runs (duplicate ids, labels, split names), all of them, not the first;
* every audio file's header (``audio_duration``): missing, unreadable, truncated, empty or too
  short clips, with the reason tags training's skip report uses; empty transcripts; durations and
  the clips longer than the cap;
* for every fold that ``mmfa cv`` would run: utterances per split, class and speaker, speaker
  overlap between splits, and the readiness checks ``setup("fit")`` runs on the usable clips.

``--extract`` also runs the feature pipeline (filling the feature cache training then reuses), so
what only decoding finds (silent clips, NaN samples) is reported too, exactly as training would
skip it. Problems that would stop training are errors (exit status 1); the rest are warnings
(exit status 0). The report goes to ``report.md``, ``report.json`` and ``durations.png``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mmfa.datamodules.validation import (
    Finding,
    manifest_findings,
    ready_findings,
    speaker_overlap_findings,
    split_findings,
)
from mmfa.errors import BadInputError, MMFAError
from mmfa.manifest import SPLITS, Utterance
from mmfa.problem import get_problem

log = logging.getLogger("mmfa.data_check")

#: Exit status when a problem would stop training (mmfa's own usage/config errors exit 2).
EXIT_PROBLEMS = 1
# A class this much smaller than the largest one, or with one utterance, looks like a typo.
_RARE_SHARE = 0.05

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing the check found.

    Attributes:
        severity: ``error`` (training would stop on it) or ``warning`` (training goes on).
        kind: a short tag, e.g. ``duplicate_ids``, ``skipped``, ``rare_class``.
        message: one line naming what is wrong and the fix.
        ids: the utterances (or speakers, classes) concerned.
    """

    severity: Severity
    kind: str
    message: str
    ids: tuple[str, ...] = ()


@dataclass
class FoldFacts:
    """One fold's splits as ``setup`` would make them (what the readiness checks read).

    Attributes:
        fold: the fold's name (``None``: the corpus' one official split).
        refs: the usable utterances (manifest indexes) of each split.
        batch_size: the config's ``data.batch_size``.
        test_after_fit: whether fit is followed by a test (an empty test split stops it).
    """

    fold: str | None
    refs: dict[str, list[int]]
    batch_size: int
    test_after_fit: bool


@dataclass
class DataCheck:
    """Everything ``mmfa data check`` found; :meth:`to_json` is ``report.json``.

    Attributes:
        datamodule: the datamodule's class name.
        root: ``data.root`` (``None``: the corpus' default place).
        task_type: multiclass, multilabel or regression.
        classes: the declared class names.
        utterances: manifest size.
        speakers: distinct speakers.
        audio_used: whether the config reads audio (its files are checked only then).
        text_used: whether the config reads transcripts.
        cap_seconds: the longest clip extraction keeps (``None``: no cap).
        extracted: whether the feature pipeline ran (``--extract``).
        folds: the folds ``mmfa cv`` would run (``[None]``: the official split).
        per_class: utterances per class (positives per label for multilabel).
        per_speaker: utterances per speaker, and per class.
        durations: seconds of audio per readable utterance id.
        over_cap: ``(id, seconds)`` of the clips longer than the cap.
        skipped: ``(id, reason, detail)`` of the utterances training would skip.
        fold_splits: per fold, per split: utterances, usable utterances, classes, speakers.
        problems: errors first, then warnings.
        wall_s: how long the check took.
    """

    datamodule: str
    root: str | None
    task_type: str
    classes: list[str]
    utterances: int
    speakers: int
    audio_used: bool
    text_used: bool
    cap_seconds: float | None
    extracted: bool
    folds: list[str | None]
    per_class: dict[str, int] = field(default_factory=dict)
    per_speaker: dict[str, dict[str, Any]] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    over_cap: list[tuple[str, float]] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    fold_splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        """The problems that would stop training."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems training goes on with."""
        return [p for p in self.problems if p.severity == "warning"]

    def skip_counts(self) -> dict[str, int]:
        """Skipped utterances per reason (the tags of training's skip report)."""
        return dict(Counter(reason for _, reason, _ in self.skipped))

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON types (durations summarised, not listed)."""
        payload = asdict(self)
        payload["durations"] = duration_stats(list(self.durations.values()))
        payload["skip_counts"] = self.skip_counts()
        payload["ok"] = not self.errors
        return payload


def duration_stats(seconds: Sequence[float]) -> dict[str, float | int]:
    """Count, min, median, mean, max and total hours of clip durations (empty: count 0)."""
    if not seconds:
        return {"count": 0}
    return {
        "count": len(seconds),
        "min": round(min(seconds), 3),
        "median": round(statistics.median(seconds), 3),
        "mean": round(statistics.fmean(seconds), 3),
        "max": round(max(seconds), 3),
        "total_hours": round(sum(seconds) / 3600, 3),
    }


# -- the command -----------------------------------------------------------------------------------
def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Parse ``mmfa data check``'s own options; the rest are config overrides, as in ``mmfa cv``."""
    parser = argparse.ArgumentParser(
        prog="mmfa data check",
        description="Look at a corpus through the config's datamodule before training: counts "
        "per split, class and speaker, durations, clips over the cap, unreadable or suspect "
        "files, duplicate ids, label typos, speaker overlap and the folds that will run. Any "
        "other option (--data.root DIR, --data.*) is passed to the config as in mmfa fit. Exit "
        "status 1 when a problem would stop training, 0 otherwise (warnings included).",
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="config file(s), as for mmfa fit (repeatable; later files override earlier ones)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report folder (default: runs/data_check/<corpus>)",
    )
    parser.add_argument(
        "--extract",
        action="store_true",
        help="also extract features (as training would, into the same cache), to find what "
        "only decoding finds: silent clips, NaN samples, front-end failures",
    )
    return parser.parse_known_args(argv)


def run_data_check(argv: list[str]) -> tuple[DataCheck, Path]:
    """Check the config's corpus and write the report; returns it and its folder."""
    from mmfa.lightning_cli import build_cli
    from mmfa.logs import setup_logging

    setup_logging()
    args, overrides = parse_args(argv)
    started = time.monotonic()
    base = [a for c in args.config for a in ("--config", c)] + overrides
    dm = build_cli(base, run=False, data_only=True).datamodule
    check = check_datamodule(dm, extract=args.extract)
    check.wall_s = round(time.monotonic() - started, 1)
    out = args.out or Path("runs") / "data_check" / corpus_name(dm)
    from mmfa.experiments.data_check_report import write_report

    write_report(check.to_json(), list(check.durations.values()), out)
    return check, out


def data_check_main(argv: list[str]) -> DataCheck:
    """Entry point of ``mmfa data check``: print the summary; exit 1 if training would stop."""
    check, out = run_data_check(argv)
    from mmfa.experiments.data_check_report import summary_lines

    print("\n".join(summary_lines(check.to_json())))
    print(f"report written to {out / 'report.md'}")
    if check.errors:
        raise SystemExit(EXIT_PROBLEMS)
    return check


def corpus_name(dm: Any) -> str:
    """The corpus folder's name, or the datamodule's name without ``DataModule``."""
    if getattr(dm, "root", None):
        return Path(dm.root).name
    return type(dm).__name__.removesuffix("DataModule").lower() or "corpus"


# -- the checks ------------------------------------------------------------------------------------
def check_datamodule(dm: Any, *, extract: bool = False) -> DataCheck:
    """Check a datamodule's corpus the way setup would, collecting every problem.

    Args:
        dm: an :class:`~mmfa.datamodules.base.EmotionDataModule` (not set up).
        extract: also run the feature pipeline (fills the feature cache).

    Raises:
        MMFAError: the manifest is empty (nothing to check).
    """
    owner = type(dm).__name__
    utterances: list[Utterance] = dm.load_manifest()
    if not utterances:
        raise MMFAError(f"{owner}: the manifest is empty (root={dm.root}); check data.root")
    audio = getattr(dm, "audio", None)
    cap = getattr(audio, "max_seconds", None) if audio is not None else dm.max_clip_seconds
    check = DataCheck(
        datamodule=owner,
        root=str(dm.root) if dm.root else None,
        task_type=dm.task_type,
        classes=list(dm.class_names),
        utterances=len(utterances),
        speakers=len({u.speaker for u in utterances}),
        audio_used=audio is not None,
        text_used=getattr(dm, "text", None) is not None,
        cap_seconds=cap,
        extracted=extract,
        folds=list(dm.fold_names()) or [None],
    )
    found = manifest_findings(
        utterances, owner=owner, class_names=dm.class_names, task_type=dm.task_type
    )
    check.problems += [_error(f) for f in found]
    _count_labels(check, utterances)
    header_skips: dict[int, tuple[str, str]] = {}
    if check.audio_used:
        check.durations, header_skips = read_headers(utterances)
        if cap is not None:
            check.over_cap = sorted(
                ((i, s) for i, s in check.durations.items() if s > cap), key=lambda x: -x[1]
            )
    if extract:
        check.skipped, unusable = extraction_skips(dm, utterances)
    else:
        skips = _header_skips(utterances, header_skips, check.text_used)
        check.skipped = [(utterances[i].id, *why) for i, why in skips.items()]
        unusable = set(skips)
    _check_folds(check, dm, utterances, [i for i in range(len(utterances)) if i not in unusable])
    check.problems += _warnings(check, dm)
    check.problems.sort(key=lambda p: p.severity != "error")  # stable: errors first
    return check


def read_headers(
    utterances: Sequence[Utterance],
) -> tuple[dict[str, float], dict[int, tuple[str, str]]]:
    """Durations from file headers, and the clips extraction would refuse on their headers.

    Returns:
        ``({id: seconds}, {manifest index: (reason, detail)})``, with the reason tags of
        :func:`~mmfa.features.audio_io.read_audio` (``missing``, ``unreadable``, ``truncated``,
        ``empty``, ``too_short``) and the pipeline's ``no_audio``.
    """
    from mmfa.features.audio_io import (
        MIN_SAMPLES,
        TARGET_SAMPLE_RATE,
        _check_wav_complete,
        audio_duration,
    )

    file_seconds: dict[Path, float | BadInputError] = {}  # segments share files (MOSEI, MELD)
    durations: dict[str, float] = {}
    bad: dict[int, tuple[str, str]] = {}
    for i, utt in enumerate(utterances):
        if utt.audio_path is None:
            bad[i] = ("no_audio", "the manifest has no audio path for it")
            continue
        path = Path(utt.audio_path)
        if path not in file_seconds:
            try:
                seconds = audio_duration(path, utterance_id=utt.id)  # missing, unreadable
                _check_wav_complete(path, utt.id)  # what libsndfile reads without a word
                file_seconds[path] = seconds
            except BadInputError as err:
                file_seconds[path] = err
        whole = file_seconds[path]
        if isinstance(whole, BadInputError):
            bad[i] = (whole.reason, whole.detail)
            continue
        begin = max(0.0, utt.start or 0.0)
        stop = whole if utt.end is None else min(utt.end, whole)
        seconds = max(0.0, stop - begin)
        if seconds == 0.0:
            bad[i] = ("empty", f"{path} has no samples in the segment [{utt.start}, {utt.end})")
            continue
        durations[utt.id] = seconds
        if round(seconds * TARGET_SAMPLE_RATE) < MIN_SAMPLES:
            bad[i] = (
                "too_short",
                f"{path} gives {seconds:.3f} s, less than one 100 ms MFCC frame",
            )
    return durations, bad


def extraction_skips(
    dm: Any, utterances: list[Utterance]
) -> tuple[list[tuple[str, str, str]], set[int]]:
    """What the feature pipeline skips, extracting as the datamodule does (into its cache).

    Returns:
        ``(id, reason, detail)`` of each skipped utterance, and their manifest indexes.
    """
    from mmfa.features.pipeline import FeaturePipeline

    pipeline = FeaturePipeline(
        dm.cache_dir, dm.audio, dm.text, num_workers=dm.extract_workers, on_bad_input="skip"
    )
    refs, report = pipeline.run(utterances)
    return list(report.skipped), set(range(len(utterances))) - {r.index for r in refs}


def _header_skips(
    utterances: Sequence[Utterance], audio_bad: dict[int, tuple[str, str]], text_used: bool
) -> dict[int, tuple[str, str]]:
    """One reason per skipped utterance: its header finding, else an empty transcript."""
    skips = {}
    for i, utt in enumerate(utterances):
        if i in audio_bad:
            skips[i] = audio_bad[i]
        elif text_used and not utt.text.strip():
            skips[i] = ("empty_transcript", "the transcript is empty")
    return skips


def _count_labels(check: DataCheck, utterances: Sequence[Utterance]) -> None:
    per_speaker: dict[str, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for utt in utterances:
        names = _label_names(utt.label, check)
        totals.update(names)
        per_speaker.setdefault(utt.speaker, Counter()).update(names)
    check.per_class = {c: totals.get(c, 0) for c in check.classes} if check.classes else {}
    sizes = Counter(u.speaker for u in utterances)
    check.per_speaker = {
        s: {
            "utterances": sizes[s],
            "per_class": {c: per_speaker[s].get(c, 0) for c in check.classes},
        }
        for s in sorted(sizes)
    }


def _label_names(label: Any, check: DataCheck) -> list[str]:
    """The class names a label counts for (none for a regression score or a bad label)."""
    if not get_problem(check.task_type).label_ok(label, len(check.classes)):
        return []
    if check.task_type == "multiclass":
        return [check.classes[int(label)]]
    if check.task_type == "multilabel":
        return [c for c, v in zip(check.classes, label, strict=True) if v]
    return []


def _check_folds(
    check: DataCheck, dm: Any, utterances: Sequence[Utterance], usable: list[int]
) -> None:
    """Split the manifest for every fold as setup would, and run setup's checks on it.

    ``usable`` holds manifest indexes, not ids: with duplicated ids an id names no one utterance.
    """
    owner = type(dm).__name__
    for fold in check.folds:
        dm.fold = fold
        where = f"{owner}{f' (fold {fold})' if fold else ''}"
        splits = [dm.split_of(u) for u in utterances]
        bad_names = split_findings(
            [(u.id, s) for u, s in zip(utterances, splits, strict=True)], where
        )
        check.problems += [_error(f) for f in bad_names]
        facts = FoldFacts(
            fold,
            {s: [i for i in usable if splits[i] == s] for s in SPLITS},
            dm.batch_size,
            getattr(dm, "test_after_fit", True),
        )
        check.problems += [_error(f) for f in ready_findings(facts, "fit", owner=owner)]
        speakers = {s: {utterances[i].speaker for i in facts.refs[s]} for s in SPLITS}
        overlap = speaker_overlap_findings(speakers, where)
        if dm.speaker_independent:
            check.problems += [_error(f) for f in overlap]
        check.fold_splits[fold or "official"] = {
            "utterances": {s: splits.count(s) for s in SPLITS},
            "left_out": splits.count(""),
            "usable": {s: len(facts.refs[s]) for s in SPLITS},
            "per_class": {
                s: _class_counts([utterances[i] for i in facts.refs[s]], check) for s in SPLITS
            },
            "speakers": {s: sorted(speakers[s]) for s in SPLITS},
            "speaker_overlap": [list(f.ids) for f in overlap],
        }
    dm.fold = check.folds[0]


def _class_counts(utterances: Sequence[Utterance], check: DataCheck) -> dict[str, int]:
    counts = Counter(name for u in utterances for name in _label_names(u.label, check))
    return {c: counts.get(c, 0) for c in check.classes}


def _warnings(check: DataCheck, dm: Any) -> list[Problem]:
    """What training goes on with: skipped files, clips cut to the cap, rare or empty classes."""
    warnings = []
    if check.skipped:
        counts = ", ".join(f"{r}: {n}" for r, n in sorted(check.skip_counts().items()))
        stops = dm.on_bad_input == "error"
        warnings.append(
            Problem(
                "error" if stops else "warning",
                "skipped",
                f"{len(check.skipped)} utterances would be "
                f"{'refused (data.on_bad_input=error stops at the first)' if stops else 'skipped'}"
                f" ({counts}); e.g. {check.skipped[0][0]}: {check.skipped[0][2]}",
                tuple(uid for uid, _, _ in check.skipped),
            )
        )
    if check.over_cap:
        longest_id, longest = check.over_cap[0]
        warnings.append(
            Problem(
                "warning",
                "over_cap",
                f"{len(check.over_cap)} clips are longer than the cap of {check.cap_seconds:g} s "
                f"and would be cut to it (longest: {longest_id}, {longest:.1f} s); set "
                "data.max_clip_seconds to change it",
                tuple(i for i, _ in check.over_cap),
            )
        )
    if check.per_class and check.utterances >= 10:
        largest = max(check.per_class.values())
        empty = [c for c, n in check.per_class.items() if n == 0]
        rare = [
            c for c, n in check.per_class.items() if 0 < n and (n == 1 or n < _RARE_SHARE * largest)
        ]
        if empty:
            warnings.append(
                Problem(
                    "warning",
                    "empty_class",
                    f"classes {empty} have no utterances; the model would still have an output "
                    "for them. Check the label column, or declare only the classes used",
                    tuple(empty),
                )
            )
        if rare:
            shown = ", ".join(f"{c!r} ({_utterances(check.per_class[c])})" for c in rare)
            one = len(rare) == 1
            warnings.append(
                Problem(
                    "warning",
                    "rare_class",
                    f"{'class' if one else 'classes'} {shown} {'is' if one else 'are'} rare "
                    f"beside the largest ({largest}); if a typo of another label, fix the "
                    "labels (or list the classes in the config so unknown labels are refused)",
                    tuple(rare),
                )
            )
    return warnings


def _utterances(n: int) -> str:
    return f"{n} utterance{'' if n == 1 else 's'}"


def _error(finding: Finding) -> Problem:
    return Problem("error", finding.kind, finding.message, finding.ids)
