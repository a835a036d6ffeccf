"""Building blocks of the MMFA-RNN: activation, masked BatchNorm and pooling, attention, head.

Sequences are ``(B, T, D)`` with a boolean mask ``(B, T)`` (True = real step, valid steps first,
at least one per sample). Every layer here gives the same result for a sample whatever padding
follows its valid steps and whatever other samples share the batch (in eval mode).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Running-statistics momentum of every BatchNorm (PyTorch convention; see MaskedBatchNorm1d).
BN_MOMENTUM = 0.1


def keras_dense_init(linear: nn.Linear) -> nn.Linear:
    """Initialise a ``Linear`` like a Keras ``Dense`` (glorot-uniform kernel, zero bias).

    The paper trains with Keras defaults (Appendix B: TensorFlow 2.0); PyTorch's default
    (kaiming-uniform, a=sqrt(5)) is a different starting point.
    """
    nn.init.xavier_uniform_(linear.weight)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)
    return linear


def fast_gelu(x: Tensor) -> Tensor:
    """FastGELU exactly as printed in the paper, eq. (7): ``max(0, min(1, (1.702 x + 1) / 2)) * x``.

    Note: the gate is a *hard sigmoid* of 1.702 x (linear between x = -1/1.702 and 1/1.702,
    clipped to [0, 1] outside), not PyTorch's tanh/sigmoid approximations of GELU. It is 0 for
    x <= -1/1.702 and the identity for x >= 1/1.702.

    Args:
        x: any shape.

    Returns:
        Same shape as ``x``.
    """
    return torch.clamp((1.702 * x + 1.0) / 2.0, 0.0, 1.0) * x


class FastGELU(nn.Module):
    """Module form of :func:`fast_gelu` (paper eq. (7))."""

    def forward(self, x: Tensor) -> Tensor:
        """Apply eq. (7) element-wise; any shape."""
        return fast_gelu(x)


def full_mask(x: Tensor) -> Tensor:
    """Return an all-True mask ``(B, T)`` for an unpadded sequence ``x`` of shape ``(B, T, D)``."""
    return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Global average pooling over the valid steps only (the paper's GAP, Sec. III.C).

    Args:
        x: ``(B, T, D)``.
        mask: ``(B, T)`` bool, True = real step.

    Returns:
        ``(B, D)``: the mean of each sample's valid steps.
    """
    m = mask.to(x.dtype).unsqueeze(-1)
    # clamp only guards an all-padding row (not expected); valid samples divide by their length
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over the feature axis of ``(B, T, D)`` sequences, counting valid steps only.

    The paper puts a BatchNorm on each input (Fig. 1, Appendix A). A plain BatchNorm over a
    zero-padded batch would count the padding in its statistics, so the result would depend on how
    much padding the batch has; here the batch statistics and the running-stat updates use only the
    real steps (exactly ``nn.BatchNorm1d`` applied to the stacked valid steps ``(N, D)``, including
    PyTorch's unbiased running variance, which Keras leaves biased: a factor N/(N-1) on thousands of
    frames). Padded positions output 0.

    Momentum is PyTorch's default 0.1 (the paper does not give one). Keras' default, 0.99 (0.01 in
    PyTorch terms), makes the running statistics lag for hundreds of steps; measured on the
    synthetic corpus (10 steps an epoch), eval-mode predictions then collapsed to one class for
    the first 15 epochs while train-mode ones reached 60%. eps is Keras' 1e-3.

    Args:
        num_features: D.
        momentum: PyTorch-style running-stat momentum.
        eps: added to the variance.
    """

    def __init__(self, num_features: int, momentum: float = BN_MOMENTUM, eps: float = 1e-3) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Normalise the valid steps.

        Args:
            x: ``(B, T, D)``.
            mask: ``(B, T)`` bool, True = real step; None = all real.

        Returns:
            ``(B, T, D)``, zeros at padded steps.
        """
        if mask is None:
            mask = full_mask(x)
        valid = x[mask]  # (N, D): only real steps reach the statistics
        # same running-stat bookkeeping as nn.BatchNorm1d.forward
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch_stats = self.training or self.running_mean is None
        normed = F.batch_norm(
            valid,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )
        out = x.new_zeros(x.shape)
        out[mask] = normed
        return out


class SelfAttention(nn.Module):
    """First-level multiplicative self-attention, paper eqs. (1)-(3).

    ``e_{t,t'} = x_t^T W_a x_{t'} + b_a`` (1); ``a_t = softmax_{t'}(e_t)`` over the valid t' only
    (2); ``l_t = sum_{t'} a_{t,t'} x_{t'}`` (3). The scalar bias b_a is kept for fidelity to eq. (1)
    (and to keras-self-attention's multiplicative mode); softmax is shift-invariant, so it has no
    effect and receives zero gradient.

    Args:
        dim: feature size D of the input (and output).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim, dim))  # W_a
        self.bias = nn.Parameter(torch.zeros(()))  # b_a
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Attend every step to the valid steps of its own sequence.

        Args:
            x: ``(B, T, D)``.
            mask: ``(B, T)`` bool, True = real step.

        Returns:
            ``(B, T, D)`` context vectors l_t; zeros at padded steps.
        """
        scores = (x @ self.weight) @ x.transpose(1, 2) + self.bias  # (B, T, T), eq. (1)
        # padded keys get -inf so they receive exactly zero weight, eq. (2) over valid t' only
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        attn = scores.softmax(dim=-1)
        out = attn @ x  # eq. (3)
        return out.masked_fill(~mask.unsqueeze(-1), 0.0)


class ClassifierHead(nn.Module):
    """The paper's FC stack (Appendix A), returning logits.

    "Each FC layer contains 80 perceptive units followed by a batch normalization layer and a
    dropout layer of 0.3. The activation is fastGELU": ``num_layers`` x ``Linear -> FastGELU ->
    BatchNorm1d -> Dropout``, then ``Linear(hidden, num_outputs)``. Softmax lives in the loss.
    BatchNorm uses Keras' eps 1e-3 and PyTorch's momentum 0.1 (:data:`BN_MOMENTUM`; see
    :class:`MaskedBatchNorm1d` for why not Keras' 0.99).

    Args:
        in_dim: input feature size.
        num_outputs: number of logits.
        hidden: units per FC layer (paper: 80).
        num_layers: number of FC layers before the output layer (paper: 2).
        dropout: dropout after each FC layer (paper: 0.3).
    """

    def __init__(
        self,
        in_dim: int,
        num_outputs: int,
        hidden: int = 80,
        num_layers: int = 2,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for _ in range(num_layers):
            layers += [
                keras_dense_init(nn.Linear(width, hidden)),
                FastGELU(),
                nn.BatchNorm1d(hidden, momentum=BN_MOMENTUM, eps=1e-3),
                nn.Dropout(dropout),
            ]
            width = hidden
        layers.append(keras_dense_init(nn.Linear(width, num_outputs)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Map pooled features ``(B, in_dim)`` to logits ``(B, num_outputs)``."""
        return self.net(x)


class AttentionPool(nn.Module):
    """First-level self-attention then GAP: one modality's sequence to one vector.

    The single-modality and baseline fusions use this where MMFA has its second level.

    Args:
        dim: feature size D.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.attention = SelfAttention(dim)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Pool ``(B, T, D)`` with mask ``(B, T)`` to ``(B, D)`` (eqs. (1)-(3), then GAP)."""
        return masked_mean(self.attention(x, mask), mask)
