"""Moved to :mod:`mmfa.manifest`; kept so plugins importing the old path keep working."""

from mmfa.manifest import SPLITS, Utterance

__all__ = ["SPLITS", "Utterance"]
