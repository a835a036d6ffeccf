"""MMFAFusion's audio path: the contract still holds, and constant text cannot silence the audio."""

from __future__ import annotations

import pytest
import torch

from mmfa.fusion.mmfa import MMFAFusion
from mmfa.testing.contracts import FusionContract


class TestMMFAWithAudioPath(FusionContract):
    fusion_class = MMFAFusion
    fusion_kwargs = {"dim": 8, "audio_path": True}


def test_off_by_default_and_a_closed_gate_is_the_audio_only_model() -> None:
    plain, with_path = MMFAFusion(6, 8, 3), MMFAFusion(6, 8, 3, audio_path=True)
    assert not plain.audio_path and not hasattr(plain, "audio_head")
    assert float(with_path.fused_gate) == pytest.approx(0.1)
    with torch.no_grad():
        with_path.fused_gate.zero_()
    gen = torch.Generator().manual_seed(0)
    audio, text = torch.randn(4, 5, 6, generator=gen), torch.randn(4, 3, 8, generator=gen)
    mask_a, mask_t = torch.ones(4, 5, dtype=torch.bool), torch.ones(4, 3, dtype=torch.bool)
    with_path.eval()
    with torch.no_grad():
        pooled = with_path.audio_attention(audio, mask_a).mean(1)
        torch.testing.assert_close(
            with_path(audio, mask_a, text, mask_t), with_path.audio_head(pooled)
        )


def _audio_keyed_task(n: int = 64) -> tuple[torch.Tensor, ...]:
    """Label = sign of the audio's first feature; the text is one repeated row for everyone.

    With text rows that differ over time, the audio could still pick *which* rows to average
    (a weak channel); with one repeated row every value of eq. (4) is the same. Float64: the
    rows of the paper's MMFA then agree to ~1e-13 relative on every CPU and thread count, where
    float32 leaves ~1e-6 relative (1e-4 absolute on logits that training drives to ~50) that
    depends on the kernel set and the threads.
    """
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(n, 5, 6, generator=gen, dtype=torch.float64)
    target = (audio[:, :, 0].mean(1) > 0).long()
    audio[:, :, 0] += torch.where(target.bool(), 1.0, -1.0)[:, None]
    text = torch.randn(1, 1, 8, generator=gen, dtype=torch.float64).expand(n, 4, -1).contiguous()
    mask_a, mask_t = torch.ones(n, 5, dtype=torch.bool), torch.ones(n, 4, dtype=torch.bool)
    return audio, mask_a, text, mask_t, target


def _fit(fusion: MMFAFusion, data: tuple[torch.Tensor, ...], steps: int = 150) -> torch.Tensor:
    audio, mask_a, text, mask_t, target = data
    fusion.double()
    opt = torch.optim.Adam(fusion.parameters(), lr=1e-2)
    fusion.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(fusion(audio, mask_a, text, mask_t), target)
        loss.backward()
        opt.step()
    fusion.eval()
    with torch.no_grad():
        return fusion(audio, mask_a, text, mask_t)


def test_constant_text_leaves_the_paper_mmfa_constant_but_not_the_audio_path() -> None:
    data = _audio_keyed_task()
    target = data[-1]
    torch.manual_seed(0)
    plain = _fit(MMFAFusion(6, 8, 2, dim=8), data)
    # eq. (4): only the text supplies the values, so one sentence gives one answer for all
    # (up to rounding, relative to the logits' size, which training makes large)
    spread = (plain - plain[:1]).abs().max() / plain.abs().max()
    assert spread < 1e-9, f"rows differ by {float(spread):.1e} of the logits' size"
    torch.manual_seed(0)
    with_path = _fit(MMFAFusion(6, 8, 2, dim=8, audio_path=True), data)
    assert (with_path.argmax(-1) == target).float().mean() > 0.9
