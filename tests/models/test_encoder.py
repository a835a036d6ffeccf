"""ModalityEncoder: masked BatchNorm + packed GRU, padding invariance, recurrent DropConnect."""

from __future__ import annotations

import torch

from mmfa.models.encoder import ModalityEncoder
from mmfa.testing.batches import pad_more, padded


def trained_encoder(input_dim: int = 39, hidden: int = 78, dropout: float = 0.3) -> ModalityEncoder:
    """An encoder whose BatchNorm running stats are not the identity any more."""
    torch.manual_seed(0)
    enc = ModalityEncoder(input_dim, hidden, recurrent_dropout=dropout)
    with torch.no_grad():
        enc(*padded([9, 4, 6, 2], input_dim, seed=10, scale=3.0))
    return enc.eval()


def test_shape_and_zero_padding() -> None:
    enc = trained_encoder()
    x, mask = padded([5, 8, 1], 39, seed=0, scale=3.0)
    out = enc(x, mask)
    assert out.shape == (3, 8, 78)
    assert torch.all(out[~mask] == 0) and torch.all(out[mask].abs().sum(-1) > 0)


def test_eval_padding_and_batch_invariance() -> None:
    enc = trained_encoder()
    x, mask = padded([5, 8, 1], 39, seed=0, scale=3.0)
    out = enc(x, mask)
    torch.testing.assert_close(enc(*pad_more(x, mask, 7))[:, :8], out, atol=1e-5, rtol=0)
    for i, n in enumerate([5, 8, 1]):  # each sample alone, unpadded
        alone = enc(x[i : i + 1, :n], mask[i : i + 1, :n])
        torch.testing.assert_close(alone[0], out[i, :n], atol=1e-5, rtol=0)


def test_train_mode_padding_invariance_without_dropout() -> None:
    # batch statistics come from real frames only, so extra padding changes nothing in training
    torch.manual_seed(0)
    enc = ModalityEncoder(39, 16, recurrent_dropout=0.0).train()
    x, mask = padded([5, 8, 2], 39, seed=1, scale=3.0)
    out = enc(x, mask)
    torch.testing.assert_close(enc(*pad_more(x, mask, 5))[:, :8], out, atol=1e-5, rtol=0)


def test_recurrent_dropout_acts_in_train_only_and_trains_weight_hh() -> None:
    enc = trained_encoder(dropout=0.3)
    x, mask = padded([6, 3], 39, seed=2, scale=3.0)
    eval_a, eval_b = enc(x, mask), enc(x, mask)
    torch.testing.assert_close(eval_a, eval_b, atol=0, rtol=0)

    enc.train()
    torch.manual_seed(1)
    train_a = enc(x, mask)
    torch.manual_seed(2)
    train_b = enc(x, mask)
    assert (train_a - train_b).abs().max() > 1e-3  # a fresh DropConnect mask per forward
    enc.recurrent_dropout = 0.0
    no_drop = enc(x, mask)
    assert (train_a - no_drop).abs().max() > 1e-3
    enc.recurrent_dropout = 0.3

    train_a.pow(2).sum().backward()
    w_hh = enc.gru.weight_hh_l0
    assert w_hh.grad is not None and w_hh.grad.abs().sum() > 0
    assert 0 < (w_hh.grad == 0).float().mean() < 0.6  # dropped entries get no gradient
    # the parameter itself is never modified by the dropout
    assert torch.all(w_hh != 0)


def test_zero_recurrent_dropout_is_deterministic_in_train() -> None:
    torch.manual_seed(0)
    enc = ModalityEncoder(10, 8, recurrent_dropout=0.0).train()
    x, mask = padded([4, 2], 10, seed=3, scale=3.0)
    torch.testing.assert_close(enc(x, mask), enc(x, mask), atol=0, rtol=0)


def test_l2_parameters_are_the_gru_weight_matrices() -> None:
    enc = ModalityEncoder(39, 78)
    params = list(enc.l2_parameters())
    assert [p.shape for p in params] == [(3 * 78, 39), (3 * 78, 78)]
    assert params[0] is enc.gru.weight_ih_l0 and params[1] is enc.gru.weight_hh_l0
