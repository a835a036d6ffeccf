"""Transcripts of the synthetic corpus: templated sentences whose words carry mostly *valence*.

Used by :mod:`mmfa.datamodules.synthetic_corpus`. Positive words lean happy (and some neutral),
negative words sad or angry, with anger and sadness words partly shared; neutral sentences use plain
everyday wording. About 30% of the sentences carry no class cue at all and some borrow a word from
another class, so text alone cannot be near-perfect; arousal is left to the audio.
"""

from __future__ import annotations

import numpy as np

SYNTHETIC_CLASSES = ("neutral", "happy", "sad", "angry")

_SLOTS = {
    "thing": "trip party dinner plan report weekend project movie job car house meeting".split(),
    "person": [
        "my sister",
        "my boss",
        "the neighbour",
        "the kids",
        "my friend",
        "your brother",
        "the teacher",
        "my mother",
    ],
    "time": ["today", "this morning", "last night", "on monday", "this week", "yesterday"],
    "soon": ["tomorrow", "on monday", "after lunch", "tonight", "next week", "at noon"],
    "place": ["the office", "the station", "the kitchen", "the store", "the bank", "school"],
    "task": "check send book move print finish clean call fix".split(),
}
# Cue words. "pos"/"neg" are shared inside a valence; the others belong to one class.
_CUES = {
    "pos": "good nice great lovely fine sweet".split(),
    "neg": "terrible awful bad horrible wrong upset hurt".split(),
    "neutral": "usual normal scheduled standard regular ordinary planned".split(),
    "happy": "wonderful amazing fantastic thrilled delighted excited glad brilliant".split(),
    "sad": "lonely lost tired empty hopeless heartbroken miserable sorry".split(),
    "angry": "furious ridiculous stupid unfair outrageous unacceptable annoyed sick".split(),
}
# (own list, shared list, chance of the shared one): the shared list blurs the class in a valence.
_CUE_MIX = {
    "neutral": ("neutral", "pos", 0.4),
    "happy": ("happy", "pos", 0.55),
    "sad": ("sad", "neg", 0.55),
    "angry": ("angry", "neg", 0.55),
}
# Templates are mostly shared within a valence, so the cue words, not the template, tell the class.
_POS = [
    "that was {cue}",
    "{person} said the {thing} was {cue}",
    "it is a {cue} {thing}",
    "the {thing} was {cue} {time}",
]
_NEG = [
    "that was {cue}",
    "I am {cue} about the {thing}",
    "it was {cue} and {cue} {time}",
    "the whole {thing} was {cue}",
    "{person} left and it was {cue}",
]
_TEMPLATES = {
    "neutral": [
        "I need to {task} the {thing} {soon}",
        "the {thing} is at {place} {soon}",
        "we meet at {place} {soon}",
        *_POS,
    ],
    "happy": ["I am so {cue} about the {thing}", "what a {cue} {thing} {time}", *_POS],
    "sad": ["I feel so {cue} {time}", "nobody came and I am {cue}", *_NEG],
    "angry": ["stop it this is {cue}", "{person} did it again that is {cue}", *_NEG],
}
# No class cue at all.
_GENERIC = [
    "I did not expect that at all",
    "so that is what happened {time}",
    "we talked about it again {time}",
    "can you tell me what {person} said",
    "it was the same as last time",
    "I do not know what to say",
    "I see now",
    "{person} told me about the {thing} at {place} {time}",
    "let me think about the {thing}",
    "it all happened so fast",
    "you know how it is",
]
P_GENERIC, P_BORROW = 0.3, 0.2
MAX_WORDS = 12


def make_transcript(label: str, rng: np.random.Generator) -> str:
    """A 3-12 word lower-case-ish sentence whose words lean towards ``label`` (or carry no cue).

    Args:
        label: one of :data:`SYNTHETIC_CLASSES`.
        rng: the utterance's generator (consumed in a fixed order: deterministic).
    """
    generic = rng.random() < P_GENERIC
    template = str(rng.choice(_GENERIC if generic else _TEMPLATES[label]))
    own, shared, p_shared = _CUE_MIX[label]
    while "{" in template:
        slot = template[template.index("{") + 1 : template.index("}")]
        if slot == "cue":
            words = _CUES[shared if rng.random() < p_shared else own]
        else:
            words = _SLOTS[slot]
        template = template.replace("{" + slot + "}", str(rng.choice(words)), 1)
    words = template.split()
    if rng.random() < P_BORROW and len(words) < MAX_WORDS:  # a cue word from another class
        other = str(rng.choice([c for c in SYNTHETIC_CLASSES if c != label]))
        words.insert(int(rng.integers(len(words) + 1)), str(rng.choice(_CUES[other])))
    return " ".join(words)
