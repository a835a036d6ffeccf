"""Transcripts of the synthetic corpus: two templated phrases, one true to the class, one a decoy.

Used by :mod:`mmfa.synthetic.corpus`. A transcript is two short phrases said in
sequence (sometimes joined by a connective such as "but" or "and"). Each phrase carries cue words
of one class: the *true* phrase those of the utterance's class, the *decoy* phrase those of another
class drawn uniformly. Which phrase comes first is random, and the templates and connectives
do not depend on which phrase is the true one, so the words alone narrow the class
down to two candidates and cannot tell which of the two is meant. The audio says it: the true
phrase is the emphasised one (see :mod:`mmfa.synthetic.speech`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYNTHETIC_CLASSES = ("neutral", "happy", "sad", "angry")

# Cue words: three per class. A small vocabulary on purpose: with ~200 training clips the text
# encoder must learn one consistent representation per class for the fusion to read a phrase's
# class at its position (eight words per class were not learned within the demo's epochs).
_CUES = {
    "neutral": ["usual", "normal", "scheduled"],
    "happy": ["wonderful", "amazing", "fantastic"],
    "sad": ["lonely", "lost", "tired"],
    "angry": ["furious", "ridiculous", "stupid"],
}
# Phrase templates, shared by all classes and by the true and the decoy phrase: only the cue words
# tell a phrase's class. 3-4 words each, mostly cue words.
_PHRASES = ["{cue} {cue} {cue}", "so {cue} so {cue}", "{cue} and {cue}", "really {cue} {cue}"]
_CONNECTIVES = ["but", "and", "then", "yet"]
P_CONNECTIVE = 0.5


@dataclass(frozen=True)
class Phrase:
    """One phrase of a transcript."""

    words: tuple[str, ...]
    label: str  # the class of its cue words
    true: bool  # the phrase that carries the utterance's class (the emphasised one)


def _phrase(label: str, true: bool, rng: np.random.Generator) -> Phrase:
    template = str(rng.choice(_PHRASES))
    words = [str(rng.choice(_CUES[label])) if w == "{cue}" else w for w in template.split()]
    return Phrase(tuple(words), label, true)


def make_transcript(label: str, rng: np.random.Generator) -> list[Phrase]:
    """Two phrases (6-9 words in all): one with ``label``'s cue words, one a decoy, random order.

    A connective ("but", "and"...), when drawn, opens the second phrase whichever phrase it is.
    ``" ".join`` of all the phrases' words is the transcript.

    Args:
        label: one of :data:`SYNTHETIC_CLASSES`.
        rng: the utterance's generator (consumed in a fixed order: deterministic).
    """
    decoy = str(rng.choice([c for c in SYNTHETIC_CLASSES if c != label]))
    phrases = [_phrase(label, True, rng), _phrase(decoy, False, rng)]
    if rng.random() < 0.5:  # which one is said first
        phrases.reverse()
    if rng.random() < P_CONNECTIVE:
        second = phrases[1]
        words = (str(rng.choice(_CONNECTIVES)), *second.words)
        phrases[1] = Phrase(words, second.label, second.true)
    return phrases
