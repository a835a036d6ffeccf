"""One modality's encoder: input BatchNorm, then one GRU over the valid steps (paper Sec. III.C)."""

from __future__ import annotations

from collections.abc import Iterator

import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from mmfa.layers import MaskedBatchNorm1d


class ModalityEncoder(nn.Module):
    """``MaskedBatchNorm1d -> GRU`` returning the full sequence (paper Fig. 1, Appendix A).

    The GRU runs on a packed sequence built from the mask lengths, so padding never enters the
    recurrence and padded outputs are 0. Weights start as Keras' GRU defaults (glorot-uniform input
    kernel, orthogonal recurrent kernel, zero biases); PyTorch's GRU is Keras' ``reset_after=True``
    variant (the TF2 default), with its two bias vectors.

    Recurrent dropout: Keras' ``recurrent_dropout`` (paper: 0.3) has no PyTorch equivalent
    (``nn.GRU(dropout=...)`` acts only between stacked layers, and there is one layer). In training
    this encoder applies DropConnect to the hidden-to-hidden weights ``weight_hh_l0`` instead, the
    "weight drop" of Merity et al. 2017 (AWD-LSTM), through ``torch.func.functional_call`` with a
    dropped copy of the matrix. Why: it regularises the same target as Keras (the recurrent
    connections), with one mask shared by all time steps like Keras' variational recurrent mask
    (here also shared by the samples of the batch), and it keeps the fused GRU kernel instead of a
    slow Python loop over time. No dropout in eval; ``recurrent_dropout=0`` skips it.

    Args:
        input_dim: feature size of the input frames (39 MFCC, 768/384 text).
        hidden_size: GRU units (paper eqs. (5)-(6)).
        recurrent_dropout: DropConnect probability on ``weight_hh_l0``.
    """

    def __init__(self, input_dim: int, hidden_size: int, recurrent_dropout: float = 0.3) -> None:
        super().__init__()
        if not 0.0 <= recurrent_dropout < 1.0:
            raise ValueError(f"recurrent_dropout must be in [0, 1), got {recurrent_dropout}")
        self.hidden_size = hidden_size
        self.recurrent_dropout = recurrent_dropout
        self.norm = MaskedBatchNorm1d(input_dim)
        self.gru = nn.GRU(input_dim, hidden_size, batch_first=True)
        nn.init.xavier_uniform_(self.gru.get_parameter("weight_ih_l0"))
        nn.init.orthogonal_(self.gru.get_parameter("weight_hh_l0"))
        nn.init.zeros_(self.gru.get_parameter("bias_ih_l0"))
        nn.init.zeros_(self.gru.get_parameter("bias_hh_l0"))

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Encode a padded batch.

        Args:
            x: ``(B, T, input_dim)``.
            mask: ``(B, T)`` bool, True = real step (valid steps first).

        Returns:
            ``(B, T, hidden_size)``, zeros at padded steps.
        """
        x = self.norm(x, mask)
        lengths = mask.sum(1).cpu()  # pack_padded_sequence wants lengths on the CPU
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        if self.training and self.recurrent_dropout > 0:
            w_hh: Tensor = self.gru.get_parameter("weight_hh_l0")
            w_hh = F.dropout(w_hh, self.recurrent_dropout, training=True)  # one mask for all steps
            out, _ = functional_call(self.gru, {"weight_hh_l0": w_hh}, (packed,))
        else:
            out, _ = self.gru(packed)
        seq, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return seq

    def l2_parameters(self) -> Iterator[nn.Parameter]:
        """Yield the weights Keras' ``kernel_regularizer``/``recurrent_regularizer`` penalise.

        Yields:
            ``weight_ih_l0`` and ``weight_hh_l0`` (not the biases, nor the BatchNorm).
        """
        yield self.gru.get_parameter("weight_ih_l0")
        yield self.gru.get_parameter("weight_hh_l0")
