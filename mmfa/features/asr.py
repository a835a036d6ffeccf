"""Automatic transcripts, for inputs that come without one (``mmfa predict --transcribe MODEL``).

Off by default: the paper's model reads human transcripts, and ASR errors change what the text
branch sees. When a user has no transcripts, a ``transformers`` speech-recognition model from the
local cache (e.g. a Whisper or wav2vec 2.0 CTC checkpoint downloaded beforehand, or a local
folder) fills them in, and the output says which transcripts were made so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmfa.errors import BadInputError, ModelUnavailableError
from mmfa.features.audio_io import TARGET_SAMPLE_RATE, read_audio

log = logging.getLogger(__name__)


class Transcriber:
    """A ``transformers`` ASR pipeline loaded offline, 16 kHz audio in, text out.

    Args:
        model: a local model folder, or a hub name already in the local Hugging Face cache.
        device: ``"cpu"`` or ``"cuda"``.
        batch_size: clips per forward pass.
    """

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 8) -> None:
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self._pipe: Any = None

    def _load(self) -> Any:
        if self._pipe is None:
            from transformers import pipeline

            try:
                if not Path(self.model).expanduser().is_dir() and not _in_local_cache(self.model):
                    # mmfa never downloads: fail now instead of after the hub's retries.
                    raise OSError("neither a local folder nor in the local Hugging Face cache")
                self._pipe = pipeline(
                    "automatic-speech-recognition",
                    model=str(Path(self.model).expanduser())
                    if Path(self.model).expanduser().is_dir()
                    else self.model,
                    device=self.device,
                )
            except (OSError, ValueError) as err:
                raise ModelUnavailableError(
                    f"ASR model {self.model!r} cannot be loaded offline ({type(err).__name__}: "
                    f"{err}). Download it on a machine with network (`hf download "
                    f"{self.model}`) and copy the Hugging Face cache here, or give a local "
                    "folder; or give transcripts yourself (a manifest 'text' column, or a .txt "
                    "beside each audio file)."
                ) from err
            log.info("transcribing with %s (%s)", self.model, type(self._pipe.model).__name__)
        return self._pipe

    def transcribe(self, paths: Sequence[Path], ids: Sequence[str]) -> list[str | BadInputError]:
        """Transcripts of audio files, in order; an unreadable file gives its BadInputError."""
        pipe = self._load()
        out: list[str | BadInputError] = []
        for start in range(0, len(paths), self.batch_size):
            chunk = list(
                zip(
                    paths[start : start + self.batch_size],
                    ids[start : start + self.batch_size],
                    strict=True,
                )
            )
            signals, where = [], []
            for path, uid in chunk:
                try:
                    signals.append(read_audio(path, utterance_id=uid))
                    where.append(len(out))
                    out.append("")
                except BadInputError as err:
                    out.append(err)
            if signals:
                inputs = [{"raw": s, "sampling_rate": TARGET_SAMPLE_RATE} for s in signals]
                for pos, result in zip(
                    where, pipe(inputs, batch_size=self.batch_size), strict=True
                ):
                    out[pos] = str(result["text"]).strip()
        return out


def _in_local_cache(name: str) -> bool:
    """Whether a hub model's config is in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(name, "config.json"), str)
