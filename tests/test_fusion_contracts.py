"""Every registered fusion (entry points, built-in and installed plugins) passes the contract."""

from __future__ import annotations

import pytest
import torch

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


# --- the contract catches what it promises to catch ---------------------------------------------


class _Unused(ConcatFusion):
    """A layer that never reaches the output."""

    def __init__(self, audio_dim: int, text_dim: int, num_outputs: int) -> None:
        super().__init__(audio_dim, text_dim, num_outputs)
        self.forgotten = torch.nn.Linear(3, 3)


class _NegativePenalty(ConcatFusion):
    def l2_penalty(self) -> torch.Tensor:
        return -sum(p.pow(2).sum() for p in self.parameters())  # type: ignore[return-value]


class _SeesTheBatch(ConcatFusion):
    """Adds the batch mean: a sample's output depends on the others."""

    def forward(self, audio, audio_mask, text, text_mask):  # type: ignore[no-untyped-def]
        out = super().forward(audio, audio_mask, text, text_mask)
        return out + out.mean(0, keepdim=True)


def _contract(fusion: type) -> FusionContract:
    contract = FusionContract()
    contract.fusion_class = fusion  # type: ignore[misc]
    return contract


@pytest.mark.parametrize(
    ("fusion", "check"),
    [
        (_Unused, "test_gradient_reaches_every_parameter"),
        (_NegativePenalty, "test_l2_penalty_is_a_differentiable_non_negative_scalar"),
        (_SeesTheBatch, "test_batch_of_one"),
    ],
)
def test_contract_fails_a_broken_fusion(fusion: type, check: str) -> None:
    with pytest.raises(AssertionError):
        getattr(_contract(fusion), check)()
