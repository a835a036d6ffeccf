"""Fusion strategies: how the encoded audio and text become logits.

Every strategy subclasses :class:`mmfa.fusion.base.Fusion` and shares one forward signature,
``forward(audio, audio_mask, text, text_mask) -> logits (B, num_outputs)``. Built-ins:

- :class:`mmfa.fusion.mmfa.MMFAFusion`: the paper's multi-level multi-head fusion attention.
- :class:`mmfa.fusion.concat.ConcatFusion`: early-fusion baseline (pool each, concatenate).
- :class:`mmfa.fusion.late.LateFusion`: one classifier per modality, predictions averaged.
- :class:`mmfa.fusion.single.AudioOnly`, :class:`mmfa.fusion.single.TextOnly`: one modality.

They are registered in the ``mmfa.fusion`` entry-point group, like third-party plugins.
"""
