"""A tiny fake ``IEMOCAP_full_release`` tree in the real layout, for tests.

Deterministic by seed, with the quirks real copies have (irregular dialog ids, macOS ``._``
copies, cross-talk turns, a missing wav...; see ``docs/corpus_formats.md``). Beside the tree,
``<corpus>.expected.json`` records what it holds, computed from the writer's plan, not by the
reader::

    corpus = write_fake_iemocap(tmp_path)
    assert len(read_iemocap(corpus)) == fake_expected(corpus)["4class"]["mixed"]["total"]
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.testing.fakes._common import sentence, write_expected
from mmfa.testing.media import tone, write_wav

__all__ = ["write_fake_iemocap"]


# Regular dialog ids and the irregular ones (suffix letters, "_1b").
_IEMOCAP_DIALOGS = {
    1: ("Ses01F_impro01", "Ses01M_script01_1"),
    2: ("Ses02M_impro02", "Ses02F_script02_2"),
    3: ("Ses03M_impro05a", "Ses03M_impro05b", "Ses03M_impro08a", "Ses03F_script03_1"),
    4: ("Ses04F_impro04", "Ses04M_script01_2"),
    5: ("Ses05M_script01_1b", "Ses05F_impro06"),
}
_IEMOCAP_CODES = ("neu", "fru", "ang", "sad", "hap", "sur", "exc", "fea", "xxx", "oth", "dis")
# Written out here, not imported, so a mistake in the reader's maps shows up in its tests.
_IEMOCAP_MAPS = {
    "4class": {"neu": "neutral", "ang": "angry", "sad": "sad", "hap": "happy", "exc": "happy"},
    "8class": dict(
        zip(
            ("neu", "fru", "ang", "sad", "hap", "sur", "exc", "fea"),
            ("neutral", "frustrated", "angry", "sad", "happy", "surprise", "excited", "fear"),
            strict=True,
        )
    ),
}
_APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x00"


def write_fake_iemocap(root: Path, seed: int = 0, utterances_per_dialog: int = 4) -> Path:
    """Write a fake ``IEMOCAP_full_release`` under ``root``.

    Five sessions, 12 dialogs (impro and script, including ``Ses03M_impro05a``,
    ``Ses03M_impro05b``, ``Ses03M_impro08a`` and ``Ses05M_script01_1b``), F and M speakers
    alternating in every dialog, all 11 consensus codes, a 0.3-1 s 16 kHz wav per labelled
    utterance. Quirks: ``._*`` files (holding a summary-like line) in ``EmoEvaluation/`` and
    ``transcriptions/``, decoy ``.txt`` files in ``Categorical/``, ``Attribute/`` and
    ``Self-evaluation/``, one ``MXX``/``FXX`` cross-talk line per dialog, one unparsable line, a
    non-UTF-8 byte, and one labelled ``neu`` utterance whose transcript line is missing.

    ``expected.json`` holds ``utterances`` (id -> code, speaker, scenario, text or null) and per
    label set and scenario (``["4class"]["mixed"]``) ``total``, ``classes``, ``speakers`` and
    ``report`` (the counts :func:`mmfa.corpora.iemocap.read_iemocap_with_report` returns).

    Returns:
        The ``IEMOCAP_full_release`` folder.
    """
    if utterances_per_dialog < 2:
        raise ValueError("utterances_per_dialog must be >= 2 (each dialog has an F and an M turn)")
    rng = np.random.default_rng(seed)
    corpus = Path(root) / "IEMOCAP_full_release"
    total = sum(len(d) for d in _IEMOCAP_DIALOGS.values()) * utterances_per_dialog
    codes = [_IEMOCAP_CODES[i % len(_IEMOCAP_CODES)] for i in range(total)]
    rng.shuffle(codes)
    no_text = codes.index("neu")  # this utterance's transcript line is left out
    cafe = codes.index("ang")  # this utterance's transcript has a non-UTF-8 byte
    utts: dict[str, dict[str, Any]] = {}
    crosstalk = unparsed = 0
    k = 0
    for session, dialogs in _IEMOCAP_DIALOGS.items():
        base = corpus / f"Session{session}"
        emo_dir, tr_dir = base / "dialog" / "EmoEvaluation", base / "dialog" / "transcriptions"
        for sub in ("Categorical", "Attribute", "Self-evaluation"):
            (emo_dir / sub).mkdir(parents=True, exist_ok=True)
        tr_dir.mkdir(parents=True, exist_ok=True)
        for d, dialog in enumerate(dialogs):
            summaries = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"]
            turns: list[bytes] = []
            t = 2.0 + float(rng.uniform(0, 3))
            for u in range(utterances_per_dialog):
                gender = "FM"[u % 2]
                utt = f"{dialog}_{gender}{u // 2:03d}"
                seconds = float(rng.uniform(0.3, 1.0))
                start, end = t, t + seconds
                t = end + float(rng.uniform(0.1, 1.0))
                code = codes[k]
                vad = ", ".join(f"{x:.4f}" for x in rng.integers(2, 10, size=3) / 2)
                summaries.append(
                    f"[{start:.4f} - {end:.4f}]\t{utt}\t{code}\t[{vad}]\n"
                    "C-E1:\tNeutral state;\t()\nC-E2:\tNeutral state;\t()\n"
                    "A-E3:\tval 3; act 2; dom  2;\t()\n\n"
                )
                text = sentence(rng) + (" [LAUGHTER]" if u == 1 else "")
                if k == cafe:
                    text += " caf\xe9"  # written as a cp1252 byte: the file is not UTF-8
                if k != no_text:
                    line = f"{utt} [{start:08.4f}-{end:08.4f}]: {text}\n"
                    turns.append(line.encode("cp1252"))
                utts[utt] = {
                    "code": code,
                    "speaker": f"Ses0{session}{gender}",
                    "scenario": "improvised" if "impro" in dialog else "scripted",
                    "text": None if k == no_text else text,
                }
                freq = 140.0 + 80.0 * (gender == "F") + 10.0 * u
                write_wav(
                    base / "sentences" / "wav" / dialog / f"{utt}.wav",
                    tone(seconds, freq=freq, seed=seed * 1000 + k),
                )
                k += 1
            # Cross-talk turns of the other actor, unlabelled, no wav.
            other = "MXX0" if dialog[5] == "F" else "FXX0"
            turns.insert(
                1, f"{dialog}_{other} [{t:08.4f}-{t + 0.5:08.4f}]: [BREATHING] Mm.\n".encode()
            )
            crosstalk += 1
            if session == 3 and d == 0:
                turns.append(b"M: [GARBAGE] line without id or times\n")
                unparsed += 1
            (emo_dir / f"{dialog}.txt").write_text("".join(summaries), encoding="utf-8")
            (tr_dir / f"{dialog}.txt").write_bytes(b"".join(turns))
            # Decoys: a reader that looks at these would count wrong labels.
            decoy = f"[1.0000 - 2.0000]\t{dialog}_F000\tang\t[1.0000, 1.0000, 1.0000]\n"
            (emo_dir / f"._{dialog}.txt").write_bytes(_APPLE_DOUBLE + decoy.encode())
            (tr_dir / f"._{dialog}.txt").write_bytes(_APPLE_DOUBLE + b"\n" + b"x [1-2]: y\n")
            (emo_dir / "Categorical" / f"{dialog}_e1_cat.txt").write_text(decoy)
            (emo_dir / "Attribute" / f"{dialog}_e1_atr.txt").write_text(decoy)
            (emo_dir / "Self-evaluation" / f"{dialog}.txt").write_text(decoy)
    expected: dict[str, Any] = {"utterances": utts, "codes": dict(Counter(codes))}
    for label_set, code_map in _IEMOCAP_MAPS.items():
        for scenario in ("mixed", "improvised"):
            report = Counter(
                dropped_label=0,
                dropped_scenario=0,
                missing_transcript=0,
                crosstalk_lines=crosstalk,
                unparsed_lines=unparsed,
                missing_audio=0,
            )
            kept = [u for u in utts.values() if u["code"] in code_map]
            report["dropped_label"] = len(utts) - len(kept)
            if scenario == "improvised":
                report["dropped_scenario"] = sum(u["scenario"] != "improvised" for u in kept)
                kept = [u for u in kept if u["scenario"] == "improvised"]
            report["missing_transcript"] = sum(u["text"] is None for u in kept)
            kept = [u for u in kept if u["text"] is not None]
            expected.setdefault(label_set, {})[scenario] = {
                "total": len(kept),
                "classes": dict(Counter(code_map[u["code"]] for u in kept)),
                "speakers": dict(Counter(u["speaker"] for u in kept)),
                "report": dict(report),
            }
    write_expected(corpus, expected)
    return corpus
