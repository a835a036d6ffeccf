"""Moved to :mod:`mmfa.layers`; kept so plugins importing the old path keep working."""

from mmfa.layers import (
    BN_MOMENTUM,
    AttentionPool,
    ClassifierHead,
    FastGELU,
    MaskedBatchNorm1d,
    SelfAttention,
    fast_gelu,
    full_mask,
    keras_dense_init,
    masked_mean,
)

__all__ = [
    "BN_MOMENTUM",
    "AttentionPool",
    "ClassifierHead",
    "FastGELU",
    "MaskedBatchNorm1d",
    "SelfAttention",
    "fast_gelu",
    "full_mask",
    "keras_dense_init",
    "masked_mean",
]
