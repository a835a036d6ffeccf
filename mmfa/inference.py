"""Use a trained model from Python: :class:`EmotionRecognizer`, from a checkpoint alone.

    from mmfa import EmotionRecognizer
    r = EmotionRecognizer.from_checkpoint("runs/demo/version_0/checkpoints/best.ckpt")
    r.predict("clip.wav", text="I can't believe it")      # Prediction(prediction=..., scores=...)
    r.predict(samples, sample_rate=44100, speaker="ann")  # numpy or torch, mono or stereo
    r.predict_many(["a.wav", "b.wav"], texts=["...", "..."], speakers=["ann", "bob"])

Inputs take the one prediction path (:class:`~mmfa.datamodules.utterances.UtteranceDataModule`
-> ``Trainer.predict`` -> :class:`~mmfa.callbacks.predictions.PredictionWriter`), with the
front-ends and audio preparation the checkpoint names, so a file gives exactly the
probabilities the test of the same checkpoint gave it, and ``mmfa predict`` gives the same rows.
Features of files are cached (``cache_dir``, default the mmfa cache); arrays are computed in
memory and never stored.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.datamodules.preparation import AudioPreparation
from mmfa.datamodules.utterances import FEW_UTTERANCES, UtteranceDataModule
from mmfa.errors import BadInputError, ConfigError
from mmfa.manifest import Utterance

log = logging.getLogger(__name__)

#: A file path, an array (with ``sample_rate=``), ``(samples, sample_rate)``, or None (text only).
AudioInput = Any


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
    #: Seconds into the recording, for windows of a long one (:meth:`predict_windows`).
    start: float | None = None
    end: float | None = None


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
    #: Input position of each prediction (parallel to ``predictions``).
    index: list[int] = field(default_factory=list)
    #: The rows as ``mmfa predict`` writes them (parallel to ``predictions``).
    rows: list[dict[str, Any]] = field(default_factory=list)


class Recognizer:
    """What every recogniser offers on top of its :meth:`predict_utterances`.

    :class:`EmotionRecognizer` (one trained model) and :class:`~mmfa.ensemble.EnsembleRecognizer`
    (several, averaged) share these calls, so a file, an array or a long recording takes the same
    route whatever predicts it.
    """

    problem: Any
    class_names: list[str]
    #: The modalities the model uses: ``("audio", "text")``, ``("audio",)`` or ``("text",)``.
    modalities: tuple[str, ...]
    #: A model trained with modality dropout can do without one of its modalities.
    tolerates_missing: bool

    @property
    def needs_text(self) -> bool:
        """Whether every input must have a transcript (so audio cannot be cut into windows)."""
        return "text" in self.modalities and not self.tolerates_missing

    # -- the public calls ------------------------------------------------------------------------
    def predict(
        self,
        audio: AudioInput = None,
        text: str | None = None,
        *,
        sample_rate: int | None = None,
        speaker: str | None = None,
    ) -> Prediction:
        """Predict one utterance from a file or an array and/or a transcript.

        Args:
            audio: a file path, an array of samples (numpy or torch; give ``sample_rate``), or
                ``(samples, sample_rate)``; None for text only.
            text: the transcript.
            sample_rate: the array's rate in Hz.
            speaker: who speaks, for models trained with per-speaker normalisation (None: the
                model's training statistics are used).

        Raises:
            BadInputError: the input cannot be used (the reason says why).
            ConfigError: a modality the model needs is missing, or the array is not audio.
        """
        run = self.predict_many(
            [audio], texts=[text], speakers=[speaker], sample_rate=sample_rate, progress=False
        )
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
        speakers: Sequence[str | None] | str | None = None,
        sample_rate: int | None = None,
        progress: bool = True,
    ) -> PredictionRun:
        """Predict many utterances: files, arrays or ``(samples, sample_rate)`` pairs.

        Args:
            audio: one entry per utterance (None: text only).
            texts: transcripts, parallel to ``audio``.
            ids: output ids (default: the file path, or ``input_00003`` for arrays).
            speakers: who speaks, per input or one name for all (None: unknown).
            sample_rate: the rate of arrays given without one.
            progress: show extraction progress bars.

        Unusable inputs are listed in ``skipped``; predictions keep the input order.
        """
        if isinstance(audio, str | Path | np.ndarray) or _is_tensor(audio):
            raise ConfigError(
                "predict_many takes a list of inputs; for one recording use predict(...)"
            )
        audio = list(audio)
        texts = list(texts) if texts is not None else [None] * len(audio)
        if isinstance(speakers, str) or speakers is None:
            speakers = [speakers] * len(audio)
        for name, values in (("transcripts", texts), ("speakers", speakers), ("ids", ids)):
            if values is not None and len(values) != len(audio):
                raise ConfigError(f"{len(audio)} audio inputs but {len(values)} {name}")
        utterances: list[Utterance] = []
        signals: dict[int, np.ndarray] = {}
        early: dict[int, Skipped] = {}
        for i, (item, transcript, who) in enumerate(zip(audio, texts, speakers, strict=True)):
            uid = str(ids[i]) if ids is not None else _default_id(item, i)
            path = None
            if isinstance(item, str | Path):
                path = Path(item)
            elif item is not None:
                samples, rate = item if isinstance(item, tuple) else (item, sample_rate)
                if rate is None:
                    raise ConfigError(f"{uid}: an array needs its sample rate: sample_rate=...")
                from mmfa.features.audio_io import signal_from_array

                try:
                    signals[i] = signal_from_array(samples, rate, utterance_id=uid)
                except BadInputError as err:
                    early[i] = Skipped(uid, err.reason, err.detail)
            utterances.append(
                Utterance(
                    id=uid, audio_path=path, text=transcript or "", label=0, speaker=who or ""
                )
            )
        keep = [i for i in range(len(utterances)) if i not in early]
        run = self.predict_utterances(
            [utterances[i] for i in keep],
            signals={k: signals[i] for k, i in enumerate(keep) if i in signals},
            progress=progress,
        )
        run.index = [keep[k] for k in run.index]
        order = {u.id: i for i, u in enumerate(utterances)}
        run.skipped = sorted([*early.values(), *run.skipped], key=lambda s: order[s.id])
        return run

    def predict_windows(
        self,
        path: str | Path,
        *,
        window: float,
        hop: float | None = None,
        speaker: str | None = None,
        progress: bool = False,
    ) -> tuple[list[Prediction], Prediction]:
        """Predict a long recording in windows, and the whole recording from them.

        Args:
            path: the recording (wav, flac, ogg are read window by window: memory stays bounded).
            window: window length in seconds.
            hop: seconds between window starts (default: ``window``).
            speaker: who speaks (None: unknown, see :meth:`predict`).
            progress: show progress bars.

        Returns:
            The windows' predictions (with ``start``/``end``) and the recording's: scores
            averaged over the windows, weighted by their length.

        Raises:
            BadInputError: the recording cannot be read.
            ConfigError: the model needs transcripts (they cannot be cut into windows).
        """
        from mmfa.datamodules.inputs import Inputs, segments, summarise

        if self.needs_text:
            raise ConfigError(
                "predict_windows cuts the audio, and transcripts cannot be cut with it; this "
                "model needs text: use an audio-only model or one trained with modality dropout"
            )
        utt = Utterance(
            id=str(path), audio_path=Path(path), text="", label=0, speaker=speaker or ""
        )
        parts = segments(Inputs([utt], [None]), window, hop or window)
        run = self.predict_utterances(parts.utterances, progress=progress)
        if not run.predictions:
            s = run.skipped[0]
            raise BadInputError(s.id, s.reason, s.detail)
        columns = self.problem.score_columns(self.class_names)

        def predicted(scores: list[float]) -> str:
            return self.problem.predicted(np.asarray([scores]), self.class_names)[0]

        whole = summarise(run.rows, columns, predicted)[0]
        summary = Prediction(
            id=str(path),
            prediction=str(whole["prediction"]),
            scores={c.removeprefix("score_"): float(whole[c]) for c in columns},
            modalities=run.predictions[0].modalities,
            start=0.0,
            end=float(whole["seconds"]),
        )
        return run.predictions, summary

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
        """Predict manifest rows, in their order (:meth:`EmotionRecognizer.predict_utterances`)."""
        raise NotImplementedError

    # -- machinery -------------------------------------------------------------------------------
    def _prediction(self, row: dict[str, Any]) -> Prediction:
        columns = self.problem.score_columns(self.class_names)
        return Prediction(
            id=row["id"],
            prediction=row["prediction"],
            scores={c.removeprefix("score_"): float(row[c]) for c in columns},
            modalities=tuple(row["modalities"].split("+")) if row["modalities"] else (),
            start=row.get("start"),
            end=row.get("end"),
        )


class EmotionRecognizer(Recognizer):
    """A trained MMFA-RNN with its front-ends, ready to predict on new recordings.

    Args:
        task: the trained :class:`~mmfa.models.task.EmotionTask` (see :meth:`from_checkpoint`).
        audio: the audio front-end it was trained with (None: audio was off).
        text: the text front-end it was trained with (None: text was off).
        preparation: the audio preparation it was trained with (None: none).
        functionals: the utterance-level audio front-end it was trained with
            (``data.functionals``; None: none).
        functionals_preparation: their standardisation as in training.
        device: ``"cpu"`` (default), ``"cuda"`` or ``"cuda:N"``.
        cache_dir: feature cache for files (default: the mmfa cache, ``$MMFA_CACHE_DIR``).
        batch_size: utterances per batch.
    """

    def __init__(
        self,
        task: Any,
        audio: Any,
        text: Any,
        preparation: AudioPreparation | None = None,
        *,
        functionals: Any = None,
        functionals_preparation: AudioPreparation | None = None,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
    ) -> None:
        self.task = task.eval()
        self.audio, self.text = audio, text
        self.preparation = preparation or AudioPreparation()
        self.functionals = functionals
        self.functionals_preparation = functionals_preparation
        self.accelerator, self.devices = parse_device(device)
        self.device = device
        self.cache_dir = cache_dir
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(f"batch_size={batch_size!r}: give a whole number of 1 or more")
        self.batch_size = batch_size
        self.problem = task.problem
        self.class_names = list(task.class_names)
        self.modalities = tuple(task.fusion.modalities)
        #: A model trained with modality dropout can do without one of its modalities.
        self.tolerates_missing = float(task.network.modality_dropout) > 0
        self._told_unnamed = False
        self._told_thinly_named = False

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        allow_remote: bool = False,
        batch_size: int = 32,
    ) -> EmotionRecognizer:
        """Load a checkpoint written by ``mmfa fit`` or ``mmfa cv`` (no config needed).

        Loaded with ``weights_only=True``; a URL is refused unless ``allow_remote=True``; every
        class it names must be registered (docs/security.md).

        Raises:
            ConfigError: a URL, a missing or foreign file, an unregistered class, or front-ends
                that compute other features here than in training.
        """
        from mmfa import checkpoints

        checkpoint = checkpoints.load(path, allow_remote=allow_remote)
        return cls._from_loaded(
            checkpoint, device=device, cache_dir=cache_dir, batch_size=batch_size
        )

    @classmethod
    def from_pretrained(
        cls,
        name: str | Path,
        *,
        device: str = "cpu",
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
    ) -> EmotionRecognizer:
        """Load a folder written by ``mmfa export``, or a Hugging Face Hub repo holding one.

        No pickle is read: weights come from safetensors, the rest from JSON. A repo id goes
        through ``huggingface_hub`` (offline: from its local cache).

        Raises:
            ConfigError: not an export folder nor a repo that can be had here, or a class the
                model names that is not registered.
        """
        from mmfa.export import load_exported, resolve_pretrained

        checkpoint = load_exported(resolve_pretrained(name))
        return cls._from_loaded(
            checkpoint, device=device, cache_dir=cache_dir, batch_size=batch_size
        )

    @classmethod
    def _from_loaded(
        cls, checkpoint: dict[str, Any], frontends: dict[str, Any] | None = None, **kwargs: Any
    ) -> EmotionRecognizer:
        """A recogniser from a loaded checkpoint record.

        Args:
            checkpoint: the record (:func:`mmfa.checkpoints.load` or an export folder's).
            frontends: front-ends built so far, by their record: models of an ensemble that
                were trained with the same front-end share one (a speech model is large).
            **kwargs: the recogniser's options (``device``, ``cache_dir``, ``batch_size``).
        """
        from mmfa import checkpoints
        from mmfa.models.task import EmotionTask

        task = EmotionTask.from_checkpoint(checkpoint)
        spec = task.inference_spec or {}
        built = frontends if frontends is not None else {}

        def frontend(role: str, group: str) -> Any:
            key = json.dumps([group, spec.get(role)], sort_keys=True, default=str)
            if key not in built:
                built[key] = checkpoints.build_frontend(spec.get(role), group, role=role)
                if hasattr(built[key], "device"):
                    # The training machine's device (e.g. cuda) is not this one's: an encoder
                    # front-end runs where the recogniser was asked to run.
                    built[key].device = kwargs.get("device", "cpu")
            return built[key]

        audio = frontend("audio", "mmfa.frontends")
        text = frontend("text", "mmfa.text")
        return cls(
            task,
            audio,
            text,
            preparation_of(spec),
            functionals=frontend("functionals", "mmfa.frontends"),
            functionals_preparation=AudioPreparation.from_record(
                spec.get("functionals_preparation")
            ),
            **kwargs,
        )

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
        """Predict manifest rows (``audio_path`` and/or ``text``, ``speaker``), in their order.

        Args:
            utterances: the inputs.
            labels: gold class names, written beside the predictions.
            signals: position -> 16 kHz mono samples for inputs given as arrays.
            out: also write the rows here (``.csv`` or ``.jsonl``).
            skipped_out: also list the skipped inputs here (CSV).
            progress: show progress bars.

        Utterances lacking a modality the model needs stop the run with a ConfigError naming
        them, unless the model was trained with modality dropout (then it predicts from what
        there is, and says so in ``modalities``). Unreadable inputs are listed in ``skipped``.
        """
        from mmfa.callbacks.predictions import PredictionWriter
        from mmfa.callbacks.skipped import SkippedWriter, write_skipped

        datamodule = UtteranceDataModule(
            utterances,
            audio=self.audio,
            text=self.text,
            preparation=self.preparation,
            functionals=self.functionals,
            functionals_preparation=self.functionals_preparation,
            modalities=self.modalities,
            tolerates_missing=self.tolerates_missing,
            labels=labels,
            signals=signals,
            cache_dir=self.cache_dir,
            batch_size=self.batch_size,
            progress=progress,
        )
        datamodule.setup("predict")
        report = datamodule.feature_report
        if datamodule.unnamed_speakers and not self._told_unnamed:
            self._told_unnamed = True  # once per recogniser: a loop of predict() calls stays quiet
            log.warning(
                "%d input(s) have no speaker: this model normalises audio per speaker, so they "
                "are standardised with its training set's statistics (on RAVDESS 8-12 UA "
                "points below naming the speakers). Name speakers when you know them: speaker= / "
                "speakers= in Python; --speaker, --speaker_from_folder or a manifest 'speaker' "
                "column on the command line",
                datamodule.unnamed_speakers,
            )
        if datamodule.thinly_named and not self._told_thinly_named:
            self._told_thinly_named = True  # once per recogniser, as above
            few = sorted(datamodule.thinly_named.items(), key=lambda item: (item[1], item[0]))
            listed = ", ".join(f"{name}: {n}" for name, n in few[:5])
            log.warning(
                "%d speaker(s) are named on fewer than %d inputs (%s): this model normalises "
                "audio per speaker with statistics from those inputs alone, which on RAVDESS "
                "predicted worse than naming no speaker. Give more recordings per speaker, leave "
                "these speakers unnamed, or use a model trained with data.speaker_norm_prior",
                len(few),
                FEW_UTTERANCES,
                listed + (", ..." if len(few) > 5 else ""),
            )
        writer = PredictionWriter(predict_file=str(out) if out is not None else "")
        callbacks: list[Any] = [writer]
        if skipped_out is not None:
            path = Path(skipped_out)
            callbacks.append(SkippedWriter(dirpath=str(path.parent), filename=path.name))
        if datamodule.datasets:
            with warnings.catch_warnings():
                # Lightning 2.6's batch pytree code warns about torch's own API on every call.
                warnings.filterwarnings("ignore", message=r".*treespec.*")
                self._trainer(callbacks, progress).predict(
                    self.task, datamodule=datamodule, return_predictions=False
                )
        elif skipped_out is not None and report is not None:  # nothing to predict: still list
            write_skipped(Path(skipped_out), [(u, "", r, d) for u, r, d in report.skipped])
        skipped = [Skipped(*s) for s in (report.skipped if report else [])]
        positions = {u.id: i for i, u in enumerate(datamodule.utterances)}
        predictions = [self._prediction(row) for row in writer.rows]
        return PredictionRun(
            predictions=predictions,
            skipped=skipped,
            index=[positions[p.id] for p in predictions],
            rows=writer.rows,
        )

    # -- machinery -------------------------------------------------------------------------------
    def _trainer(self, callbacks: list[Any], progress: bool) -> Any:
        import lightning as L

        # Lightning announces its devices on every Trainer; prediction is not training.
        quiet = logging.getLogger("lightning.pytorch.utilities.rank_zero")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            return L.Trainer(
                accelerator=self.accelerator,
                devices=self.devices,
                logger=False,
                enable_checkpointing=False,
                enable_model_summary=False,
                enable_progress_bar=progress,
                callbacks=callbacks,
            )
        finally:
            quiet.setLevel(level)


def preparation_of(spec: dict[str, Any]) -> AudioPreparation:
    """The audio preparation a checkpoint's record names (older records: two plain keys)."""
    if spec.get("audio_preparation") is not None:
        return AudioPreparation.from_record(spec["audio_preparation"])
    return AudioPreparation.from_record(
        {"trim_silence": spec.get("trim_silence"), "speaker_norm": spec.get("speaker_norm")}
    )


def parse_device(device: str) -> tuple[str, Any]:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps`` as Lightning's (accelerator, devices).

    Raises:
        ConfigError: another value, or a GPU this machine does not have.
    """
    name, _, number = str(device).partition(":")
    if name == "cpu" and not number:
        return "cpu", 1
    if name in ("cuda", "gpu") and (not number or number.isdigit()):
        import torch

        index = int(number or 0)
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise ConfigError(
                f"device={device!r}: no such CUDA device here "
                f"({torch.cuda.device_count()} visible); use device='cpu'"
            )
        return "gpu", [index]
    if name == "mps" and not number:
        return "mps", 1
    raise ConfigError(f"device={device!r}: use 'cpu', 'cuda', 'cuda:N' or 'mps'")


def _is_tensor(value: object) -> bool:
    return type(value).__module__.startswith("torch")


def _default_id(item: AudioInput, i: int) -> str:
    if isinstance(item, str | Path):
        return str(item)
    return f"input_{i:05d}"
