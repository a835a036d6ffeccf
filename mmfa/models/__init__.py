"""The MMFA-RNN as plain ``nn.Module`` s (paper Sec. III.B-C, Appendix A).

- :mod:`mmfa.models.layers`: fastGELU, masked BatchNorm, masked pooling, first-level
  self-attention, the classifier head.
- :mod:`mmfa.models.encoder`: one modality's BatchNorm + GRU.
- :mod:`mmfa.models.network`: the encoders + a fusion strategy (:mod:`mmfa.fusion`).
- :mod:`mmfa.models.task`: the one LightningModule that trains the network.

Every layer takes boolean masks ``(B, T)`` (True = real step) and never lets padding change a
result.
"""
