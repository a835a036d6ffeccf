"""Feature extractors (audio MFCC, text embeddings), the feature store and the pipeline.

The public names are re-exported here and imported on first use (importing the package alone
does not load torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports

if TYPE_CHECKING:
    from mmfa.features.audio import MFCCExtractor
    from mmfa.features.pipeline import FeaturePipeline
    from mmfa.features.store import FeatureStore
    from mmfa.features.text import TextFeatureExtractor

_EXPORTS = {
    "MFCCExtractor": "mmfa.features.audio",
    "FeaturePipeline": "mmfa.features.pipeline",
    "FeatureStore": "mmfa.features.store",
    "TextFeatureExtractor": "mmfa.features.text",
}
__all__ = ["FeaturePipeline", "FeatureStore", "MFCCExtractor", "TextFeatureExtractor"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
