"""The base LightningDataModule every corpus extends.

A corpus file only says where its files are and how labels and splits are made, by implementing
:meth:`EmotionDataModule.load_manifest` (and, for cross-validated corpora, :meth:`fold_names` and
:meth:`split_of`). Feature extraction and caching, speaker checks, padding and loaders live here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from jsonargparse import lazy_instance
from torch.utils.data import DataLoader

from mmfa.datamodules.collate import FeatureDataset, collate
from mmfa.datamodules.loaders import eval_loader
from mmfa.datamodules.preparation import UNKNOWN_SPEAKER, AudioPreparation
from mmfa.datamodules.sampler import BucketBatchSampler, check_batch_memory, store_lengths
from mmfa.datamodules.shuffle import EpochShuffleSampler
from mmfa.datamodules.transforms import FeatureAugment, SpeakerStats
from mmfa.datamodules.validation import check_manifest, check_ready, check_split_name
from mmfa.errors import ConfigError, MMFAError
from mmfa.features.audio import MFCCExtractor
from mmfa.features.frontend import AudioFrontEnd, TextFrontEnd
from mmfa.features.pipeline import FeaturePipeline, FeatureReport, SampleRef
from mmfa.features.text import TextFeatureExtractor
from mmfa.manifest import SPLITS, Utterance
from mmfa.problem import ProblemType, get_problem

log = logging.getLogger(__name__)

# Defaults shown in full by ``--print_config`` (class_path + init_args), so a resolved config
# names the front-ends actually used and nested overrides (``--data.audio.init_args.x``) work.
# They are templates: each datamodule builds its own instance from them (see _own_instance).
DEFAULT_AUDIO: Any = lazy_instance(MFCCExtractor)
DEFAULT_TEXT: Any = lazy_instance(TextFeatureExtractor)


def _own_instance(obj: Any) -> Any:
    """A plain instance of a front-end given as a lazy template (shared, unpicklable)."""
    cls = getattr(obj, "_lazy_class_type", None)
    if cls is None:
        return obj
    return cls(**obj._lazy_kwargs)


def default_cache_dir() -> Path:
    """``$MMFA_CACHE_DIR`` or ``~/.cache/mmfa``: where features (and the synthetic corpus) live."""
    return Path(os.environ.get("MMFA_CACHE_DIR", Path.home() / ".cache" / "mmfa")).expanduser()


def require_root(root: str | None, expected: str) -> str:
    """Check that ``data.root`` was given; the message says which folder it must point to."""
    if not root:
        raise ConfigError(
            f"data.root is required: the path of the {expected} folder "
            "(e.g. --data.root /data/corpus)"
        )
    if not Path(root).expanduser().exists():
        raise ConfigError(f"data.root={root!r} does not exist; it must be the {expected} folder")
    return root


class EmotionDataModule(L.LightningDataModule):
    """Manifest -> feature store -> padded batches with masks.

    Args:
        root: the corpus folder as the user unpacked it.
        fold: which cross-validation fold, one of :meth:`fold_names` (``None``: the first fold,
            or nothing for a corpus with one official split). Checked on first use (reading
            ``self.fold``, ``prepare_data`` or ``setup``: before any feature is extracted), so a
            subclass may set what :meth:`fold_names` needs before or after ``super().__init__``.
        audio: the audio front-end, any ``AudioFrontEnd`` (default: the paper's openSMILE MFCC;
            ``mmfa.features.torch_mfcc.TorchMFCCExtractor`` gives the same features batched).
        text: the text feature extractor (default: packaged MiniLM, words pooled).
        use_audio: extract and feed audio (``False`` for text-only runs).
        use_text: extract and feed text (``False`` for audio-only runs).
        cache_dir: feature store root (default ``$MMFA_CACHE_DIR`` or ``~/.cache/mmfa``).
        batch_size: utterances per batch.
        num_workers: DataLoader worker processes.
        extract_workers: processes for audio extraction (``None``: all cores).
        on_bad_input: ``skip`` (count and report) or ``error`` (raise on the first bad utterance).
        seed: seed of the training-set shuffling.
        bucketing: group training utterances of similar length into batches (shuffled and
            seeded per epoch, DDP-aware, every utterance once per epoch; see
            :mod:`mmfa.datamodules.sampler`): faster on corpora of very mixed lengths, at some
            cost in accuracy (docs/performance.md), so it is opt-in. ``False`` (the default, as
            the paper): plain shuffled batches. Evaluation batches keep manifest order either
            way.
        max_clip_seconds: the corpus' longest clip, in seconds: longer clips are cut to it when
            extracted (the cut is counted in the log), so one runaway recording cannot exhaust
            memory (attention grows with the square of the length). Applied to the audio
            front-end unless it sets its own ``max_seconds``; ``None``: no cap.
        speaker_norm: standardise each audio feature with its speaker's mean and std over all
            that speaker's utterances (no labels used; see :mod:`mmfa.datamodules.transforms`).
            Off by default (the paper feeds the MFCC as extracted); no effect without audio.
        speaker_norm_dropout: with ``speaker_norm``, the share of training utterances
            standardised with the training set's pooled statistics instead of their speaker's:
            what prediction does for a recording whose speaker nobody named
            (:mod:`mmfa.datamodules.preparation`), so the model learns to do without. 0 (the
            default): always the speaker's.
        speaker_norm_prior: with ``speaker_norm``, how many utterances' worth of the training
            set's statistics are pooled into each speaker's statistics when preparing
            validation, test and prediction inputs (training utterances keep their speaker's
            own, so training is unchanged): a speaker named on a few recordings is standardised
            mostly like an unknown one instead of with statistics of those few (on RAVDESS, a
            speaker named on one clip loses about 30 UA points without it). 0 (the default):
            the speaker's own.
        augment: train-time augmentation of the audio features, e.g.
            :class:`~mmfa.datamodules.transforms.FeatureAugment`; None (default): none.
        trim_silence: drop leading and trailing audio frames whose log-energy is this far below
            the utterance's loudest frame (e.g. 6.0, about 26 dB); None (default): keep all.
        functionals: an utterance-level audio front-end (one row per utterance, e.g.
            :class:`~mmfa.features.functionals.FunctionalsExtractor`, openSMILE's ComParE 2016
            functionals) whose vector goes straight to the classifier beside the sequence
            (``model.functionals_dim``; see :class:`~mmfa.models.network.MMFANetwork`). With
            ``speaker_norm`` it is standardised per speaker too, otherwise with the training
            set's statistics. No effect without audio. None (default, the paper): no such path.
    """

    #: Label names, in index order. Set by each corpus (may depend on init arguments).
    class_names: tuple[str, ...] = ()
    #: What the labels are: one class, several present classes, or a score.
    task_type: ProblemType = "multiclass"
    #: Whether splits must be speaker-disjoint (checked at setup).
    speaker_independent: bool = False
    #: Whether ``fit`` is followed by a test (so an empty test split fails before training);
    #: the CLI sets it from ``--test_after_fit``.
    test_after_fit: bool = True

    def __init__(
        self,
        root: str | None = None,
        fold: str | None = None,
        audio: AudioFrontEnd | None = DEFAULT_AUDIO,
        text: TextFrontEnd | None = DEFAULT_TEXT,
        use_audio: bool = True,
        use_text: bool = True,
        cache_dir: str | None = None,
        batch_size: int = 16,
        num_workers: int = 0,
        extract_workers: int | None = None,
        on_bad_input: Literal["skip", "error"] = "skip",
        seed: int = 0,
        bucketing: bool = False,
        max_clip_seconds: float | None = 60.0,
        speaker_norm: bool = False,
        speaker_norm_dropout: float = 0.0,
        speaker_norm_prior: float = 0.0,
        augment: FeatureAugment | None = None,
        trim_silence: float | None = None,
        functionals: AudioFrontEnd | None = None,
    ) -> None:
        super().__init__()
        if not (use_audio or use_text):
            raise ConfigError("data.use_audio and data.use_text are both false: nothing to feed")
        self.root = Path(root).expanduser() if root else None
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.audio = _own_instance(audio or MFCCExtractor()) if use_audio else None
        self.text = _own_instance(text or TextFeatureExtractor()) if use_text else None
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.extract_workers = extract_workers
        self.on_bad_input = on_bad_input
        self.seed = seed
        self.bucketing = bucketing
        self.max_clip_seconds = max_clip_seconds
        if self.audio is not None and getattr(self.audio, "max_seconds", 0) is None:
            self.audio.max_seconds = max_clip_seconds  # a front-end's own cap wins
        # Like speaker_norm, no effect without audio (a recipe serves text-only runs too).
        self.functionals = _own_instance(functionals) if functionals and use_audio else None
        if self.functionals is not None and getattr(self.functionals, "max_seconds", 0) is None:
            self.functionals.max_seconds = max_clip_seconds
        self.speaker_norm = speaker_norm
        if not 0.0 <= speaker_norm_dropout <= 1.0:
            raise ConfigError(
                f"data.speaker_norm_dropout={speaker_norm_dropout}: give a share in [0, 1]"
            )
        self.speaker_norm_dropout = speaker_norm_dropout
        if speaker_norm_prior < 0:
            raise ConfigError(
                f"data.speaker_norm_prior={speaker_norm_prior}: give a number of utterances >= 0"
            )
        self.augment = augment
        self.trim_silence = trim_silence
        #: What happens to audio features between the store and the model; every checkpoint
        #: saves it so prediction does the same (:mod:`mmfa.datamodules.preparation`).
        self.preparation = AudioPreparation(
            trim_silence=trim_silence,
            speaker_norm=speaker_norm and self.audio is not None,
            speaker_norm_prior=speaker_norm_prior,
        )
        #: The same for the utterance-level features: always standardised (functionals mix
        #: Hz, dB and counts), per speaker when ``speaker_norm`` is on.
        self.functionals_preparation = AudioPreparation(
            speaker_norm=True,
            training_stats_only=not speaker_norm,
            speaker_norm_prior=speaker_norm_prior,
        )
        # Statistics for training utterances (True) and for every other (False).
        self._speaker_stats: dict[bool, SpeakerStats] = {}
        self._functionals_stats: dict[bool, SpeakerStats] = {}
        self._functionals_store: Any = None
        self._fold: str | None = fold  # checked on first use, see the `fold` property
        self._fold_checked = False
        self.utterances: list[Utterance] = []
        self.refs: dict[str, list[SampleRef]] = {}
        self.feature_report: FeatureReport | None = None
        self._pipeline: FeaturePipeline | None = None

    # -- what a corpus provides ------------------------------------------------------------------
    def load_manifest(self) -> list[Utterance]:
        """All utterances of the corpus (every split). Corpus subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement load_manifest()")

    def fold_names(self) -> list[str]:
        """Names of the cross-validation folds; empty when the corpus has one official split."""
        return []

    def split_of(self, utt: Utterance) -> str:
        """``train``/``val``/``test`` (or ``""`` to leave it out) for the current fold."""
        return utt.split

    @property
    def fold(self) -> str | None:
        """The current fold's name, or ``None`` for a corpus with one official split.

        Resolved and checked against :meth:`fold_names` on first read: ``None`` becomes the first
        fold; a name that is not a fold raises :class:`ConfigError` naming ``data.fold`` and the
        choices. Assigning a new name (``dm.fold = "pair2"``) checks it again on the next read.
        """
        if not self._fold_checked:
            self._fold = self._check_fold(self._fold)
            self._fold_checked = True
        return self._fold

    @fold.setter
    def fold(self, value: str | None) -> None:
        self._fold = value
        self._fold_checked = False

    # -- facts the model needs (linked into the model by the CLI) --------------------------------
    @property
    def audio_dim(self) -> int:
        """Audio feature size per frame (39 for the paper's MFCC); 0 when audio is off."""
        return self.audio.dim if self.audio else 0

    @property
    def text_dim(self) -> int:
        """Text embedding size (768 BERT-base, 384 MiniLM); 0 when text is off."""
        return self.text.dim if self.text else 0

    @property
    def functionals_dim(self) -> int:
        """Utterance-level features per utterance (``data.functionals``); 0 when off."""
        return self.functionals.dim if self.functionals else 0

    @property
    def num_outputs(self) -> int:
        """Number of model outputs: classes, labels, or 1 for a score."""
        return get_problem(self.task_type, key=f"{type(self).__name__}.task_type").num_outputs(
            len(self.class_names)
        )

    # -- Lightning hooks ------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Extract missing features (Lightning runs this once per node, before ``setup``)."""
        _ = self.fold  # a bad data.fold fails here, before minutes of feature extraction
        self._build()

    def setup(self, stage: str | None = None) -> None:
        """Read the stores and split the usable utterances for the current fold."""
        _ = self.fold  # a bad data.fold fails here, before any feature extraction
        self._build()
        by_split: dict[str, list[SampleRef]] = {s: [] for s in SPLITS}
        for ref in self._refs:
            split = self.split_of(self.utterances[ref.index])
            if split:
                check_split_name(split, self.utterances[ref.index].id, type(self).__name__)
                by_split[split].append(ref)
        self.refs = by_split
        self._fit_training_stats()
        check_ready(self, stage)  # empty splits, batch size: before any training
        if self.speaker_independent:
            self.check_speaker_independence()
        sizes = ", ".join(f"{s} {len(r)}" for s, r in by_split.items())
        log.info("%s%s: %s utterances", type(self).__name__, self._fold_text(), sizes)

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches, length-bucketed unless ``data.bucketing`` is false.

        Bucketed batches use every utterance once per epoch in batches of nearly equal size;
        plain shuffled batches drop the last incomplete one (BatchNorm needs more than one).
        """
        dataset = self._dataset("train")
        trainer = self._trainer_or_none()
        check_batch_memory(  # stop now, naming the clip, rather than be killed mid-epoch
            dataset,
            self.utterances,
            self.batch_size,
            frame_rate=getattr(self.audio, "frame_rate", 20.0),
            device=trainer.strategy.root_device if trainer else "cpu",
        )
        order: dict[str, Any]
        if self.bucketing:
            order = {"batch_sampler": self._bucket_sampler(dataset)}
        else:
            order = {
                "batch_size": self.batch_size,
                # order from (seed, epoch) alone: the same for every data.num_workers
                "sampler": EpochShuffleSampler(dataset, self.seed),
                # the loader's own generator seeds its workers (never the global one)
                "generator": torch.Generator().manual_seed(self.seed),
                "drop_last": len(dataset) > self.batch_size,
            }
        return DataLoader(dataset, collate_fn=collate, num_workers=self.num_workers, **order)

    def _bucket_sampler(self, dataset: FeatureDataset) -> BucketBatchSampler:
        """Length-bucketed batches of ``dataset`` (audio frames; words for text-only runs)."""
        audio = dataset.audio_store is not None
        store = dataset.audio_store if audio else dataset.text_store
        rows = [ref.audio_row if audio else ref.text_row for ref in dataset.refs]
        trainer = self._trainer_or_none()
        world, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        return BucketBatchSampler(
            None,
            self.batch_size,
            lengths=store_lengths(store, rows),
            seed=self.seed,
            num_replicas=world,
            rank=rank,
        )

    def val_dataloader(self) -> DataLoader:
        """Validation batches in manifest order."""
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test batches in manifest order."""
        return self._eval_loader("test")

    def predict_dataloader(self) -> DataLoader:
        """Prediction runs over the test split."""
        return self._eval_loader("test")

    # -- honest evaluation ------------------------------------------------------------------------
    def check_speaker_independence(self) -> None:
        """Raise if a speaker is in two of train/val/test, or a split needed for selection is empty.

        Speaker-independent folds are checked, not assumed (docs/evaluation.md).
        """
        speakers = {
            s: {self.utterances[r.index].speaker for r in refs} for s, refs in self.refs.items()
        }
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = speakers[a] & speakers[b]
            if shared:
                raise MMFAError(
                    f"{type(self).__name__}{self._fold_text()}: speakers "
                    f"{sorted(shared)} are in both {a} and {b}; the folds are not "
                    "speaker-independent. Fix split_of() in the corpus plugin."
                )
        for split in ("train", "val"):
            if not self.refs[split]:
                raise MMFAError(
                    f"{type(self).__name__}{self._fold_text()}: the {split} split is "
                    "empty; model selection needs train and validation data."
                )

    def fold_manifest(self) -> dict[str, list[str]]:
        """The utterance ids of each split of the current fold, sorted."""
        return {
            s: sorted(self.utterances[r.index].id for r in refs) for s, refs in self.refs.items()
        }

    def fold_manifest_hash(self) -> str:
        """SHA-256 of the fold manifest: names exactly the data a reported number used."""
        blob = json.dumps(self.fold_manifest(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    def write_fold_manifest(self, path: str | Path) -> str:
        """Write the fold manifest (ids per split) as JSON and return its hash."""
        digest = self.fold_manifest_hash()
        payload = {
            "datamodule": type(self).__name__,
            "fold": self.fold,
            "sha256": digest,
            "splits": self.fold_manifest(),
        }
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(payload, indent=1))
        return digest

    def label_counts(self, split: str) -> dict[str, int]:
        """Number of utterances per class in a split (multiclass corpora)."""
        counts = Counter(self.utterances[r.index].label for r in self.refs[split])
        return {name: counts.get(i, 0) for i, name in enumerate(self.class_names)}

    # -- machinery ------------------------------------------------------------------------------
    def _build(self) -> None:
        if self._pipeline is not None:
            return
        self.utterances = self.load_manifest()
        if not self.utterances:
            raise MMFAError(
                f"{type(self).__name__}: the manifest is empty (root={self.root}); check data.root"
            )
        check_manifest(
            self.utterances,
            owner=type(self).__name__,
            class_names=self.class_names,
            task_type=self.task_type,
        )
        pipeline = FeaturePipeline(
            self.cache_dir,
            self.audio,
            self.text,
            num_workers=self.extract_workers,
            on_bad_input=self.on_bad_input,
        )
        self._refs, self.feature_report = pipeline.run(self.utterances)
        if self.functionals is not None:
            self._refs = self._add_functionals(self._refs, self.feature_report)
        if self.feature_report.skipped:  # the pipeline logged it at INFO; make skips visible
            log.warning("%s: %s", type(self).__name__, self.feature_report.summary())
        self._pipeline = pipeline

    def _add_functionals(self, refs: list[SampleRef], report: FeatureReport) -> list[SampleRef]:
        """Extract the utterance-level features into a store of their own; join them to ``refs``.

        An utterance they cannot be computed for is skipped like any bad input, and counted.
        """
        side = FeaturePipeline(
            self.cache_dir,
            self.functionals,
            None,
            num_workers=self.extract_workers,
            on_bad_input=self.on_bad_input,
        )
        extra, side_report = side.run(self.utterances)
        report.reused["functionals"] += side_report.reused["audio"]
        report.extracted["functionals"] += side_report.extracted["audio"]
        known = {uid for uid, _, _ in report.skipped}
        report.skipped += [s for s in side_report.skipped if s[0] not in known]
        self._functionals_store = side.audio_store
        rows = {r.index: r.audio_row for r in extra}
        return [replace(r, functionals_row=rows[r.index]) for r in refs if r.index in rows]

    def _dataset(self, split: str) -> FeatureDataset:
        if not self.refs:
            self.setup()
        assert self._pipeline is not None
        return FeatureDataset(
            self.refs[split],
            self.utterances,
            self._pipeline.audio_store,
            self._pipeline.text_store,
            preparation=self.preparation if self.audio is not None else None,
            speaker_stats=self.speaker_statistics(split),
            audio_transform=self.augment if split == "train" else None,
            unknown_speaker_rate=self.speaker_norm_dropout if split == "train" else 0.0,
            functionals_store=self._functionals_store,
            functionals_preparation=self.functionals_preparation,
            functionals_stats=self.functionals_statistics(split),
        )

    def speaker_statistics(self, split: str = "test") -> SpeakerStats:
        """Per-speaker audio mean/std over every usable utterance of the corpus (all splits).

        For preparing ``split``'s utterances: with ``speaker_norm_prior`` only the training
        split keeps each speaker's own statistics (see :mod:`mmfa.datamodules.preparation`).
        Empty when ``speaker_norm`` is off or the run has no audio.
        """
        self._build()
        assert self._pipeline is not None
        return self._statistics(
            self._speaker_stats, self.preparation, self._pipeline.audio_store, "audio_row", split
        )

    def functionals_statistics(self, split: str = "test") -> SpeakerStats:
        """The same for the utterance-level features (``{}`` without them)."""
        self._build()
        return self._statistics(
            self._functionals_stats,
            self.functionals_preparation,
            self._functionals_store,
            "functionals_row",
            split,
        )

    def _statistics(
        self,
        cache: dict[bool, SpeakerStats],
        preparation: AudioPreparation,
        store: Any,
        row: str,
        split: str,
    ) -> SpeakerStats:
        """``preparation``'s statistics over ``store`` (cached in ``cache``) for ``split``."""
        if store is None:  # no such features in this run: nothing to normalise
            return {}
        # Without a prior both kinds are the same: computed once.
        training = split == "train" and preparation.speaker_norm_prior > 0
        if training not in cache:
            cache[training] = preparation.statistics(
                (
                    (self.utterances[r.index].speaker, store.get_row(getattr(r, row)))
                    for r in self._refs
                ),
                training=training,
            )
        return cache[training]

    def functionals_arrays(
        self, split: str, unknown_speakers: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(X (N, functionals_dim), labels (N,))`` of a split, prepared as the model sees them.

        No train-time randomness (``speaker_norm_dropout``): for fitting a classifier on them.
        ``unknown_speakers``: prepare every utterance as if nobody had named its speaker (the
        training statistics), as prediction does for plain files.
        """
        if not self.refs:
            self.setup()
        store = self._functionals_store
        if store is None:
            raise ConfigError("data.functionals is not set: this run has no functionals")
        stats = self.functionals_statistics(split)
        refs = self.refs[split]
        x = [
            self.functionals_preparation(
                store.get_row(r.functionals_row),
                UNKNOWN_SPEAKER if unknown_speakers else self.utterances[r.index].speaker,
                stats,
            ).reshape(-1)
            for r in refs
        ]
        labels = [self.utterances[r.index].label for r in refs]
        return np.asarray(x, dtype=np.float32), np.asarray(labels)

    def _fit_training_stats(self) -> None:
        """The training split's pooled statistics: what prediction uses for unknown speakers."""
        assert self._pipeline is not None
        if self._functionals_store is not None:
            self.functionals_preparation.fit_training_stats(
                self._functionals_store.get_row(r.functionals_row) for r in self.refs["train"]
            )
            self._functionals_stats = {}
        store = self._pipeline.audio_store
        if not self.preparation.speaker_norm or store is None:
            return
        self.preparation.fit_training_stats(store.get_row(r.audio_row) for r in self.refs["train"])
        self._speaker_stats = {}  # statistics() now carries them too

    def _eval_loader(self, split: str) -> DataLoader:
        return eval_loader(
            self._dataset(split), self.batch_size, self.num_workers, self._trainer_or_none()
        )

    def _trainer_or_none(self) -> Any:
        try:
            return self.trainer
        except RuntimeError:
            return None

    def _check_fold(self, fold: str | None) -> str | None:
        names = self.fold_names()
        if not names:
            if fold is not None:
                raise ConfigError(
                    f"data.fold={fold!r}: {type(self).__name__} has an official "
                    "split and no folds; remove data.fold"
                )
            return None
        if fold is None:
            return names[0]
        if fold not in names:
            raise ConfigError(
                f"data.fold={fold!r} is not a fold of {type(self).__name__}; choose one of {names}"
            )
        return fold

    def _fold_text(self) -> str:
        return f" (fold {self.fold})" if self.fold else ""
