"""Fusion-specific behaviour: eq. (4) resampling, MMFA options and L2, late-fusion outputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mmfa.fusion.base import Fusion
from mmfa.fusion.concat import ConcatFusion
from mmfa.fusion.late import LateFusion
from mmfa.fusion.mmfa import MMFAFusion, resample_linear
from mmfa.fusion.single import AudioOnly, TextOnly


def lengths_mask(lengths: list[int], total: int | None = None) -> torch.Tensor:
    total = total or max(lengths)
    return torch.arange(total)[None, :] < torch.tensor(lengths)[:, None]


def encoded(la: list[int], lw: list[int], da: int = 12, dt: int = 8, seed: int = 0):
    """Fake encoder outputs: random valid steps, zero padding (as the GRU encoders give)."""
    g = torch.Generator().manual_seed(seed)
    am, tm = lengths_mask(la), lengths_mask(lw)
    audio = torch.randn(len(la), max(la), da, generator=g) * am[..., None]
    text = torch.randn(len(lw), max(lw), dt, generator=g) * tm[..., None]
    return audio, am, text, tm


# -- resampling R of eq. (4) ---------------------------------------------------------------------
def test_resample_same_length_is_identity() -> None:
    x = torch.randn(3, 6, 5)
    mask = lengths_mask([6, 4, 1])
    out = resample_linear(x, mask, mask)
    assert torch.equal(out[mask], x[mask])
    assert torch.all(out[~mask] == 0)


def test_resample_keeps_a_linear_ramp_linear() -> None:
    lw, la = [5, 3, 2], [13, 4, 9]
    src_mask, dst_mask = lengths_mask(lw, 7), lengths_mask(la, 15)
    steps = torch.arange(7.0)
    x = torch.stack([2.0 + 0.5 * steps, -1.0 * steps], -1).expand(3, 7, 2).clone()
    out = resample_linear(x, src_mask, dst_mask)
    for i in range(3):
        pos = torch.arange(la[i]) * (lw[i] - 1) / (la[i] - 1)  # align-corners positions
        expected = torch.stack([2.0 + 0.5 * pos, -1.0 * pos], -1)
        torch.testing.assert_close(out[i, : la[i]], expected)
        assert torch.all(out[i, la[i] :] == 0)


def test_resample_matches_torch_interpolate_and_ignores_padded_rows() -> None:
    torch.manual_seed(0)
    lw, la = [4, 7, 2, 3], [11, 3, 2, 30]
    src_mask, dst_mask = lengths_mask(lw), lengths_mask(la)
    x = torch.randn(4, 7, 6)
    out = resample_linear(x, src_mask, dst_mask)
    garbage = x.masked_fill(~src_mask[..., None], 1e6)  # padded rows must never be read
    torch.testing.assert_close(resample_linear(garbage, src_mask, dst_mask), out)
    for i in range(4):
        ref = F.interpolate(
            x[i : i + 1, : lw[i]].transpose(1, 2), size=la[i], mode="linear", align_corners=True
        ).transpose(1, 2)[0]
        torch.testing.assert_close(out[i, : la[i]], ref)


def test_resample_onto_one_step_gives_the_text_mean() -> None:
    x = torch.randn(2, 5, 3)
    src_mask = lengths_mask([5, 2])
    out = resample_linear(x, src_mask, lengths_mask([1, 1], 4))
    torch.testing.assert_close(out[:, 0], torch.stack([x[0].mean(0), x[1, :2].mean(0)]))
    assert torch.all(out[:, 1:] == 0)


# -- MMFAFusion ----------------------------------------------------------------------------------
def test_mmfa_projection_width_and_heads() -> None:
    fusion = MMFAFusion(12, 8, 3)
    assert fusion.dim == 8 and fusion.w3.in_features == 8 and fusion.w1.in_features == 12
    assert MMFAFusion(12, 8, 3, heads=3, dim=9).w_o.out_features == 9
    with pytest.raises(ValueError, match="multiple of heads"):
        MMFAFusion(12, 8, 3, heads=3)


def test_mmfa_l2_penalty_is_keras_l2_on_the_four_projections() -> None:
    fusion = MMFAFusion(12, 8, 3, l2=0.01)
    manual = sum(
        w.pow(2).sum()
        for w in (fusion.w1.weight, fusion.w2.weight, fusion.w3.weight, fusion.w_o.weight)
    )
    torch.testing.assert_close(fusion.l2_penalty(), 0.01 * manual)
    fusion.l2_penalty().backward()
    torch.testing.assert_close(fusion.w1.weight.grad, 0.02 * fusion.w1.weight)  # = decay 2 x l2
    assert fusion.w1.bias.grad is None


def test_mmfa_uses_text_through_the_fusion_attention() -> None:
    torch.manual_seed(0)
    fusion = MMFAFusion(12, 8, 3).eval()
    audio, am, text, tm = encoded([9, 5], [3, 4])
    out = fusion(audio, am, text, tm)
    assert not torch.allclose(fusion(audio, am, text.flip(-1), tm), out)


def test_fusions_without_l2_return_zero_and_missing_modality_is_explained() -> None:
    audio, am, text, tm = encoded([4], [2])
    for cls in (ConcatFusion, LateFusion, AudioOnly, TextOnly):
        assert cls(12, 8, 3).l2_penalty().item() == 0.0
    with pytest.raises(ValueError, match="text modality"):
        ConcatFusion(12, 8, 3)(audio, am, None, None)


@pytest.mark.parametrize("cls", [MMFAFusion, ConcatFusion, LateFusion, AudioOnly, TextOnly])
def test_masks_default_to_all_valid(cls: type[Fusion]) -> None:
    torch.manual_seed(0)
    fusion = cls(12, 8, 3).eval()
    audio, am, text, tm = encoded([5, 5], [3, 3])
    torch.testing.assert_close(fusion(audio, None, text, None), fusion(audio, am, text, tm))


# -- LateFusion ----------------------------------------------------------------------------------
def test_late_fusion_returns_log_of_mean_probabilities() -> None:
    torch.manual_seed(0)
    fusion = LateFusion(12, 8, 4).eval()
    audio, am, text, tm = encoded([6, 2, 9], [3, 5, 1])
    out = fusion(audio, am, text, tm)
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(3))
    p_a = fusion.audio_head(fusion.audio_pool(audio, am)).softmax(-1)
    p_t = fusion.text_head(fusion.text_pool(text, tm)).softmax(-1)
    torch.testing.assert_close(out, ((p_a + p_t) / 2).log())
    torch.testing.assert_close(out.log_softmax(-1), out)  # cross-entropy sees the mixture


def test_late_fusion_mean_logits_option() -> None:
    torch.manual_seed(0)
    fusion = LateFusion(12, 8, 2, combine="mean_logits").eval()
    audio, am, text, tm = encoded([6, 2], [3, 5])
    z_a = fusion.audio_head(fusion.audio_pool(audio, am))
    z_t = fusion.text_head(fusion.text_pool(text, tm))
    torch.testing.assert_close(fusion(audio, am, text, tm), (z_a + z_t) / 2)
    with pytest.raises(ValueError, match="combine"):
        LateFusion(12, 8, 2, combine="max")  # type: ignore[arg-type]
