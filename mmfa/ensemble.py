"""Several trained models as one: their probabilities averaged (:class:`EnsembleRecognizer`).

    from mmfa.ensemble import EnsembleRecognizer
    r = EnsembleRecognizer.from_checkpoints(["runs/cv/x/folds/a-seed0/.../best.ckpt", ...])
    r.predict("clip.wav", text="I can't believe it")      # the averaged Prediction

Each member is an :class:`~mmfa.inference.EmotionRecognizer` and predicts through its own, the
one prediction path; the ensemble only averages the rows they write: softmax probabilities
(multiclass), sigmoid probabilities (multilabel) or the score (regression), then predicts from
the mean as a single model does (argmax, ``> 0.5``, the value). Members run one after the other,
so only one model's activations are in memory at a time; members trained with the same
front-end share it. An input any member could not use is skipped by the ensemble.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.errors import ConfigError
from mmfa.inference import EmotionRecognizer, PredictionRun, Recognizer, Skipped
from mmfa.manifest import Utterance

log = logging.getLogger(__name__)

MODALITY_ORDER = ("audio", "text")


class EnsembleRecognizer(Recognizer):
    """Trained models of one problem and class list, predicting together by averaging.

    Args:
        members: the models, e.g. the seeds or folds of an ``mmfa cv`` run.
        names: a name per member for messages (default: ``model 1``, ``model 2``...).

    Raises:
        ConfigError: no member, or two members of another problem type or other class names
            (or another class order).
    """

    def __init__(
        self, members: Sequence[EmotionRecognizer], names: Sequence[str] | None = None
    ) -> None:
        self.members = list(members)
        if not self.members:
            raise ConfigError("an ensemble needs at least one model")
        self.names = (
            [str(n) for n in names]
            if names is not None
            else [f"model {i}" for i in range(1, len(self.members) + 1)]
        )
        if len(self.names) != len(self.members):
            raise ConfigError(f"{len(self.members)} models but {len(self.names)} names")
        check_members_agree(self.members, self.names)
        first = self.members[0]
        self.problem = first.problem
        self.class_names = list(first.class_names)
        used = {m for member in self.members for m in member.modalities}
        self.modalities = tuple(m for m in MODALITY_ORDER if m in used)
        self.tolerates_missing = all(m.tolerates_missing for m in self.members)

    @property
    def needs_text(self) -> bool:
        """Whether some member needs a transcript for every input."""
        return any(m.needs_text for m in self.members)

    @classmethod
    def from_checkpoints(
        cls,
        paths: Sequence[str | Path],
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        allow_remote: bool = False,
        batch_size: int = 32,
    ) -> EnsembleRecognizer:
        """Load checkpoints of ``mmfa fit`` or ``mmfa cv``, each as ``from_checkpoint`` does."""
        return cls.load(
            checkpoints=paths,
            device=device,
            cache_dir=cache_dir,
            allow_remote=allow_remote,
            batch_size=batch_size,
        )

    @classmethod
    def from_pretrained(
        cls,
        names: Sequence[str | Path],
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
    ) -> EnsembleRecognizer:
        """Load folders of ``mmfa export`` (or Hub repo ids), each as ``from_pretrained`` does."""
        return cls.load(exported=names, device=device, cache_dir=cache_dir, batch_size=batch_size)

    @classmethod
    def load(
        cls,
        checkpoints: Sequence[str | Path] = (),
        exported: Sequence[str | Path] = (),
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        allow_remote: bool = False,
        batch_size: int = 32,
    ) -> EnsembleRecognizer:
        """Checkpoints and exported folders together (``mmfa predict --ckpt_path ... --model ...``).

        Raises:
            ConfigError: a model cannot be loaded (see ``from_checkpoint``), or the models
                disagree on the problem type or the class names.
        """
        from mmfa import checkpoints as ckpt_io
        from mmfa.export import load_exported, resolve_pretrained

        options: dict[str, Any] = {
            "device": device,
            "cache_dir": cache_dir,
            "batch_size": batch_size,
        }
        shared: dict[str, Any] = {}  # front-end record -> the one built for every member
        members, names = [], []
        for path in checkpoints:
            record = ckpt_io.load(path, allow_remote=allow_remote)
            members.append(EmotionRecognizer._from_loaded(record, shared, **options))
            names.append(str(path))
        for name in exported:
            record = load_exported(resolve_pretrained(name))
            members.append(EmotionRecognizer._from_loaded(record, shared, **options))
            names.append(str(name))
        return cls(members, names)

    def predict_utterances(
        self,
        utterances: Sequence[Utterance],
        *,
        labels: Sequence[str | None] | None = None,
        signals: dict[int, np.ndarray] | None = None,
        out: str | Path | None = None,
        skipped_out: str | Path | None = None,
        progress: bool = True,
    ) -> PredictionRun:
        """Every member's :meth:`~mmfa.inference.EmotionRecognizer.predict_utterances`, averaged.

        Arguments as there; the rows keep the schema of a single model's (``modalities``: what
        the members used together).
        """
        runs = []
        for k, (member, name) in enumerate(zip(self.members, self.names, strict=True), start=1):
            log.info("ensemble model %d/%d: %s", k, len(self.members), name)
            runs.append(
                member.predict_utterances(
                    utterances, labels=labels, signals=signals, progress=progress
                )
            )
            if member._told_unnamed:  # the unnamed-speakers warning once, not once per member
                for other in self.members:
                    other._told_unnamed = True
        run = self._averaged(runs, utterances)
        from mmfa.callbacks.predictions import write_rows
        from mmfa.callbacks.skipped import write_skipped

        if out is not None and run.rows:
            write_rows(Path(out), run.rows)
        if skipped_out is not None:
            write_skipped(Path(skipped_out), [(s.id, "", s.reason, s.detail) for s in run.skipped])
        return run

    def _averaged(
        self, runs: list[PredictionRun], utterances: Sequence[Utterance]
    ) -> PredictionRun:
        """One run from the members' runs: mean scores of the inputs every member predicted."""
        skipped: dict[str, Skipped] = {}
        for name, run in zip(self.names, runs, strict=True):
            for s in run.skipped:
                detail = s.detail if len(runs) == 1 else f"{s.detail} (model {name})"
                skipped.setdefault(s.id, Skipped(s.id, s.reason, detail))
        columns = self.problem.score_columns(self.class_names)
        by_member = [{row["id"]: row for row in run.rows} for run in runs]
        rows, index = [], []
        for row, position in zip(runs[0].rows, runs[0].index, strict=True):
            if row["id"] in skipped:  # another member could not use it
                continue
            same = [rows_of[row["id"]] for rows_of in by_member]
            scores = np.mean([[float(r[c]) for c in columns] for r in same], axis=0)
            averaged = dict(row)  # the first member's row: id, path, text, [start, end], [label]
            averaged["prediction"] = self.problem.predicted(scores[None, :], self.class_names)[0]
            averaged.update(zip(columns, scores.tolist(), strict=True))
            used = {m for r in same for m in str(r["modalities"]).split("+") if m}
            averaged["modalities"] = "+".join(m for m in MODALITY_ORDER if m in used)
            rows.append(averaged)
            index.append(position)
        order = {u.id: i for i, u in enumerate(utterances)}
        return PredictionRun(
            predictions=[self._prediction(row) for row in rows],
            skipped=sorted(skipped.values(), key=lambda s: order.get(s.id, len(order))),
            index=index,
            rows=rows,
        )


def check_members_agree(members: Sequence[Recognizer], names: Sequence[str]) -> None:
    """Refuse models whose probabilities cannot be averaged: another problem or class list.

    Raises:
        ConfigError: one line naming the two models and what differs.
    """
    first, first_name = members[0], names[0]
    for member, name in zip(members[1:], names[1:], strict=True):
        if member.problem.kind != first.problem.kind:
            what = f"problem type {first.problem.kind} vs {member.problem.kind}"
        elif list(member.class_names) != list(first.class_names):
            same_set = sorted(member.class_names) == sorted(first.class_names)
            what = (
                f"class {'order' if same_set else 'names'} {list(first.class_names)} vs "
                f"{list(member.class_names)}"
            )
        else:
            continue
        raise ConfigError(
            f"{first_name} and {name} cannot be averaged ({what}); ensemble models trained on "
            "the same problem and classes"
        )
