"""openSMILE functionals: one fixed-size vector per utterance, the classical baseline's input.

:class:`FunctionalsExtractor` is an :class:`~mmfa.features.frontend.AudioFrontEnd` whose output
is a single "frame": the utterance's eGeMAPS v02 (88 values) or ComParE 2016 (6,373 values)
functionals, as the ``opensmile`` wheel computes them. Being a front-end, it fills the same
content-keyed feature store as the MFCC (:func:`utterance_functionals`), so a second run over the
same files extracts nothing. ``mmfa baseline`` (:mod:`mmfa.experiments.baseline`) feeds these
vectors to scikit-learn classifiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmfa.errors import BadInputError
from mmfa.features.frontend import AudioFrontEnd
from mmfa.features.pipeline import FeaturePipeline, FeatureReport, SampleRef
from mmfa.manifest import Utterance

__all__ = ["FEATURE_SETS", "FunctionalsExtractor", "utterance_functionals"]

#: ``--features`` name -> (openSMILE feature set, values per utterance).
FEATURE_SETS: dict[str, tuple[str, int]] = {
    "egemaps": ("eGeMAPSv02", 88),
    "compare": ("ComParE_2016", 6373),
}


class FunctionalsExtractor(AudioFrontEnd):
    """Utterance-level openSMILE functionals as a ``(1, dim)`` feature matrix.

    Picklable: the ``opensmile.Smile`` is built on first use in each process, never pickled.

    Args:
        feature_set: ``egemaps`` (eGeMAPS v02, 88 values) or ``compare`` (ComParE 2016, 6,373).
        max_seconds: Use at most this many seconds of each utterance (``None``: no cap).
    """

    def __init__(self, feature_set: str = "egemaps", max_seconds: float | None = None):
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"feature_set={feature_set!r}: choose one of {sorted(FEATURE_SETS)}")
        self.feature_set = feature_set
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        self._smile: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_smile"] = None  # ctypes-backed; each process builds its own
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(feature_set={self.feature_set!r})"

    @property
    def dim(self) -> int:
        """Values per utterance: 88 (eGeMAPS v02) or 6,373 (ComParE 2016)."""
        return FEATURE_SETS[self.feature_set][1]

    def settings(self) -> dict[str, Any]:
        """The feature set, the cap and openSMILE's version (a new wheel may change the output)."""
        from importlib.metadata import version

        return {
            "frontend": "opensmile_functionals",
            "feature_set": FEATURE_SETS[self.feature_set][0],
            "max_seconds": self.max_seconds,
            "opensmile": version("opensmile"),
        }

    def from_signal(self, signal: np.ndarray, utterance_id: str) -> np.ndarray:
        """The functionals of one 16 kHz signal, shape ``(1, dim)``, float32.

        Raises:
            BadInputError: openSMILE returned no row or a row of the wrong size.
        """
        frame = self._get_smile().process_signal(signal, self.sample_rate)
        values = np.asarray(frame.to_numpy(), dtype=np.float32)
        if values.shape != (1, self.dim):
            raise BadInputError(
                utterance_id,
                "no_functionals",
                f"openSMILE {FEATURE_SETS[self.feature_set][0]} gave shape {values.shape}, "
                f"expected (1, {self.dim}); check the audio",
            )
        return values

    def _get_smile(self) -> Any:
        if self._smile is None:
            import opensmile

            self._smile = opensmile.Smile(
                feature_set=getattr(opensmile.FeatureSet, FEATURE_SETS[self.feature_set][0]),
                feature_level=opensmile.FeatureLevel.Functionals,
            )
        return self._smile


def utterance_functionals(
    utterances: list[Utterance],
    extractor: FunctionalsExtractor,
    cache_dir: Path,
    *,
    on_bad_input: Literal["skip", "error"] = "skip",
) -> tuple[list[SampleRef], np.ndarray, FeatureReport]:
    """The functionals of every usable utterance, extracted once and cached.

    Args:
        utterances: the manifest.
        extractor: which functionals.
        cache_dir: the feature store root (the datamodule's ``cache_dir``).
        on_bad_input: ``skip`` (count and report) or ``error`` (raise on the first bad input).

    Returns:
        ``(refs, X, report)``: the usable utterances' refs in manifest order, their vectors
        ``X`` of shape ``(len(refs), dim)``, and what was reused, extracted and skipped.
    """
    pipeline = FeaturePipeline(cache_dir, extractor, None, on_bad_input=on_bad_input)
    refs, report = pipeline.run(utterances)
    store = pipeline.audio_store
    assert store is not None
    matrix = np.zeros((len(refs), extractor.dim), dtype=np.float32)
    for k, ref in enumerate(refs):
        matrix[k] = store.get_row(ref.audio_row)[0]
    return refs, matrix, report
