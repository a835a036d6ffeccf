"""The MMFA-RNN as plain ``nn.Module`` s (paper Sec. III.B-C, Appendix A).

- :mod:`mmfa.layers` (one floor down, shared with :mod:`mmfa.fusion`): fastGELU, masked
  BatchNorm, masked pooling, first-level self-attention, the classifier head.
- :mod:`mmfa.models.encoder`: one modality's BatchNorm + GRU.
- :mod:`mmfa.models.network`: the encoders + a fusion strategy (:mod:`mmfa.fusion`).
- :mod:`mmfa.models.task`: the one LightningModule that trains the network.

Every layer takes boolean masks ``(B, T)`` (True = real step) and never lets padding change a
result. The public names are re-exported here and imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports

if TYPE_CHECKING:
    from mmfa.models.encoder import ModalityEncoder
    from mmfa.models.network import MMFANetwork
    from mmfa.models.task import EmotionTask

_EXPORTS = {
    "ModalityEncoder": "mmfa.models.encoder",
    "MMFANetwork": "mmfa.models.network",
    "EmotionTask": "mmfa.models.task",
}
__all__ = ["EmotionTask", "MMFANetwork", "ModalityEncoder"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
