"""Any list of utterances, served for prediction the way a corpus serves its test split.

:class:`UtteranceDataModule` is the one way a trained model meets new inputs: ``mmfa predict``
(files, a folder, a manifest, or a config's split) and :class:`~mmfa.inference.EmotionRecognizer`
(files or arrays) both build one and hand it to ``Trainer.predict``. Features come from the same
:class:`~mmfa.features.pipeline.FeaturePipeline` and store as in training (arrays: an in-memory
store that nothing persists), are prepared by the model's
:class:`~mmfa.datamodules.preparation.AudioPreparation` and batched by the same
:class:`~mmfa.datamodules.collate.FeatureDataset` and evaluation loader. So a file gives exactly
the scores the model's test gave it.

A model trained with modality dropout can predict from one modality: inputs are grouped by the
modalities they have (e.g. audio and text, audio only), one prediction loader per group.
Inputs that lack a modality the model cannot do without stop the run with an error naming them;
unreadable inputs are skipped and listed (:attr:`UtteranceDataModule.feature_report`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from mmfa.datamodules.base import default_cache_dir
from mmfa.datamodules.collate import FeatureDataset
from mmfa.datamodules.loaders import eval_loader
from mmfa.datamodules.preparation import UNKNOWN_SPEAKER, AudioPreparation
from mmfa.errors import BadInputError, ConfigError
from mmfa.features.pipeline import FeaturePipeline, FeatureReport, SampleRef
from mmfa.manifest import Utterance

MODALITIES = ("audio", "text")
#: Fewer usable inputs than this for a named speaker draws a warning from a speaker-normalised
#: model without a prior: on RAVDESS, a speaker named on 1-3 clips was predicted worse than one
#: named on none (docs/use_a_trained_model.md).
FEW_UTTERANCES = 4


def has_modality(utt: Utterance, modality: str) -> bool:
    """Whether an utterance brings audio (a file) or text (a non-blank transcript)."""
    if modality == "audio":
        return utt.audio_path is not None
    return bool(utt.text and utt.text.strip())


class UtteranceDataModule(L.LightningDataModule):
    """Prediction batches for given utterances, prepared as the model was trained.

    Args:
        utterances: the inputs, in output order (``label`` is ignored; ``speaker`` ``""`` means
            unknown).
        audio: the audio front-end the model was trained with (None: none); features are
            extracted only for the modalities in ``modalities``.
        text: the text front-end the model was trained with (None: none).
        preparation: the model's audio preparation (None: features as extracted).
        functionals: the utterance-level audio front-end the model was trained with
            (``data.functionals``; None: none), computed for every input with audio.
        functionals_preparation: their standardisation as in training.
        modalities: what the model's fusion reads.
        tolerates_missing: the model was trained with modality dropout and can predict from the
            modalities an input has.
        labels: gold class names per input, written beside the predictions (None: none).
        signals: manifest position -> 16 kHz mono samples, for inputs given as arrays; then
            every feature is computed in memory and nothing is cached on disk.
        cache_dir: the feature cache for files (None: mmfa's default cache).
        batch_size: utterances per batch.
        num_workers: DataLoader workers.
        progress: show extraction progress bars.
    """

    def __init__(
        self,
        utterances: Sequence[Utterance],
        *,
        audio: Any,
        text: Any,
        preparation: AudioPreparation | None = None,
        functionals: Any = None,
        functionals_preparation: AudioPreparation | None = None,
        modalities: Sequence[str] = MODALITIES,
        tolerates_missing: bool = False,
        labels: Sequence[str | None] | None = None,
        signals: Mapping[int, np.ndarray] | None = None,
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        progress: bool = True,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size}: give 1 or more utterances per batch")
        self.utterances = list(utterances)
        self.audio, self.text = audio, text
        self.preparation = preparation or AudioPreparation()
        self.functionals = functionals
        self.functionals_preparation = functionals_preparation or AudioPreparation()
        self.modalities = tuple(modalities)
        self.tolerates_missing = tolerates_missing
        self.labels = list(labels) if labels is not None else [None] * len(self.utterances)
        self.signals = dict(signals or {})
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.progress = progress
        #: What was reused, extracted and skipped (the SkippedWriter lists ``skipped``).
        self.feature_report: FeatureReport | None = None
        #: One dataset per group of inputs with the same modalities, fullest first.
        self.datasets: dict[tuple[str, ...], FeatureDataset] = {}
        #: Inputs with audio but no speaker, standardised with the training statistics (a model
        #: trained with per-speaker normalisation only).
        self.unnamed_speakers = 0
        #: Named speakers with fewer than :data:`FEW_UTTERANCES` usable inputs, and how many,
        #: for a model that normalises per speaker with no prior (their statistics come from
        #: those few inputs alone).
        self.thinly_named: dict[str, int] = {}

    def split_of(self, utt: Utterance) -> str:
        """Inputs belong to no split (the skipped-inputs list leaves the column empty)."""
        return ""

    # -- Lightning hooks ------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        """Extract (or read cached) features and group the usable inputs by modality."""
        if self.feature_report is not None:
            return  # features are ready; a second Trainer call reuses them
        groups = self._groups()
        report = FeatureReport()
        failed: dict[int, tuple[str, str, str]] = {}
        for i in groups.pop((), []):
            failed[i] = (self.utterances[i].id, "no_input", "no audio file and no transcript")
        rows: dict[str, dict[int, int]] = {}
        stores: dict[str, Any] = {}
        for modality in MODALITIES:
            positions = sorted(i for has, pos in groups.items() if modality in has for i in pos)
            if not positions:
                continue
            rows[modality], stores[modality] = self._extract(modality, positions, failed, report)
            if modality == "audio" and self.functionals is not None:
                rows["functionals"], stores["functionals"] = self._extract(
                    "functionals", positions, failed, report
                )
        report.skipped = [failed[i] for i in sorted(failed)]
        self.feature_report = report
        if self.preparation.speaker_norm:
            named = Counter(
                self.utterances[i].speaker for i in rows.get("audio", {}) if i not in failed
            )
            self.unnamed_speakers = named.pop(UNKNOWN_SPEAKER, 0)
            if not self.preparation.speaker_norm_prior:
                self.thinly_named = {s: n for s, n in named.items() if n < FEW_UTTERANCES}
        stats = self.preparation.statistics(
            (self.utterances[i].speaker, stores["audio"].get_row(row))
            for i, row in rows.get("audio", {}).items()
            if i not in failed
        )
        functionals_stats = self.functionals_preparation.statistics(
            (self.utterances[i].speaker, stores["functionals"].get_row(row))
            for i, row in rows.get("functionals", {}).items()
            if i not in failed
        )
        for has in sorted(groups, key=len, reverse=True):
            refs = [
                SampleRef(
                    i,
                    rows.get("audio", {}).get(i, -1),
                    rows.get("text", {}).get(i, -1),
                    rows.get("functionals", {}).get(i, -1),
                )
                for i in groups[has]
                if i not in failed
            ]
            if refs:
                self.datasets[has] = FeatureDataset(
                    refs,
                    self.utterances,
                    stores["audio"] if "audio" in has else None,
                    stores["text"] if "text" in has else None,
                    preparation=self.preparation if "audio" in has else None,
                    speaker_stats=stats,
                    functionals_store=stores.get("functionals") if "audio" in has else None,
                    functionals_preparation=self.functionals_preparation,
                    functionals_stats=functionals_stats,
                )

    def predict_dataloader(self) -> DataLoader | list[DataLoader]:
        """One loader per modality group (a single loader when every input has the same)."""
        trainer = self._trainer_or_none()
        loaders = [
            eval_loader(dataset, self.batch_size, self.num_workers, trainer)
            for dataset in self.datasets.values()
        ]
        return loaders[0] if len(loaders) == 1 else loaders

    # -- machinery ------------------------------------------------------------------------------
    def _has(self, i: int, modality: str) -> bool:
        if modality == "audio" and i in self.signals:
            return True
        return has_modality(self.utterances[i], modality)

    def _groups(self) -> dict[tuple[str, ...], list[int]]:
        """Input positions by the model's modalities each input has; refuses partial inputs."""
        groups: dict[tuple[str, ...], list[int]] = {}
        for i in range(len(self.utterances)):
            has = tuple(m for m in self.modalities if self._has(i, m))
            groups.setdefault(has, []).append(i)
        partial = [i for has, pos in groups.items() if has and has != self.modalities for i in pos]
        if partial and not self.tolerates_missing:
            missing = sorted({m for i in partial for m in self.modalities if not self._has(i, m)})
            names = ", ".join(self.utterances[i].id for i in partial[:5])
            raise ConfigError(
                f"the model needs {' and '.join(self.modalities)} for every input, but "
                f"{len(partial)} input(s) lack {' / '.join(missing)} (e.g. {names}). Give a "
                "transcript for each file (a manifest with a 'text' column, or a .txt beside "
                "each audio file), or use a model trained with AudioOnly/TextOnly or with "
                "modality dropout (model.modality_dropout > 0), which can predict without it."
            )
        return groups

    def _extract(
        self,
        modality: str,
        positions: list[int],
        failed: dict[int, tuple[str, str, str]],
        report: FeatureReport,
    ) -> tuple[dict[int, int], Any]:
        """Run the pipeline for one modality over ``positions``; returns global pos -> row.

        ``functionals`` are audio features of their own front-end and store.
        """
        in_memory = bool(self.signals)
        from_audio = modality in ("audio", "functionals")
        pipeline = FeaturePipeline(
            None if in_memory else self._cache_dir(),
            {"audio": self.audio, "functionals": self.functionals}.get(modality),
            self.text if modality == "text" else None,
            on_bad_input="skip",
            progress=self.progress,
            cap_hint="to predict all of a long recording, cut it into windows: mmfa predict "
            "--window S --hop S (Python: EmotionRecognizer.predict_windows)",
        )
        subset = [self.utterances[i] for i in positions]
        signals = {local: self.signals[i] for local, i in enumerate(positions) if i in self.signals}
        refs, part = pipeline.run(subset, signals=signals if from_audio else None)
        kind = "functionals" if modality == "functionals" else None  # not counted as "audio"
        report.reused.update({kind or k: n for k, n in part.reused.items()})
        report.extracted.update({kind or k: n for k, n in part.extracted.items()})
        by_id = {self.utterances[i].id: i for i in positions}
        for uid, reason, detail in part.skipped:
            failed.setdefault(by_id[uid], (uid, reason, detail))
        store = pipeline.audio_store if from_audio else pipeline.text_store
        rows = {positions[r.index]: (r.audio_row if from_audio else r.text_row) for r in refs}
        return rows, store

    def _cache_dir(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    def _trainer_or_none(self) -> Any:
        try:
            return self.trainer
        except RuntimeError:
            return None


def first_skip(report: FeatureReport | None) -> BadInputError | None:
    """The first skipped input as an error (for single-input calls), or None."""
    if report is None or not report.skipped:
        return None
    uid, reason, detail = report.skipped[0]
    return BadInputError(uid, reason, detail)
