"""MMFANetwork with every fusion: sizes, shapes, padding and batch invariance, L2, overfitting."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from mmfa.fusion.base import Fusion
from mmfa.fusion.concat import ConcatFusion
from mmfa.fusion.late import LateFusion
from mmfa.fusion.mmfa import MMFAFusion
from mmfa.fusion.single import AudioOnly, TextOnly
from mmfa.models.network import MMFANetwork
from mmfa.testing.batches import pad_more

FUSIONS: list[type[Fusion]] = [MMFAFusion, ConcatFusion, LateFusion, AudioOnly, TextOnly]
AUDIO_LENGTHS = [23, 9, 1]  # includes a one-frame utterance (the resampling edge case)
TEXT_LENGTHS = [4, 7, 1]


def make_batch(dt: int, seed: int, la: list[int] = AUDIO_LENGTHS, lw: list[int] = TEXT_LENGTHS):
    g = torch.Generator().manual_seed(seed)
    b = len(la)
    audio, text = torch.zeros(b, max(la), 39), torch.zeros(b, max(lw), dt)
    audio_mask = torch.zeros(b, max(la), dtype=torch.bool)
    text_mask = torch.zeros(b, max(lw), dtype=torch.bool)
    for i in range(b):
        audio[i, : la[i]] = torch.randn(la[i], 39, generator=g) * 4 + 2
        text[i, : lw[i]] = torch.randn(lw[i], dt, generator=g) * 0.5
        audio_mask[i, : la[i]] = True
        text_mask[i, : lw[i]] = True
    return audio, audio_mask, text, text_mask


def with_neighbours(
    x: torch.Tensor, mask: torch.Tensor, others: torch.Tensor, others_mask: torch.Tensor
):
    """Sample 0 of (x, mask) followed by the ``others`` batch, padded to a common length."""
    t = max(x.shape[1], others.shape[1])
    x0, m0 = pad_more(x[:1], mask[:1], t - x.shape[1])
    x1, m1 = pad_more(others, others_mask, t - others.shape[1])
    return torch.cat([x0, x1]), torch.cat([m0, m1])


def build(fusion: type[Fusion], dt: int = 384, **kwargs) -> MMFANetwork:
    """A network in eval mode whose BatchNorm running statistics have moved off their init."""
    torch.manual_seed(0)
    net = MMFANetwork(39, dt, 4, fusion=fusion, **kwargs)
    with torch.no_grad():
        for seed in (100, 101):
            net(*make_batch(dt, seed, la=[15, 6, 30, 3], lw=[5, 2, 9, 1]))
    return net.eval()


def test_gru_sizes_follow_eqs_5_and_6() -> None:
    bert = MMFANetwork(39, 768, 4)
    assert bert.audio_encoder is not None and bert.text_encoder is not None
    assert (bert.audio_encoder.hidden_size, bert.text_encoder.hidden_size) == (78, 192)
    assert isinstance(bert.fusion, MMFAFusion)  # fusion=None means the paper's
    assert bert.fusion.dim == 192 and bert.fusion.heads == 2
    assert MMFANetwork(39, 384, 4).text_units == 96
    assert MMFANetwork(39, 768, 4, audio_factor=1, text_factor=8).audio_units == 39


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dt", [384, 768])
def test_every_fusion_shapes(fusion: type[Fusion], dt: int) -> None:
    torch.manual_seed(0)
    net = MMFANetwork(39, dt, 5, fusion=fusion)
    assert (net.audio_encoder is not None) == ("audio" in fusion.modalities)
    assert (net.text_encoder is not None) == ("text" in fusion.modalities)
    batch = make_batch(dt, seed=1)
    out = net(*batch)  # train mode
    assert out.shape == (3, 5) and torch.isfinite(out).all()
    out.sum().backward()
    assert net.eval()(*batch).shape == (3, 5)


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f.__name__)
def test_every_fusion_eval_padding_invariance(fusion: type[Fusion]) -> None:
    net = build(fusion)
    audio, am, text, tm = make_batch(384, seed=2)
    with torch.no_grad():
        ref = net(audio, am, text, tm)
        for extra_a, extra_t in [(6, 0), (0, 5), (11, 3)]:
            out = net(*pad_more(audio, am, extra_a), *pad_more(text, tm, extra_t))
            torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


@pytest.mark.parametrize("fusion", FUSIONS, ids=lambda f: f.__name__)
def test_every_fusion_batch_composition_invariance(fusion: type[Fusion]) -> None:
    net = build(fusion)
    audio, am, text, tm = make_batch(384, seed=3)
    other = make_batch(384, seed=4, la=[40, 2], lw=[3, 12])
    with torch.no_grad():
        ref = net(audio, am, text, tm)
        for i, (la, lw) in enumerate(zip(AUDIO_LENGTHS, TEXT_LENGTHS, strict=True)):
            alone = net(
                audio[i : i + 1, :la], am[i : i + 1, :la], text[i : i + 1, :lw], tm[i : i + 1, :lw]
            )
            torch.testing.assert_close(alone[0], ref[i], atol=1e-5, rtol=0)
        # sample 0 among different, longer neighbours
        out = net(
            *with_neighbours(audio, am, other[0], other[1]),
            *with_neighbours(text, tm, other[2], other[3]),
        )
        torch.testing.assert_close(out[0], ref[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("fusion", [MMFAFusion, ConcatFusion, LateFusion], ids=lambda f: f.__name__)
def test_train_mode_padding_invariance_without_dropout(fusion: type[Fusion]) -> None:
    # masked BatchNorm statistics come from real steps only: padding cannot move them
    torch.manual_seed(0)
    net = MMFANetwork(
        39, 64, 3, fusion=functools.partial(fusion, head_dropout=0.0), recurrent_dropout=0.0
    ).train()
    audio, am, text, tm = make_batch(64, seed=5)
    ref = net(audio, am, text, tm)
    out = net(*pad_more(audio, am, 7), *pad_more(text, tm, 4))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_single_modality_networks_accept_none_for_the_other() -> None:
    audio, am, text, tm = make_batch(384, seed=6)
    assert build(AudioOnly)(audio, am, None, None).shape == (3, 4)
    assert build(TextOnly)(None, None, text, tm).shape == (3, 4)
    with pytest.raises(ValueError, match="audio"):
        build(MMFAFusion)(None, None, text, tm)


def test_partial_factories_including_lightning_cli_style() -> None:
    net = MMFANetwork(39, 384, 4, fusion=functools.partial(MMFAFusion, heads=4))
    assert isinstance(net.fusion, MMFAFusion) and net.fusion.heads == 4

    def instantiator(cls, *args, **kwargs):  # what jsonargparse wraps the class in
        return cls(*args, **kwargs)

    net = MMFANetwork(39, 384, 4, fusion=functools.partial(instantiator, TextOnly, head_hidden=16))
    assert net.audio_encoder is None and net.text_encoder is not None


def test_l2_penalty_matches_manual_sum() -> None:
    net = MMFANetwork(39, 384, 4, l2=1e-4)
    assert net.audio_encoder is not None and net.text_encoder is not None
    gru = [net.audio_encoder.gru, net.text_encoder.gru]
    manual = 1e-4 * sum(g.weight_ih_l0.pow(2).sum() + g.weight_hh_l0.pow(2).sum() for g in gru)
    fusion = net.fusion
    assert isinstance(fusion, MMFAFusion)
    manual = manual + 1e-3 * sum(
        w.weight.pow(2).sum() for w in (fusion.w1, fusion.w2, fusion.w3, fusion.w_o)
    )
    torch.testing.assert_close(net.l2_penalty(), manual)
    only_audio = MMFANetwork(39, 384, 4, fusion=AudioOnly, l2=0.5)
    assert only_audio.audio_encoder is not None
    g = only_audio.audio_encoder.gru
    torch.testing.assert_close(
        only_audio.l2_penalty(), 0.5 * (g.weight_ih_l0.pow(2).sum() + g.weight_hh_l0.pow(2).sum())
    )


@pytest.fixture
def one_thread():
    # tiny tensors: one thread is as fast alone and far faster on a busy machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_mmfa_network_overfits_a_toy_problem() -> None:
    torch.manual_seed(0)
    n, dt = 32, 32
    labels = torch.arange(n) % 2
    la = [int(v) for v in torch.randint(4, 16, (n,))]
    lw = [int(v) for v in torch.randint(2, 6, (n,))]
    audio, am, text, tm = make_batch(dt, seed=7, la=la, lw=lw)
    sign = (labels * 2 - 1).float()[:, None, None]
    audio = audio + 0.8 * sign * am[..., None]  # class shows in both modalities, mildly
    text = text + 0.3 * sign * tm[..., None]
    net = MMFANetwork(39, dt, 2, audio_factor=0.5)  # 20 audio units: small and fast
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(net(audio, am, text, tm), labels) + net.l2_penalty()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, losses
    with torch.no_grad():
        accuracy = (net.eval()(audio, am, text, tm).argmax(-1) == labels).float().mean()
    assert accuracy > 0.9


def test_a_missing_modality_may_have_dim_zero_only_if_unused() -> None:
    net = MMFANetwork(39, 0, 4, fusion=AudioOnly)  # an audio-only corpus has no text features
    assert net.text_encoder is None
    audio, am, _, _ = make_batch(8, seed=8)
    assert net.eval()(audio, am, None, None).shape == (3, 4)
    with pytest.raises(ValueError, match="text_dim"):
        MMFANetwork(39, 0, 4, fusion=ConcatFusion)
