"""The paper's Multi-Level Multi-Head Fusion Attention (MMFA), Sec. III.B, Fig. 3, eqs. (1)-(4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmfa.fusion.base import Fusion
from mmfa.layers import ClassifierHead, SelfAttention, keras_dense_init, masked_mean


def resample_linear(x: Tensor, src_mask: Tensor, dst_mask: Tensor) -> Tensor:
    """Resample per sample by linear interpolation: the re-sampling block R of eq. (4).

    Each sample's Ls valid source steps are stretched onto its Ld valid destination steps with
    align-corners positions ``s_j = j (Ls - 1) / (Ld - 1)``: the first and last steps map onto each
    other and the steps between are lerped from the two nearest source rows. Positions are
    computed in integer arithmetic, so an equal length gives back the input exactly. Padded source
    rows are never read; padded destination rows are 0. When Ld == 1 (align-corners is undefined)
    the single step gets the mean of the valid source rows, i.e. what an area resampling of the
    whole text onto one frame gives.

    Args:
        x: ``(B, Ts, D)`` source sequence (the projected text).
        src_mask: ``(B, Ts)`` bool, True = real step (valid steps first).
        dst_mask: ``(B, Td)`` bool, the destination's mask (the audio mask).

    Returns:
        ``(B, Td, D)``.
    """
    n_src = src_mask.sum(1, keepdim=True)  # (B, 1)
    n_dst = dst_mask.sum(1, keepdim=True)
    j = torch.arange(dst_mask.shape[1], device=x.device).unsqueeze(0)  # (1, Td)
    num = j * (n_src - 1)
    den = (n_dst - 1).clamp(min=1)
    last = n_src - 1
    # clamps only bite at padded destination steps (zeroed below): no out-of-range or padded read
    i0 = torch.minimum(torch.div(num, den, rounding_mode="floor"), last)
    i1 = torch.minimum(i0 + 1, last)
    frac = ((num - i0 * den).to(x.dtype) / den.to(x.dtype)).clamp(0.0, 1.0).unsqueeze(-1)
    width = x.shape[-1]
    x0 = x.gather(1, i0.unsqueeze(-1).expand(-1, -1, width))
    x1 = x.gather(1, i1.unsqueeze(-1).expand(-1, -1, width))
    out = x0 + frac * (x1 - x0)
    single = (n_dst == 1).unsqueeze(-1)  # (B, 1, 1)
    out = torch.where(single, masked_mean(x, src_mask).unsqueeze(1), out)
    return out.masked_fill(~dst_mask.unsqueeze(-1), 0.0)


class MMFAFusion(Fusion):
    """Two-level fusion attention, then GAP and the FC head (paper Sec. III.B-C, Appendix A).

    First level: :class:`~mmfa.layers.SelfAttention` per modality (eqs. (1)-(3)), giving
    A_1st ``(B, Ta, audio_dim)`` and T_1st ``(B, Tw, text_dim)``. Second level, eq. (4):
    ``head_i = softmax((A W1_i)(A W2_i)^T / sqrt(d_k)) R(T W3_i)``, heads concatenated and projected
    by W^O. Audio gives queries and keys (masked with the audio mask); the text values are resampled
    to each sample's audio length by :func:`resample_linear`. Then the masked mean over valid audio
    steps (GAP) and :class:`~mmfa.layers.ClassifierHead`.

    Where the paper is silent: the projection width ``dim`` defaults to ``text_dim``, as in
    keras-multi-head (width = the value's feature size), split over the heads, ``d_k = dim //
    heads``; the projections are linear with biases (keras-multi-head's ``use_bias=True``); the L2
    term covers the four weight matrices, not the biases.

    ``audio_path=True`` (an option beside the paper, off by default) adds a residual audio path:
    the GAP of A_1st goes through its own FC head (what :class:`~mmfa.fusion.single.AudioOnly`
    computes) and the fused head's logits are added to it through a learnt scalar gate that
    starts small (0.1, ReZero-style; not 0, so every weight gets a gradient from the first step):
    ``logits = head_a(GAP(A_1st)) + g * head(GAP(fused))``. In eq. (4)
    the audio only chooses where to look in the text and the text supplies every value, so when
    the transcript carries no emotion (fixed sentences, ASR errors) the paper's MMFA sits at
    chance. With the path the model starts close to the audio-only model and lets the fused
    branch in only as far as it helps (weight decay pulls an unhelpful gate back), so
    uninformative text cannot pull it below audio alone. (On RAVDESS, concatenating the two
    pooled vectors before one head did worse than audio alone, likely because the head's
    BatchNorm scales the near-constant fused features up to unit variance: noise for every
    hidden unit; see docs/results.md.)

    Args:
        audio_dim: encoded audio size (audio GRU units).
        text_dim: encoded text size (text GRU units).
        num_outputs: number of logits.
        heads: attention heads (paper: 2).
        dim: total projection width; None = ``text_dim``. Must be divisible by ``heads``.
        l2: Keras ``kernel_regularizer=l2(l2)`` on W1, W2, W3, W^O (paper: 1e-3): adds
            ``l2 * sum(w^2)`` to the loss, which for plain SGD equals weight decay ``2 * l2``.
        head_hidden: units per FC layer of the head (paper: 80).
        head_dropout: dropout in the head (paper: 0.3).
        audio_path: add a residual audio path with its own head (see above; default off).
    """

    def __init__(
        self,
        audio_dim: int,
        text_dim: int,
        num_outputs: int,
        heads: int = 2,
        dim: int | None = None,
        l2: float = 1e-3,
        head_hidden: int = 80,
        head_dropout: float = 0.3,
        audio_path: bool = False,
    ) -> None:
        super().__init__(audio_dim, text_dim, num_outputs)
        dim = text_dim if dim is None else dim
        if heads < 1 or dim % heads != 0:
            raise ValueError(
                f"MMFAFusion: dim={dim} must be a multiple of heads={heads} (dim "
                f"defaults to text_dim); set fusion init_args dim or heads to fix it"
            )
        self.heads, self.dim, self.l2, self.audio_path = heads, dim, l2, audio_path
        self.audio_attention = SelfAttention(audio_dim)
        self.text_attention = SelfAttention(text_dim)
        self.w1 = keras_dense_init(nn.Linear(audio_dim, dim))  # queries from audio
        self.w2 = keras_dense_init(nn.Linear(audio_dim, dim))  # keys from audio
        self.w3 = keras_dense_init(nn.Linear(text_dim, dim))  # values from text
        self.w_o = keras_dense_init(nn.Linear(dim, dim))
        self.head = ClassifierHead(dim, num_outputs, hidden=head_hidden, dropout=head_dropout)
        if audio_path:  # residual audio path: AudioOnly's head, plus the gated fused logits
            self.audio_head = ClassifierHead(
                audio_dim, num_outputs, hidden=head_hidden, dropout=head_dropout
            )
            self.fused_gate = nn.Parameter(torch.tensor(0.1))

    def _split(self, x: Tensor) -> Tensor:
        """``(B, T, dim)`` -> ``(B, heads, T, d_k)``."""
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.dim // self.heads).transpose(1, 2)

    def forward(
        self,
        audio: Tensor | None,
        audio_mask: Tensor | None,
        text: Tensor | None,
        text_mask: Tensor | None,
    ) -> Tensor:
        """Fuse ``audio (B, Ta, audio_dim)`` and ``text (B, Tw, text_dim)`` to logits ``(B, C)``."""
        audio, audio_mask = self._require("audio", audio, audio_mask)
        text, text_mask = self._require("text", text, text_mask)
        a_1st = self.audio_attention(audio, audio_mask)  # eqs. (1)-(3)
        t_1st = self.text_attention(text, text_mask)
        # paper eq. (4): R(T W3); projecting before resampling is the same (lerp weights sum to 1)
        # and cheaper, since Tw < Ta
        values = resample_linear(self.w3(t_1st), text_mask, audio_mask)
        fused = F.scaled_dot_product_attention(  # softmax(QK^T / sqrt(d_k)) V, per head
            self._split(self.w1(a_1st)),
            self._split(self.w2(a_1st)),
            self._split(values),
            attn_mask=audio_mask[:, None, None, :],
        )  # padded audio keys get no weight
        b, _, ta, _ = fused.shape
        fused = self.w_o(fused.transpose(1, 2).reshape(b, ta, self.dim))  # concat heads, W^O
        logits = self.head(masked_mean(fused, audio_mask))  # GAP over valid audio steps
        if self.audio_path:  # AudioOnly's logits + the gated fused ones (gate starts at 0.1)
            logits = self.audio_head(masked_mean(a_1st, audio_mask)) + self.fused_gate * logits
        return logits

    def l2_penalty(self) -> Tensor:
        """``l2 * sum(w^2)`` over W1, W2, W3 and W^O (Keras ``kernel_regularizer``)."""
        weights = (self.w1.weight, self.w2.weight, self.w3.weight, self.w_o.weight)
        return self.l2 * torch.stack([w.pow(2).sum() for w in weights]).sum()
