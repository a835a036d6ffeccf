"""LightningDataModules: one thin class per corpus over :class:`EmotionDataModule`.

The corpus readers, label maps and folds they use live in :mod:`mmfa.corpora` (no torch, no
lightning); the manifest row in :mod:`mmfa.manifest`. Built-ins are registered in the
``mmfa.datamodules`` entry-point group, like third-party plugins. The public names are
re-exported here and imported on first use, so importing the package alone does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports

if TYPE_CHECKING:
    from mmfa.datamodules.base import EmotionDataModule
    from mmfa.datamodules.iemocap import IEMOCAPDataModule
    from mmfa.datamodules.meld import MELDDataModule
    from mmfa.datamodules.mosei import MOSEIDataModule
    from mmfa.datamodules.ravdess import RAVDESSDataModule
    from mmfa.datamodules.synthetic import SyntheticDataModule

_EXPORTS = {
    "EmotionDataModule": "mmfa.datamodules.base",
    "IEMOCAPDataModule": "mmfa.datamodules.iemocap",
    "MELDDataModule": "mmfa.datamodules.meld",
    "MOSEIDataModule": "mmfa.datamodules.mosei",
    "RAVDESSDataModule": "mmfa.datamodules.ravdess",
    "SyntheticDataModule": "mmfa.datamodules.synthetic",
}
__all__ = [
    "EmotionDataModule",
    "IEMOCAPDataModule",
    "MELDDataModule",
    "MOSEIDataModule",
    "RAVDESSDataModule",
    "SyntheticDataModule",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
