"""Every registered fusion (entry points, built-in and installed plugins) passes the contract."""

from __future__ import annotations

from mmfa.fusion.concat import ConcatFusion
from mmfa.fusion.late import LateFusion
from mmfa.fusion.mmfa import MMFAFusion
from mmfa.fusion.single import AudioOnly, TextOnly
from mmfa.plugins import load_plugins
from mmfa.testing.contracts import FusionContract


def test_every_registered_fusion_is_tested_here() -> None:
    registered = {
        cls
        for key, cls in load_plugins(("mmfa.fusion",)).items()
        if cls.__module__.startswith("mmfa.")
    }
    assert registered == {MMFAFusion, ConcatFusion, LateFusion, AudioOnly, TextOnly}


class TestMMFA(FusionContract):
    fusion_class = MMFAFusion
    fusion_kwargs = {"dim": 8}


class TestConcat(FusionContract):
    fusion_class = ConcatFusion


class TestLate(FusionContract):
    fusion_class = LateFusion


class TestAudioOnly(FusionContract):
    fusion_class = AudioOnly


class TestTextOnly(FusionContract):
    fusion_class = TextOnly
