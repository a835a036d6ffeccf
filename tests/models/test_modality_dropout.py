"""Modality dropout: off by default; in training it zeroes one modality of some utterances."""

from __future__ import annotations

import pytest
import torch

from mmfa.models.network import MMFANetwork


def _batch() -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(8, 10, 39, generator=gen), torch.randn(8, 5, 16, generator=gen)


def test_off_by_default_a_missing_modality_is_an_error() -> None:
    audio, _ = _batch()
    net = MMFANetwork(39, 16, 4).eval()
    assert net.modality_dropout == 0
    with pytest.raises(ValueError, match="text=None"):
        net(audio, None, None, None)


def test_training_zeroes_exactly_one_modality_of_dropped_utterances() -> None:
    audio, text = _batch()
    torch.manual_seed(0)
    net = MMFANetwork(39, 16, 4, modality_dropout=1.0).train()
    seen: dict[str, torch.Tensor] = {}

    def grab(module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        seen["audio"], seen["text"] = args[0], args[2]

    net.fusion.register_forward_pre_hook(grab)
    net(audio, None, text, None)
    audio_zero = (seen["audio"] == 0).flatten(1).all(1)
    text_zero = (seen["text"] == 0).flatten(1).all(1)
    assert torch.equal(audio_zero ^ text_zero, torch.ones(8, dtype=torch.bool))
    assert audio_zero.any() and text_zero.any()


def test_evaluation_keeps_both_and_serves_a_missing_modality() -> None:
    audio, text = _batch()
    net = MMFANetwork(39, 16, 4, modality_dropout=0.5).eval()
    with torch.no_grad():
        both = net(audio, None, text, None)
        torch.testing.assert_close(both, net(audio, None, text, None))  # no dropping at eval
        audio_only = net(audio, None, None, None)
        text_only = net(None, None, text, None)
    assert audio_only.shape == text_only.shape == (8, 4)
    assert torch.isfinite(audio_only).all() and torch.isfinite(text_only).all()
    assert not torch.allclose(audio_only, both)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_is_checked(p: float) -> None:
    with pytest.raises(ValueError, match="modality_dropout"):
        MMFANetwork(39, 16, 4, modality_dropout=p)
