"""Use a trained model: :class:`EmotionRecognizer`, from a checkpoint alone.

    from mmfa import EmotionRecognizer
    r = EmotionRecognizer.from_checkpoint("runs/demo/version_0/checkpoints/best.ckpt")
    r.predict("clip.wav", text="I can't believe it")      # {"prediction": ..., "scores": {...}}
    r.predict_many(["a.wav", "b.wav"], texts=["...", "..."])

Inputs go through the same path as training (manifest -> feature store -> padded batches), with
the front-ends the checkpoint names, so a file gives exactly the probabilities the test of the
same checkpoint gave it. Features are cached (``cache_dir``, default the mmfa cache): predicting
the same files again only reads them. Arrays are written to a temporary WAV first.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.errors import BadInputError, ConfigError
from mmfa.manifest import Utterance

log = logging.getLogger(__name__)

AudioInput = str | Path | tuple[np.ndarray, int] | None


@dataclass
class Prediction:
    """One utterance's prediction.

    Attributes:
        id: the utterance id.
        prediction: the predicted class (multiclass), labels joined by ``+`` (multilabel) or the
            value (regression).
        scores: class (label) -> probability, or ``{"score": value}`` for regression.
        modalities: what the model used: ``("audio", "text")``, ``("audio",)`` or ``("text",)``.
    """

    id: str
    prediction: str
    scores: dict[str, float]
    modalities: tuple[str, ...]


@dataclass
class Skipped:
    """An input that could not be used, and why (never silently dropped)."""

    id: str
    reason: str
    detail: str


@dataclass
class PredictionRun:
    """What :meth:`EmotionRecognizer.predict_utterances` returns."""

    predictions: list[Prediction] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    #: Manifest position of each prediction (parallel to ``predictions``).
    index: list[int] = field(default_factory=list)


class EmotionRecognizer:
    """A trained MMFA-RNN with its front-ends, ready to predict on new recordings.

    Args:
        task: the trained task (see :meth:`from_checkpoint`).
        audio: the audio front-end it was trained with (None: audio was off).
        text: the text front-end it was trained with (None: text was off).
        device: ``"cpu"`` (default) or ``"cuda"``.
        cache_dir: feature cache (default: the mmfa cache, ``$MMFA_CACHE_DIR``).
    """

    def __init__(
        self,
        task: Any,
        audio: Any,
        text: Any,
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
    ) -> None:
        from mmfa.datamodules.base import default_cache_dir

        self.task = task.to(device).eval()
        self.audio, self.text = audio, text
        self.device = device
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.problem = task.problem
        self.class_names = list(task.class_names)
        self.modalities = tuple(task.fusion.modalities)
        #: A model trained with modality dropout can do without one of its modalities.
        self.tolerates_missing = float(task.network.modality_dropout) > 0
        #: Audio preparation the model was trained with (from the checkpoint): per-speaker
        #: standardisation, with statistics over the inputs of each speaker given here, and
        #: silence trimming (threshold; None: off).
        self.speaker_norm = False
        self.trim_silence: float | None = None

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        allow_remote: bool = False,
    ) -> EmotionRecognizer:
        """Load a checkpoint written by ``mmfa fit`` or ``mmfa cv`` (no config needed).

        Loaded with ``weights_only=True``; a URL is refused unless ``allow_remote=True``.

        Raises:
            ConfigError: a URL, a missing or foreign file, or front-ends that compute other
                features here than in training.
        """
        from mmfa import checkpoints

        checkpoint = checkpoints.load(path, allow_remote=allow_remote)
        task = checkpoints.build_task(checkpoint)
        spec = checkpoint[checkpoints.SPEC_KEY]
        audio = checkpoints.build_frontend(spec.get("audio"), "mmfa.frontends")
        text = checkpoints.build_frontend(spec.get("text"), "mmfa.text")
        recognizer = cls(task, audio, text, device=device, cache_dir=cache_dir)
        recognizer.speaker_norm = bool(spec.get("speaker_norm"))
        recognizer.trim_silence = spec.get("trim_silence")
        return recognizer

    # -- the public calls ------------------------------------------------------------------------
    def predict(
        self, audio: AudioInput = None, text: str | None = None, *, sample_rate: int | None = None
    ) -> Prediction:
        """Predict one utterance from a file (or ``(samples, sample_rate)``) and/or a transcript.

        Raises:
            BadInputError: the input cannot be used (the reason says why).
            ConfigError: a modality the model needs is missing.
        """
        if isinstance(audio, np.ndarray):
            if sample_rate is None:
                raise ConfigError("predict(array): give sample_rate=")
            audio = (audio, sample_rate)
        run = self.predict_many([audio], texts=[text], progress=False)
        if run.skipped:
            s = run.skipped[0]
            raise BadInputError(s.id, s.reason, s.detail)
        return run.predictions[0]

    def predict_many(
        self,
        audio: Sequence[AudioInput],
        texts: Sequence[str | None] | None = None,
        *,
        ids: Sequence[str] | None = None,
        progress: bool = True,
    ) -> PredictionRun:
        """Predict many utterances: files or ``(samples, sample_rate)`` pairs, with transcripts."""
        texts = list(texts) if texts is not None else [None] * len(audio)
        if len(texts) != len(audio):
            raise ConfigError(f"{len(audio)} audio inputs but {len(texts)} transcripts")
        with tempfile.TemporaryDirectory(prefix="mmfa-predict-") as tmp:
            utterances = []
            for i, (item, transcript) in enumerate(zip(audio, texts, strict=True)):
                uid = ids[i] if ids is not None else _default_id(item, i)
                utterances.append(_utterance(uid, _as_path(item, Path(tmp), i), transcript))
            return self.predict_utterances(utterances, progress=progress)

    def predict_utterances(
        self, utterances: Sequence[Utterance], *, batch_size: int = 32, progress: bool = True
    ) -> PredictionRun:
        """Predict manifest rows (``audio_path`` and/or ``text``), in their order.

        Utterances lacking a modality the model needs stop the run with a ConfigError naming
        them, unless the model was trained with modality dropout (then it predicts from what
        there is, and says so in ``modalities``). Unreadable inputs are listed in ``skipped``.
        """
        utterances = list(utterances)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, utt in enumerate(utterances):
            has = tuple(m for m in self.modalities if _has(utt, m))
            groups.setdefault(has, []).append(i)
        self._check_modalities(utterances, groups)
        run = PredictionRun()
        found: dict[int, Prediction] = {}
        for has, positions in groups.items():
            if not has:
                for i in positions:
                    run.skipped.append(Skipped(utterances[i].id, "no_input", "no audio, no text"))
                continue
            self._predict_group(utterances, positions, has, batch_size, progress, found, run)
        order = sorted(found)
        run.predictions = [found[i] for i in order]
        run.index = order
        return run

    # -- machinery -------------------------------------------------------------------------------
    def _check_modalities(
        self, utterances: list[Utterance], groups: dict[tuple[str, ...], list[int]]
    ) -> None:
        if self.tolerates_missing:
            return
        partial = [i for has, pos in groups.items() if has and has != self.modalities for i in pos]
        if partial:
            missing = sorted(
                {m for i in partial for m in self.modalities if not _has(utterances[i], m)}
            )
            names = ", ".join(utterances[i].id for i in partial[:5])
            raise ConfigError(
                f"{type(self.task.fusion).__name__} needs {' and '.join(self.modalities)} for "
                f"every input, but {len(partial)} input(s) lack {' / '.join(missing)} "
                f"(e.g. {names}). "
                "Give a transcript for each file (a manifest with a 'text' column, or a .txt "
                "beside each audio file), or use a model trained with AudioOnly/TextOnly or with "
                "modality dropout (model.modality_dropout > 0), which can predict without it."
            )

    def _predict_group(
        self,
        utterances: list[Utterance],
        positions: list[int],
        has: tuple[str, ...],
        batch_size: int,
        progress: bool,
        found: dict[int, Prediction],
        run: PredictionRun,
    ) -> None:
        import torch
        from torch.utils.data import DataLoader

        from mmfa.datamodules.collate import FeatureDataset, collate
        from mmfa.features.pipeline import FeaturePipeline

        group = [utterances[i] for i in positions]
        pipeline = FeaturePipeline(
            self.cache_dir,
            self.audio if "audio" in has else None,
            self.text if "text" in has else None,
            on_bad_input="skip",
            progress=progress,
        )
        refs, report = pipeline.run(group)
        run.skipped += [Skipped(uid, reason, detail) for uid, reason, detail in report.skipped]
        dataset = FeatureDataset(
            refs,
            group,
            pipeline.audio_store,
            pipeline.text_store,
            speaker_stats=self._speaker_stats(refs, group, pipeline.audio_store),
            trim=self.trim_silence if "audio" in has else None,
        )
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate)
        with torch.inference_mode():
            for batch in loader:
                moved = {
                    k: (v.to(self.device) if isinstance(v, torch.Tensor) else v)
                    for k, v in batch.items()
                }
                scores = self.problem.scores(self.task(moved)).cpu().numpy()
                predicted = self.problem.predicted(scores, self.class_names)
                for row, pos in enumerate(batch["index"].tolist()):
                    found[positions[pos]] = Prediction(
                        group[pos].id,
                        predicted[row],
                        self._score_dict(scores[row]),
                        has,
                    )

    def _speaker_stats(self, refs: Any, group: list[Utterance], store: Any) -> Any:
        """Per-speaker statistics over these inputs' audio, as in training (None: off)."""
        if not self.speaker_norm or store is None:
            return None
        from mmfa.datamodules.transforms import speaker_statistics, trim_silence

        trim = self.trim_silence
        rows = [
            (group[r.index].speaker, trim_silence(x, trim) if trim is not None else x)
            for r in refs
            for x in (store.get_row(r.audio_row),)
        ]
        stats = speaker_statistics(rows)
        if len(stats) == len(rows) > 1:
            log.warning(
                "the model was trained with per-speaker feature normalisation, and every input "
                "here is its own speaker: statistics come from one utterance each. Give a "
                "'speaker' column (manifest) so each speaker's utterances are normalised together."
            )
        return stats

    def _score_dict(self, scores: np.ndarray) -> dict[str, float]:
        columns = self.problem.score_columns(self.class_names)
        values = np.asarray(scores, dtype=float).reshape(-1)
        return {c.removeprefix("score_"): float(v) for c, v in zip(columns, values, strict=True)}


def _has(utt: Utterance, modality: str) -> bool:
    if modality == "audio":
        return utt.audio_path is not None
    return bool(utt.text and utt.text.strip())


def _default_id(item: AudioInput, i: int) -> str:
    if isinstance(item, str | Path):
        return str(item)
    return f"input_{i:05d}"


def _as_path(item: AudioInput, tmp: Path, i: int) -> Path | None:
    """A file for the feature pipeline: the path itself, or a temporary WAV of an array."""
    if item is None:
        return None
    if isinstance(item, str | Path):
        return Path(item)
    import soundfile

    samples, rate = item
    path = tmp / f"input_{i:05d}.wav"
    soundfile.write(path, np.asarray(samples, dtype=np.float32), int(rate), subtype="FLOAT")
    return path


def _utterance(uid: str, path: Path | None, text: str | None, label: Any = 0) -> Utterance:
    return Utterance(id=uid, audio_path=path, text=text or "", label=label, speaker=uid)
