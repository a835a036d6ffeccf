"""Padded random batches for tests of sequence layers, encoders and fusions (plugins too)."""

from __future__ import annotations

import torch
from torch import Tensor


def padded(
    lengths: list[int],
    dim: int,
    seed: int,
    pad_value: float = 0.0,
    scale: float = 2.0,
    shift: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """Random ``(B, T, D)`` batch, ``pad_value`` after each sample's valid steps, and its mask.

    Valid steps are ``randn * scale + shift``; the mask ``(B, T)`` is True on them.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.full((len(lengths), max(lengths), dim), pad_value)
    mask = torch.zeros(len(lengths), max(lengths), dtype=torch.bool)
    for i, n in enumerate(lengths):
        x[i, :n] = torch.randn(n, dim, generator=g) * scale + shift
        mask[i, :n] = True
    return x, mask


def pad_more(x: Tensor, mask: Tensor, extra: int) -> tuple[Tensor, Tensor]:
    """Append ``extra`` zero steps (mask False) to every sample of a padded batch."""
    b, _, d = x.shape
    return (
        torch.cat([x, x.new_zeros(b, extra, d)], 1),
        torch.cat([mask, mask.new_zeros(b, extra)], 1),
    )
