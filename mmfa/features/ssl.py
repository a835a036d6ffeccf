"""Self-supervised speech features: hidden states of a frozen wav2vec 2.0 / HuBERT / WavLM encoder.

:class:`SSLFrontEnd` loads any ``transformers.AutoModel`` speech encoder from a local folder or
the local Hugging Face cache (never the network: a model that is not on disk fails at once with
:class:`~mmfa.errors.ModelUnavailableError`), runs it frozen, and keeps one hidden layer, or the
mean of all layers, per frame (about 50 frames per second, 768 values for base models).

Why no learned weighted sum of layers: learning the weights needs every layer's hidden states
at training time, i.e. a store 13 times larger (base model: about 2 MB per second of audio,
roughly 90 GB for IEMOCAP's 12 hours) or the encoder running inside every training step. mmfa
stores one representation; ``layer="mean"`` (equal weights) is the stored stand-in, and a chosen
middle layer is usually as good for emotion (docs ``audio_frontends.md``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmfa.errors import BadInputError, ConfigError, ModelUnavailableError
from mmfa.features.frontend import AudioFrontEnd

__all__ = ["SSLFrontEnd"]

log = logging.getLogger(__name__)

Layer = int | Literal["mean"]


def _unavailable(name: str, cause: BaseException) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"speech model {name!r} cannot be loaded offline ({type(cause).__name__}: {cause}). "
        f"Get it with `hf download {name}` on a machine with network (then copy the "
        "cache, ~/.cache/huggingface/hub, here), or set data.audio.init_args.model to a local "
        "folder holding config.json and the weights (e.g. facebook/wav2vec2-base, "
        "microsoft/wavlm-base-plus, facebook/hubert-base-ls960). The paper's features need no "
        "download: data.audio mmfa.features.audio.MFCCExtractor (the default)."
    )


class SSLFrontEnd(AudioFrontEnd):
    """Frozen self-supervised speech encoder; one hidden layer (or the layer mean) per frame.

    Construction is cheap; the model loads on first use. Pickles without the loaded model.

    Args:
        model: A local model folder, or a hub name already in the local Hugging Face cache
            (e.g. ``"facebook/wav2vec2-base"``, ``"microsoft/wavlm-base-plus"``).
        layer: Which hidden state: ``0`` is the CNN feature projection, ``1..L`` the
            transformer layers, negative counts from the end (``-1``: last); ``"mean"``: the
            average of all ``L + 1``.
        normalize_input: Zero-mean unit-variance each waveform first (what wav2vec 2.0 large /
            WavLM checkpoints expect). ``None``: as the folder's ``preprocessor_config.json``
            says (``do_normalize``), else ``True``.
        max_seconds: Use at most this many seconds of each utterance; ``None``: no cap.
        device: Torch device of the encoder.
    """

    batched = False  # on a device, but one utterance per forward pass (see from_signal)

    def __init__(
        self,
        model: str = "facebook/wav2vec2-base",
        layer: Layer = -1,
        normalize_input: bool | None = None,
        max_seconds: float | None = None,
        device: str = "cpu",
    ) -> None:
        if not (layer == "mean" or isinstance(layer, int)):
            raise ConfigError(f"data.audio.layer must be an int or 'mean', got {layer!r}")
        self.model = model
        self.layer = layer
        self.normalize_input = normalize_input
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        self.device = device
        self._config: Any = None
        self._encoder: Any = None
        self._settings: dict[str, Any] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_encoder": None}

    # -- facts (config only, no weights) ------------------------------------------------------
    def _folder(self) -> Path:
        path = Path(self.model).expanduser()
        if path.is_dir():
            return path
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(self.model, "config.json")
        except ValueError as err:  # not a repo id either
            raise _unavailable(self.model, err) from err
        if not isinstance(found, str):
            raise _unavailable(self.model, FileNotFoundError("config.json is not in the cache"))
        return Path(found).parent

    @property
    def config(self) -> Any:
        """The model's ``transformers`` config, read offline."""
        if self._config is None:
            from transformers import AutoConfig

            try:
                self._config = AutoConfig.from_pretrained(
                    str(self._folder()), local_files_only=True
                )
            except (OSError, ValueError) as err:
                raise _unavailable(self.model, err) from err
        return self._config

    @property
    def dim(self) -> int:
        """Hidden size of the encoder (768 for base models, 1024 for large)."""
        return int(self.config.hidden_size)

    @property
    def num_layers(self) -> int:
        """Transformer layers L (hidden states are ``L + 1`` with the CNN projection)."""
        return int(self.config.num_hidden_layers)

    @property
    def frame_rate(self) -> float:
        """Output frames per second: sample rate over the product of the CNN strides (50)."""
        return self.sample_rate / float(np.prod(self.config.conv_stride))

    @property
    def min_samples(self) -> int:
        """Fewest samples that give one output frame (400 for wav2vec 2.0's CNN)."""
        receptive, jump = 1, 1
        for kernel, stride in zip(self.config.conv_kernel, self.config.conv_stride, strict=True):
            receptive += (kernel - 1) * jump
            jump *= stride
        return receptive

    def _layer_index(self) -> int | None:
        if self.layer == "mean":
            return None
        total = self.num_layers + 1
        index = self.layer if self.layer >= 0 else total + self.layer
        if not 0 <= index < total:
            raise ConfigError(
                f"data.audio.layer={self.layer} is outside {self.model!r}'s hidden states "
                f"(0..{self.num_layers}, or -1..-{total}); use one of them or 'mean'"
            )
        return int(index)

    def _normalize(self) -> bool:
        if self.normalize_input is not None:
            return bool(self.normalize_input)
        pre = self._folder() / "preprocessor_config.json"
        if pre.is_file():
            return bool(json.loads(pre.read_text()).get("do_normalize", True))
        return True

    def settings(self) -> dict[str, Any]:
        """Every setting that changes the output; the model is named by a content fingerprint.

        Raises:
            ModelUnavailableError: the model is neither a local folder nor in the local cache.
        """
        if self._settings is None:
            import transformers

            from mmfa.features.text import _fingerprint

            folder = self._folder()
            index = self._layer_index()
            self._settings = {
                "extractor": "ssl",
                "model": folder.name if Path(self.model).expanduser().is_dir() else self.model,
                "model_type": str(self.config.model_type),
                "model_fingerprint": _fingerprint(folder),
                "layer": "mean" if index is None else index,
                "normalize_input": self._normalize(),
                "max_seconds": self.max_seconds,
                "sample_rate": self.sample_rate,
                "dim": self.dim,
                "transformers": int(transformers.__version__.split(".")[0]),
            }
        return dict(self._settings)

    # -- extraction -----------------------------------------------------------------------------
    def _load(self) -> Any:
        if self._encoder is None:
            from transformers import AutoModel
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            try:
                encoder = AutoModel.from_pretrained(str(self._folder()), local_files_only=True)
            except (OSError, ValueError) as err:
                raise _unavailable(self.model, err) from err
            encoder.eval().requires_grad_(False)  # frozen: features, never fine-tuned here
            self._encoder = encoder.to(self.device)
        return self._encoder

    def from_signal(self, signal: np.ndarray, utterance_id: str) -> np.ndarray:
        """Hidden states of one 16 kHz mono signal.

        Args:
            signal: Samples of shape ``(N,)``, floats in ``[-1, 1]`` at 16 kHz.
            utterance_id: Id used in error messages.

        Returns:
            Features of shape ``(T, dim)``, float32, ``T`` about ``N / 320``.

        Raises:
            BadInputError: ``too_short`` under one output frame; ``non_finite_features``.
            ModelUnavailableError: the model is not on disk.
        """
        import torch

        x = np.asarray(signal, dtype=np.float32).reshape(-1)
        if len(x) < self.min_samples:
            raise BadInputError(
                utterance_id,
                "too_short",
                f"{len(x)} samples at 16 kHz is shorter than one {self.model} frame "
                f"({self.min_samples} samples); exclude the utterance or fix its segment times",
            )
        if self._normalize():
            x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        encoder = self._load()
        index = self._layer_index()
        # One utterance per forward pass: base checkpoints (group-norm CNN) must not see padding.
        with torch.inference_mode():
            inputs = torch.from_numpy(x)[None].to(self.device)
            states = encoder(inputs, output_hidden_states=True).hidden_states
            hidden = torch.stack(states).mean(0) if index is None else states[index]
            feats = hidden[0].float().cpu().numpy()
        if not np.all(np.isfinite(feats)):
            raise BadInputError(
                utterance_id,
                "non_finite_features",
                f"{self.model} returned NaN/Inf ({feats.shape[0]} frames); check the audio",
            )
        return np.ascontiguousarray(feats, dtype=np.float32)
