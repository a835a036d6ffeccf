"""Layers: fastGELU eq. (7), masked BatchNorm, masked pooling, self-attention eqs. (1)-(3), head."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mmfa.layers import (
    ClassifierHead,
    FastGELU,
    MaskedBatchNorm1d,
    SelfAttention,
    fast_gelu,
    masked_mean,
)
from mmfa.testing.batches import pad_more, padded


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (-1.0, 0.0),
        (0.0, 0.0),
        (0.2, 0.2 * 0.6702),
        (1.0, 1.0),
        (3.0, 3.0),
        (-0.3, -0.3 * (1 - 1.702 * 0.3) / 2),
    ],
)
def test_fast_gelu_matches_eq7(x: float, expected: float) -> None:
    assert fast_gelu(torch.tensor(x)).item() == pytest.approx(expected, abs=1e-7)


def test_fast_gelu_is_hard_sigmoid_gate_not_torch_gelu() -> None:
    x = torch.linspace(-3, 3, 61)
    assert torch.equal(FastGELU()(x), fast_gelu(x))
    assert torch.all(fast_gelu(x[x <= -1 / 1.702]) == 0)
    assert torch.equal(fast_gelu(x[x >= 1 / 1.702]), x[x >= 1 / 1.702])
    assert not torch.allclose(fast_gelu(x), nn.functional.gelu(x, approximate="tanh"), atol=1e-2)


def test_masked_mean_ignores_padding() -> None:
    x, mask = padded([3, 1, 5], 4, seed=0, pad_value=99.0)
    out = masked_mean(x, mask)
    for i, n in enumerate([3, 1, 5]):
        torch.testing.assert_close(out[i], x[i, :n].mean(0))


def test_masked_batchnorm_train_equals_batchnorm_on_valid_steps() -> None:
    torch.manual_seed(0)
    lengths = [7, 2, 5]
    x, mask = padded(lengths, 6, seed=1, pad_value=50.0)  # garbage padding must not count
    mbn, ref = MaskedBatchNorm1d(6), nn.BatchNorm1d(6, momentum=0.1, eps=1e-3)
    with torch.no_grad():
        mbn.weight.uniform_(0.5, 1.5)
        mbn.bias.uniform_(-1, 1)
    ref.load_state_dict(mbn.state_dict())
    out = mbn(x, mask)
    expected = ref(x[mask])
    torch.testing.assert_close(out[mask], expected)
    assert torch.all(out[~mask] == 0)
    torch.testing.assert_close(mbn.running_mean, ref.running_mean)
    torch.testing.assert_close(mbn.running_var, ref.running_var)
    assert mbn.num_batches_tracked.item() == 1
    # Keras defaults, in PyTorch terms
    assert mbn.momentum == 0.1 and mbn.eps == 1e-3


def test_masked_batchnorm_statistics_do_not_depend_on_padding() -> None:
    x, mask = padded([4, 6, 1], 3, seed=2)
    a, b = MaskedBatchNorm1d(3), MaskedBatchNorm1d(3)
    out_a = a(x, mask)
    out_b = b(*pad_more(x, mask, 9))
    torch.testing.assert_close(out_b[:, : x.shape[1]], out_a)
    torch.testing.assert_close(a.running_mean, b.running_mean)
    torch.testing.assert_close(a.running_var, b.running_var)
    a.eval(), b.eval()
    torch.testing.assert_close(b(*pad_more(x, mask, 4))[:, : x.shape[1]], a(x, mask))


def test_self_attention_matches_eqs_1_to_3_over_valid_steps() -> None:
    torch.manual_seed(0)
    att = SelfAttention(5)
    with torch.no_grad():
        att.bias.fill_(0.7)
    x, mask = padded([4, 2], 5, seed=3, pad_value=9.0)
    out = att(x, mask)
    for i, n in enumerate([4, 2]):
        xi = x[i, :n]
        e = xi @ att.weight @ xi.T + 0.7  # eq. (1)
        expected = e.softmax(-1) @ xi  # eqs. (2)-(3)
        torch.testing.assert_close(out[i, :n], expected)
        assert torch.all(out[i, n:] == 0)


def test_self_attention_padding_invariant() -> None:
    torch.manual_seed(0)
    att = SelfAttention(8)
    x, mask = padded([5, 3, 1], 8, seed=4)
    out = att(x, mask)
    out_more = att(*pad_more(x, mask, 6))
    torch.testing.assert_close(out_more[:, : x.shape[1]], out, atol=1e-5, rtol=0)
    assert torch.all(out_more[:, x.shape[1] :] == 0)


def test_classifier_head_structure_and_shape() -> None:
    torch.manual_seed(0)
    head = ClassifierHead(12, 4)
    kinds = [type(m) for m in head.net]
    assert kinds == [nn.Linear, FastGELU, nn.BatchNorm1d, nn.Dropout] * 2 + [nn.Linear]
    assert head.net[0].out_features == 80 and head.net[3].p == 0.3
    assert head(torch.randn(3, 12)).shape == (3, 4)
