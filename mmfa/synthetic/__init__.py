"""The embedded synthetic corpus generator (wav files + transcripts, byte-identical per seed).

- :mod:`mmfa.synthetic.corpus`: writes the corpus folder and reads its manifest.
- :mod:`mmfa.synthetic.speech`: the synthesised "speech" (source-filter, emphasis, arousal).
- :mod:`mmfa.synthetic.text`: the templated transcripts (a true and a decoy phrase).

No torch, no lightning; the datamodule over it is
:class:`mmfa.datamodules.synthetic.SyntheticDataModule`. The public names are re-exported here
and imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmfa._lazy import lazy_exports

if TYPE_CHECKING:
    from mmfa.synthetic.corpus import (
        GENERATOR_VERSION,
        SYNTHETIC_CLASSES,
        read_synthetic_manifest,
        write_synthetic_corpus,
    )

_EXPORTS = {
    "GENERATOR_VERSION": "mmfa.synthetic.corpus",
    "SYNTHETIC_CLASSES": "mmfa.synthetic.corpus",
    "read_synthetic_manifest": "mmfa.synthetic.corpus",
    "write_synthetic_corpus": "mmfa.synthetic.corpus",
}
__all__ = [
    "GENERATOR_VERSION",
    "SYNTHETIC_CLASSES",
    "read_synthetic_manifest",
    "write_synthetic_corpus",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
