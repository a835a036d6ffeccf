"""Moved to :mod:`mmfa.testing.fakes` (one module per corpus); kept for older imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports
from mmfa.testing import fakes

if TYPE_CHECKING:
    from mmfa.testing.fakes import (
        fake_expected,
        write_fake_iemocap,
        write_fake_meld,
        write_fake_mosei,
        write_fake_ravdess,
    )

__all__ = [
    "fake_expected",
    "write_fake_iemocap",
    "write_fake_meld",
    "write_fake_mosei",
    "write_fake_ravdess",
]
__getattr__, __dir__ = lazy_exports(__name__, {name: fakes.__name__ for name in __all__})
