"""mmfa: multimodal (speech + transcript) emotion recognition with the MMFA-RNN of Ho et al. (2020).

Importing the package is cheap on purpose: ``mmfa --version`` and plugin listing must not pull in
torch or lightning. Heavy modules are imported where they are used.
"""

__version__ = "0.1.0"

from mmfa._lazy import lazy_exports  # noqa: E402

# ``from mmfa import EmotionRecognizer`` without importing torch when mmfa itself is imported.
__getattr__, __dir__ = lazy_exports(__name__, {"EmotionRecognizer": "mmfa.inference"})
__all__ = ["EmotionRecognizer", "__version__"]
