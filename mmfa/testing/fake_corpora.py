"""Tiny fake IEMOCAP, MELD and CMU-MOSEI trees in the real on-disk layout, for tests.

Each writer builds a corpus folder with the quirks real copies have (see FORMATS.md), deterministic
by seed, in about a second, and writes beside it ``<corpus>.expected.json``: what the tree holds,
computed from the plan the writer followed, not by any mmfa reader. Tests (ours and plugins') run
the real reader on the tree and compare with :func:`fake_expected`::

    corpus = write_fake_iemocap(tmp_path)
    assert len(read_iemocap(corpus)) == fake_expected(corpus)["4class"]["mixed"]["total"]
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mmfa.testing.media import tone, write_mp4, write_wav

__all__ = ["fake_expected", "write_fake_iemocap", "write_fake_meld", "write_fake_mosei"]

_WORDS = ("well", "I", "really", "think", "so", "maybe", "no", "yes", "okay", "you", "know", "it")


def fake_expected(corpus: Path) -> dict[str, Any]:
    """Read what a fake corpus holds: the ``<corpus>.expected.json`` written beside it."""
    corpus = Path(corpus)
    return json.loads((corpus.parent / f"{corpus.name}.expected.json").read_text(encoding="utf-8"))


def _write_expected(corpus: Path, expected: dict[str, Any]) -> None:
    path = corpus.parent / f"{corpus.name}.expected.json"
    path.write_text(json.dumps(expected, indent=1, sort_keys=True), encoding="utf-8")


def _sentence(rng: np.random.Generator, n: int = 4) -> str:
    return " ".join(str(w) for w in rng.choice(_WORDS, size=n))


# --- IEMOCAP -----------------------------------------------------------------------------------

# FORMATS.md: regular dialog ids and the irregular ones (suffix letters, "_1b").
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
    ``report`` (the counts :func:`mmfa.datamodules.iemocap.read_iemocap_with_report` returns).

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
                text = _sentence(rng) + (" [LAUGHTER]" if u == 1 else "")
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
            # FORMATS.md: cross-talk turns of the other actor, unlabelled, no wav.
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
    _write_expected(corpus, expected)
    return corpus


# --- MELD --------------------------------------------------------------------------------------

_MELD_HEADER = [
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
]
_MELD_EMOTIONS = ("neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust")
_MELD_SENTIMENT_OF = {
    "neutral": "neutral",
    "joy": "positive",
    "surprise": "positive",
    "sadness": "negative",
    "anger": "negative",
    "fear": "negative",
    "disgust": "negative",
}
_MELD_SPEAKERS = ("Chandler", "Monica", "Rachel", "The Interviewer", "Joey")
# (csv, clip folder, dialogue ids): dialogue 125 and 110 hold the real release's broken clips;
# train dialogue 60 does not exist in the real CSVs either. First utterance ids leave gaps.
_MELD_SPLITS = {
    "train": ("train_sent_emo.csv", "train_splits", ((0, 0), (1, 0), (125, 0))),
    "val": ("dev_sent_emo.csv", "dev_splits_complete", ((0, 0), (110, 5))),
    "test": ("test_sent_emo.csv", "output_repeated_splits_test", ((0, 0), (3, 2))),
}
# FORMATS.md: what cp1252 bytes became in the 2019 CSVs (U+0092 for ’ ...), and a no-break space.
_DAMAGE = "’…—“”–‘\xa0"


def _meld_time(ms: int, style: int) -> tuple[str, float]:
    """Format ``ms`` milliseconds in a MELD time style; also return the seconds it means."""
    h, m, s, frac = ms // 3_600_000, ms // 60_000 % 60, ms // 1000 % 60, ms % 1000
    if style == 1:  # FORMATS.md: 1-digit hours occur
        return f"{h}:{m:02d}:{s:02d},{frac:03d}", ms / 1000
    if style == 2:  # FORMATS.md: 2-digit ms occur, read as an integer count of ms
        return f"{h:02d}:{m:02d}:{s:02d},{frac % 100}", (ms - frac + frac % 100) / 1000
    return f"{h:02d}:{m:02d}:{s:02d},{frac:03d}", ms / 1000


def write_fake_meld(
    root: Path,
    seed: int = 0,
    rows_per_split: tuple[int, int, int] = (12, 6, 6),
    cp1252_damage: bool = True,
) -> Path:
    """Write a fake ``MELD.Raw`` under ``root``.

    The three CSVs with the real header (``test_sent_emo.csv`` one level down, inside
    ``output_repeated_splits_test/``, as when taken from the split tarballs), 2019-style C1
    damage and no-break spaces in some texts (``cp1252_damage``), a repeated ``Sr No.``,
    1-digit-hour and 2-digit-ms times, a 0.4-0.8 s mp4 clip per row (some stereo), a corrupt clip
    (``train_splits/dia125_utt3.mp4``, garbage bytes), a missing one (``dev_splits_complete/
    dia110_utt7.mp4``) and a ``final_videos_test...`` twin.

    ``expected.json`` holds ``rows`` and ``emotions`` per split, ``utterances`` (id -> text,
    speaker, emotion, sentiment, start, end), ``missing_clip``, ``corrupt_clip``,
    ``repaired_chars`` and ``twin``.

    Returns:
        The ``MELD.Raw`` folder.
    """
    rng = np.random.default_rng(seed)
    corpus = Path(root) / "MELD.Raw"
    expected: dict[str, Any] = {
        "rows": {},
        "emotions": {},
        "utterances": {},
        "missing_clip": [],
        "corrupt_clip": [],
        "repaired_chars": 0,
    }
    sr_no = 0
    for (split, (csv_name, folder, dialogues)), n in zip(
        _MELD_SPLITS.items(), rows_per_split, strict=True
    ):
        clips = corpus / folder
        clips.mkdir(parents=True, exist_ok=True)
        csv_path = clips / csv_name if split == "test" else corpus / csv_name
        per = [n // len(dialogues) + (i < n % len(dialogues)) for i in range(len(dialogues))]
        rows: list[list[Any]] = []
        emotions: Counter[str] = Counter()
        t = 600_000 + int(rng.integers(100_000))  # ms into the episode
        for (dia, first), count in zip(dialogues, per, strict=True):
            for utt in range(first, first + count):
                i = len(rows)
                emotion = _MELD_EMOTIONS[int(rng.integers(len(_MELD_EMOTIONS)))]
                clean = _sentence(rng)
                if i % 3 == 0:  # typographic characters, damaged or not below
                    clean = f"{clean}{_DAMAGE[i % len(_DAMAGE)]} it’s"
                written = clean
                if cp1252_damage:
                    written = "".join(
                        chr(c.encode("cp1252")[0]) if c in _DAMAGE[:-1] else c for c in clean
                    )
                    expected["repaired_chars"] += sum(c in _DAMAGE[:-1] for c in clean)
                clean = clean.replace("\xa0", " ")  # the reader writes no-break spaces as spaces
                start_ms = t
                end_ms = t + int(rng.integers(1000, 3000))
                t = end_ms + 200
                start, start_s = _meld_time(start_ms, i % 3)
                end, end_s = _meld_time(end_ms, 0)
                sr_no += i != 5  # FORMATS.md: Sr No. is not unique
                speaker = _MELD_SPEAKERS[i % len(_MELD_SPEAKERS)]
                sentiment = _MELD_SENTIMENT_OF[emotion]
                rows.append(
                    [sr_no, written, speaker, emotion, sentiment, dia, utt, 8, 21, start, end]
                )
                emotions[emotion] += 1
                utt_id = f"{split}_dia{dia}_utt{utt}"
                expected["utterances"][utt_id] = {
                    "text": clean,
                    "speaker": speaker,
                    "emotion": emotion,
                    "sentiment": sentiment,
                    "start": start_s,
                    "end": end_s,
                }
                clip = clips / f"dia{dia}_utt{utt}.mp4"
                if (split, dia, utt) == ("val", 110, 7):
                    expected["missing_clip"].append(utt_id)
                elif (split, dia, utt) == ("train", 125, 3):
                    clip.write_bytes(rng.bytes(2048))
                    expected["corrupt_clip"].append(utt_id)
                else:
                    signal = tone(float(rng.uniform(0.4, 0.8)), freq=150.0 + 10 * i, seed=i)
                    write_mp4(clip, signal, channels=1 + (i % 4 == 1))
        with csv_path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(_MELD_HEADER)
            writer.writerows(rows)
        expected["rows"][split] = len(rows)
        expected["emotions"][split] = dict(emotions)
    test_clips = corpus / "output_repeated_splits_test"
    twin_of = next(iter(sorted(test_clips.glob("dia*.mp4"))), None)
    if twin_of is not None:  # FORMATS.md: ~130 final_videos_test* twins
        shutil.copyfile(twin_of, test_clips / f"final_videos_test{twin_of.name}")
        expected["twin"] = f"final_videos_test{twin_of.name}"
    _write_expected(corpus, expected)
    return corpus


# --- CMU-MOSEI ---------------------------------------------------------------------------------

_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ID_LAST = "AEIMQUYcgkosw048"  # a YouTube id never ends in '_' or '-'


def _video_id(rng: np.random.Generator, k: int) -> str:
    chars = [str(c) for c in rng.choice(list(_ID_CHARS), size=10)] + [
        str(rng.choice(list(_ID_LAST)))
    ]
    if k == 0:
        chars[4] = "_"  # an underscore inside the id, beside the "___" separators
    if k == 1:
        chars[0] = "-"
    return "".join(chars)


def _mosei_emotions(rng: np.random.Generator, video: int, row: int) -> list[float]:
    if (video, row) == (0, 0):
        return [0.0] * 6  # no emotion at all
    if (video, row) == (0, 1):
        return [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # tie sad/anger -> sad
    if (video, row) == (1, 0):
        return [2.0 / 3, 0.0, 0.0, 0.0, 0.0, 2.0 / 3]  # tie happy/fear -> happy
    values = rng.integers(1, 10, size=6) / 3 * (rng.random(6) < 0.4)
    values[int(rng.integers(6))] = float(rng.integers(1, 10)) / 3
    return [float(v) for v in values]


def write_fake_mosei(
    root: Path,
    seed: int = 0,
    videos: tuple[int, int, int] = (6, 2, 2),
    folds: Literal["json", "table"] = "json",
) -> Path:
    """Write a fake CMU-MOSEI raw release under ``root``.

    ``CMU_MOSEI_Labels.csd`` (HDF5: root ``All Labels``, ``data/<video>/features`` (N, 7) and
    ``intervals`` (N, 2), ``metadata`` JSON strings), a whole-video 16 kHz wav per video,
    ``Combined`` transcripts (one extra unlabelled segment per video, label rows not in time
    order, ``___`` inside a text, an underscore inside a video id), one negative start time, an
    all-zero emotion row, emotion ties, 1-2 s segments, ``videos`` train/valid/test videos plus
    one video in no standard fold. ``folds``: write ``folds.json`` or the segment table
    ``CMU_MOSEI_Labels.csv``.

    ``expected.json`` holds ``videos`` (id -> split or null), ``order`` (the ids as written, the
    first two with the ties and the all-zero row) and ``segments`` (id -> split,
    start (clamped), end, text, emotion6 (null when all zero), multilabel, sentiment).

    Returns:
        The corpus folder ``root/CMU_MOSEI``.
    """
    import h5py

    rng = np.random.default_rng(seed)
    corpus = Path(root) / "CMU_MOSEI"
    wav_dir = corpus / "Raw" / "Audio" / "Full" / "WAV_16000"
    tr_dir = corpus / "Raw" / "Transcript" / "Segmented" / "Combined"
    tr_dir.mkdir(parents=True, exist_ok=True)
    splits = ["train"] * videos[0] + ["val"] * videos[1] + ["test"] * videos[2] + [None]
    expected: dict[str, Any] = {"videos": {}, "order": [], "segments": {}}
    table: list[list[Any]] = []
    with h5py.File(corpus / "CMU_MOSEI_Labels.csd", "w") as f:
        top = f.create_group("All Labels")
        meta = top.create_group("metadata")
        for key, value in {
            "root name": "All Labels",
            "dimension names": json.dumps(
                ["sentiment", "happy", "sad", "anger", "surprise", "disgust", "fear"]
            ),
            "computational sequence version": "1.0",
        }.items():
            meta.create_dataset(key, data=value, dtype=h5py.string_dtype())
        data = top.create_group("data")
        for v, split in enumerate(splits):
            video = _video_id(rng, v)
            expected["videos"][video] = split
            expected["order"].append(video)
            t = -0.2 if v == 0 else float(rng.uniform(0.2, 1.0))  # FORMATS.md: negative starts
            times = []
            for _ in range(4):
                seconds = float(rng.uniform(1.0, 2.0))
                times.append((round(t, 3), round(t + seconds, 3)))
                t += seconds + float(rng.uniform(0.2, 0.6))
            texts = [_sentence(rng) for _ in times]
            texts[1] += " ___ my_view"  # FORMATS.md: texts can contain underscores
            lines = [
                f"{video}___{k}___{s}___{e}___{x}\n"
                for k, ((s, e), x) in enumerate(zip(times, texts, strict=True))
            ]
            (tr_dir / f"{video}.txt").write_text("".join(lines), encoding="utf-8")
            write_wav(wav_dir / f"{video}.wav", tone(t + 0.5, freq=120.0 + 15 * v, seed=v))
            # Labels cover 3 of the 4 transcript segments, in reverse time order.
            labelled = [2, 1, 0]
            feats = []
            for row, seg in enumerate(labelled):
                emotions = _mosei_emotions(rng, v, row)
                sentiment = float(rng.integers(-9, 10)) / 3
                feats.append([sentiment, *emotions])
                vec = np.asarray(feats[-1], dtype=np.float32)
                start, end = times[seg]
                expected["segments"][f"{video}_{row}"] = {
                    "split": split,
                    "start": max(start, 0.0),
                    "end": end,
                    "text": texts[seg],
                    "emotion6": int(np.argmax(vec[1:])) if vec[1:].any() else None,
                    "multilabel": [float(x > 0) for x in vec[1:]],
                    "sentiment": float(vec[0]),
                }
                label7 = int(np.clip(np.round(sentiment), -3, 3))
                fold = {"train": 0, "val": 1, "test": 2, None: 3}[split]
                label6 = int(np.argmax(vec[1:]))  # all-zero rows too: the table keeps them
                label2 = [int(label7 >= 0), int(np.sign(label7))]
                table.append([len(table), video, row, start, end, *label2, label6, label7, fold])
            group = data.create_group(video)
            group.create_dataset("features", data=np.asarray(feats, dtype=np.float32))
            group.create_dataset("intervals", data=np.asarray([times[s] for s in labelled]))
    if folds == "json":
        names = {"train": "train", "val": "valid", "test": "test"}
        fold_lists = {
            names[s]: [vid for vid, sp in expected["videos"].items() if sp == s] for s in names
        }
        (corpus / "folds.json").write_text(json.dumps(fold_lists, indent=1), encoding="utf-8")
    else:
        with (corpus / "CMU_MOSEI_Labels.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            # The real table's header (FORMATS.md), unnamed row-number column first.
            writer.writerow(",file,index,start,end,label2a,label2b,label6,label7,split".split(","))
            writer.writerows(table)
    _write_expected(corpus, expected)
    return corpus
