"""How much each modality of the synthetic corpus tells about the class: audio, text, both.

The synthetic corpus is designed so that audio mostly tells arousal and text mostly valence:
neither alone should be near-perfect, together they should be clearly better. This script checks it
with cheap utterance-level features and a logistic regression, speaker-independently:

* audio: mean/std over 25 ms frames of log-energy, zero-crossing rate, spectral centroid and an
  autocorrelation pitch estimate (voiced frames), plus the voiced fraction and the duration;
* text: bag of words;
* both: the two concatenated.

It trains on spk01-spk06 and tests on spk07-spk08 (the split asked for), and also reports the mean
over the four speaker-pair folds (each pair held out once), which is less noisy. Prints a table and
writes ``benchmarks/results/synthetic_separability.json``.

    python benchmarks/synthetic_separability.py [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import wave
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from mmfa.datamodules.synthetic_corpus import read_synthetic_manifest, write_synthetic_corpus

RESULTS = Path(__file__).resolve().parent / "results" / "synthetic_separability.json"


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float) / 32768
    return x, sr


def audio_features(x: np.ndarray, sr: int) -> np.ndarray:
    win, hop = int(0.025 * sr), int(0.010 * sr)
    idx = np.arange(win)[None, :] + hop * np.arange(1 + (len(x) - win) // hop)[:, None]
    frames = x[idx] * np.hanning(win)
    log_e = np.log(np.sum(frames**2, axis=1) + 1e-10)
    voiced = log_e > log_e.max() - 5  # within ~22 dB of the loudest frame
    zcr = np.mean(np.abs(np.diff(np.sign(frames), axis=1)) > 0, axis=1)
    spec = np.abs(np.fft.rfft(frames, axis=1))
    freqs = np.fft.rfftfreq(win, 1 / sr)
    centroid = spec @ freqs / (spec.sum(axis=1) + 1e-10)
    # Crude pitch: the autocorrelation peak between 70 and 400 Hz, voiced frames only.
    v = frames[voiced]
    ac = np.fft.irfft(np.abs(np.fft.rfft(v, n=2 * win, axis=1)) ** 2, axis=1)[:, :win]
    lo, hi = int(sr / 400), int(sr / 70)
    pitch = np.log(sr / (lo + np.argmax(ac[:, lo:hi], axis=1)))
    stats = [f(a) for a in (log_e, zcr[voiced], centroid[voiced], pitch) for f in (np.mean, np.std)]
    return np.array([*stats, voiced.mean(), len(x) / sr])


def accuracy(train: np.ndarray, test: np.ndarray, feats: dict, y: np.ndarray) -> dict[str, float]:
    scaler = StandardScaler().fit(feats["audio"][train])
    audio = {
        s: csr_matrix(scaler.transform(feats["audio"][m])) for s, m in (("tr", train), ("te", test))
    }
    vec = CountVectorizer(token_pattern=r"(?u)\b\w+\b").fit(feats["text"][train])
    text = {s: vec.transform(feats["text"][m]) for s, m in (("tr", train), ("te", test))}
    both = {s: hstack([audio[s], text[s]]).tocsr() for s in ("tr", "te")}
    out = {}
    for name, x in (("audio", audio), ("text", text), ("both", both)):
        clf = LogisticRegression(max_iter=2000, C=1.0).fit(x["tr"], y[train])
        out[name] = float(np.mean(clf.predict(x["te"]) == y[test]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="corpus seed")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        utts = read_synthetic_manifest(write_synthetic_corpus(Path(tmp), seed=args.seed))
        feats = {
            "audio": np.stack([audio_features(*read_wav(Path(str(u.audio_path)))) for u in utts]),
            "text": np.array([u.text for u in utts]),
        }
    y = np.array([u.label for u in utts])
    pair = np.array([(int(u.speaker.removeprefix("spk")) - 1) // 2 for u in utts])
    split = accuracy(pair < 3, pair == 3, feats, y)
    folds = [accuracy(pair != k, pair == k, feats, y) for k in range(4)]
    mean = {m: float(np.mean([f[m] for f in folds])) for m in split}
    print("| split                      | audio | text  | both  |\n|---|---|---|---|")
    for name, acc in (("spk01-06 -> spk07-08", split), ("mean of 4 speaker-pair folds", mean)):
        print(f"| {name:26s} | " + " | ".join(f"{acc[m]:.3f}" for m in split) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "seed": args.seed,
        "chance": 0.25,
        "split_spk07_08": split,
        "fold_mean": mean,
        "folds": folds,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
