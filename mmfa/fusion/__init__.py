"""Fusion strategies: how the encoded audio and text become logits.

Every strategy subclasses :class:`mmfa.fusion.base.Fusion` and shares one forward signature,
``forward(audio, audio_mask, text, text_mask) -> logits (B, num_outputs)``. Built-ins:

- :class:`mmfa.fusion.mmfa.MMFAFusion`: the paper's multi-level multi-head fusion attention.
- :class:`mmfa.fusion.concat.ConcatFusion`: early-fusion baseline (pool each, concatenate).
- :class:`mmfa.fusion.late.LateFusion`: one classifier per modality, predictions averaged.
- :class:`mmfa.fusion.single.AudioOnly`, :class:`mmfa.fusion.single.TextOnly`: one modality.

They are registered in the ``mmfa.fusion`` entry-point group, like third-party plugins. The names
are re-exported here (``from mmfa.fusion import MMFAFusion``) and imported on first use, so
importing the package alone does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports

if TYPE_CHECKING:
    from mmfa.fusion.base import Fusion
    from mmfa.fusion.concat import ConcatFusion
    from mmfa.fusion.late import LateFusion
    from mmfa.fusion.mmfa import MMFAFusion
    from mmfa.fusion.single import AudioOnly, TextOnly

_EXPORTS = {
    "Fusion": "mmfa.fusion.base",
    "ConcatFusion": "mmfa.fusion.concat",
    "LateFusion": "mmfa.fusion.late",
    "MMFAFusion": "mmfa.fusion.mmfa",
    "AudioOnly": "mmfa.fusion.single",
    "TextOnly": "mmfa.fusion.single",
}
__all__ = ["AudioOnly", "ConcatFusion", "Fusion", "LateFusion", "MMFAFusion", "TextOnly"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
