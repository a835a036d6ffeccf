"""Transcripts of the synthetic corpus: two templated phrases, one true to the class, one a decoy.

Used by :mod:`mmfa.datamodules.synthetic_corpus`. A transcript is two short phrases said in
sequence (sometimes joined by a connective such as "but" or "and"). Each phrase carries cue words
of one class: the *true* phrase those of the utterance's class, the *decoy* phrase those of another
class drawn uniformly. Which phrase comes first is random, and the templates, fillers and
connectives do not depend on which phrase is the true one, so the words alone narrow the class
down to two candidates and cannot tell which of the two is meant. The audio says it: the true
phrase is the emphasised one (see :mod:`mmfa.datamodules.synthetic_speech`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYNTHETIC_CLASSES = ("neutral", "happy", "sad", "angry")

_SLOTS = {
    "thing": "trip party dinner plan report weekend project movie job car house meeting".split(),
    "person": "Anna Tom Maria Paul Lucy Mark Sara Ben".split(),
    "time": "today tonight yesterday again lately".split(),
    "filler": "really so quite just truly".split(),
}
# Cue words: each list belongs to one class.
_CUES = {
    "neutral": "usual normal scheduled standard regular ordinary planned routine".split(),
    "happy": "wonderful amazing fantastic thrilled delighted excited glad brilliant".split(),
    "sad": "lonely lost tired empty hopeless heartbroken miserable gloomy".split(),
    "angry": "furious ridiculous stupid unfair outrageous unacceptable annoyed disgusting".split(),
}
# Phrase templates, shared by all classes and by the true and the decoy phrase: only the cue words
# tell a phrase's class. The cue comes early, so a left-to-right encoder has read it soon after the
# phrase starts. 3-4 words each.
_PHRASES = [
    "{cue} {cue} {time}",
    "{filler} {cue} and {cue}",
    "{cue} {thing} {cue}",
    "the {cue} {thing} {time}",
    "{person} felt {cue} {time}",
    "{cue} {filler} {cue} {thing}",
    "a {cue} {cue} {thing}",
    "{cue} {person} {filler} {cue}",
]
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
    while "{" in template:
        slot = template[template.index("{") + 1 : template.index("}")]
        words = _CUES[label] if slot == "cue" else _SLOTS[slot]
        template = template.replace("{" + slot + "}", str(rng.choice(words)), 1)
    return Phrase(tuple(template.split()), label, true)


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
