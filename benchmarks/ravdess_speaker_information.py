"""What knowing the speaker is worth: the classical model under five test-time standardisations.

Per-speaker standardisation (``data.speaker_norm``) is worth about 8 UA points on RAVDESS. At
prediction time the speaker is often unknown. This benchmark asks, with the fastest model there is
(ComParE 2016 functionals + logistic regression, the same for every row), how much of those
points each way of standardising a new speaker's clips recovers, on the 6 actor-independent
test pairs of ``configs/ravdess_8class.yaml`` (training on the other 10 actors):

- ``speaker``: each test actor with its own statistics (a speaker manifest, --speaker_from_folder);
- ``training statistics``: the pooled statistics of the training actors (what mmfa does for a
  clip without a speaker: the same answer alone or among others);
- ``predicted gender``: the training statistics of the gender a classifier predicts for the clip
  (clip by clip, like the row above);
- ``the input set``: the two test actors' clips standardised together (a folder predicted at
  once, its answer depending on what else is in it);
- ``clustered speakers``: the input set split into clusters on a speaker projection (LDA over
  the training actors; Ward linkage, the number of clusters chosen by silhouette), each cluster
  standardised alone; ``clustered, told the number``: as many clusters as there are test actors.

Two settings: ``pairs`` (the config's 6 test pairs, training on the other 10 actors) and
``halves`` (training on 6 actors, predicting the other 6 together; 4 splits).

The classifier is trained on per-speaker standardised clips, on training-statistics standardised
clips, or on both (what ``unknown_speakers.yaml`` does for the network), C fixed at 0.01::

    python benchmarks/ravdess_speaker_information.py [--data DIR]

Writes ``benchmarks/results/ravdess_speaker_information.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from common import parser, relative, shared_data, skip_without, write_result

TEST_SETS = {
    "pairs": [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12)],
    "halves": [
        (7, 8, 9, 10, 11, 12),
        (1, 2, 3, 4, 5, 6),
        (2, 4, 6, 7, 9, 11),
        (1, 3, 5, 8, 10, 12),
    ],
}


def standardised(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each group's rows with that group's mean and std."""
    out = np.empty_like(x)
    for group in np.unique(groups):
        rows = groups == group
        out[rows] = (x[rows] - x[rows].mean(0)) / (x[rows].std(0) + 1e-8)
    return out


def compare_ways(
    x: np.ndarray, speaker: np.ndarray, label: np.ndarray, test_sets: list[tuple[int, ...]]
) -> dict[str, object]:
    """Test UA of every (training, test-time standardisation) pair, averaged over ``test_sets``."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import adjusted_rand_score, balanced_accuracy_score, silhouette_score

    male = speaker % 2  # RAVDESS: odd actors are men
    scores: dict[str, dict[str, list[float]]] = {}
    chosen_k, cluster_ari, gender_accuracy = [], [], []
    for actors in test_sets:
        test = np.isin(speaker, actors)
        train = ~test
        mean, std = x[train].mean(0), x[train].std(0) + 1e-8
        by_speaker = standardised(x[train], speaker[train])
        by_training = (x[train] - mean) / std
        projected = PCA(n_components=50).fit(by_training)
        lda = LinearDiscriminantAnalysis().fit(projected.transform(by_training), speaker[train])
        voice = lda.transform(projected.transform((x[test] - mean) / std))
        candidates = {
            k: AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(voice)
            for k in range(2, max(3, int(test.sum()) // 10 + 1))
        }
        best = max(candidates, key=lambda k: silhouette_score(voice, candidates[k]))
        chosen_k.append(best)
        cluster_ari.append(adjusted_rand_score(speaker[test], candidates[best]))
        told = AgglomerativeClustering(n_clusters=len(actors), linkage="ward").fit_predict(voice)
        gender = LogisticRegression(C=0.01, max_iter=3000).fit(by_training, male[train])
        guessed = gender.predict((x[test] - mean) / std)
        gender_accuracy.append(float((guessed == male[test]).mean()))
        per_gender = {
            g: (x[train & (male == g)].mean(0), x[train & (male == g)].std(0) + 1e-8)
            for g in (0, 1)
        }
        ways = {
            "speaker": standardised(x[test], speaker[test]),
            "training statistics": (x[test] - mean) / std,
            "predicted gender": np.stack(
                [
                    (row - per_gender[g][0]) / per_gender[g][1]
                    for row, g in zip(x[test], guessed, strict=True)
                ]
            ),
            "the input set": standardised(x[test], np.zeros(int(test.sum()))),
            "clustered speakers": standardised(x[test], candidates[best]),
            "clustered, told the number": standardised(x[test], told),
        }
        trainings = {
            "per speaker": (by_speaker, label[train]),
            "training statistics": (by_training, label[train]),
            "both": (np.vstack([by_speaker, by_training]), np.r_[label[train], label[train]]),
        }
        for trained, (inputs, target) in trainings.items():
            model = LogisticRegression(C=0.01, max_iter=3000).fit(inputs, target)
            for way, features in ways.items():
                ua = balanced_accuracy_score(label[test], model.predict(features))
                scores.setdefault(trained, {}).setdefault(way, []).append(100 * ua)
    return {
        "test_sets": [list(a) for a in test_sets],
        "test_UA": {
            t: {w: round(float(np.mean(v)), 2) for w, v in ws.items()} for t, ws in scores.items()
        },
        "per_test_set": {
            t: {w: [round(v, 2) for v in vs] for w, vs in ws.items()} for t, ws in scores.items()
        },
        "clusters_chosen": chosen_k,
        "clustering_adjusted_rand_index": round(float(np.mean(cluster_ari)), 3),
        "gender_accuracy": round(float(np.mean(gender_accuracy)), 3),
    }


def main() -> int:
    cli = parser(__doc__, "ravdess_speaker_information.json")
    cli.add_argument("--data", type=Path, default=shared_data("ravdess"), help="RAVDESS folder")
    cli.add_argument("--cache", type=Path, default=Path("runs/cache"), help="feature store")
    opts = cli.parse_args()
    if skip_without(
        sorted(opts.data.glob("Actor_*")), "RAVDESS Actor_XX folders", opts.data, "--data"
    ):
        return 0
    from mmfa.corpora.ravdess import read_ravdess
    from mmfa.features.functionals import FunctionalsExtractor, utterance_functionals

    started = time.perf_counter()
    utterances = [u for u in read_ravdess(opts.data) if int(u.speaker[-2:]) <= 12]
    refs, x, _ = utterance_functionals(utterances, FunctionalsExtractor("compare"), opts.cache)
    used = [utterances[r.index] for r in refs]
    speaker = np.array([int(u.speaker[-2:]) for u in used])
    label = np.array([int(u.label) for u in used])
    results = {}
    for setting, test_sets in TEST_SETS.items():
        results[setting] = compare_ways(
            np.nan_to_num(x.astype(np.float64)), speaker, label, test_sets
        )
        for trained, row in results[setting]["test_UA"].items():
            print(
                f"{setting}, trained on {trained}: "
                + ", ".join(f"{w} {v:.1f}" for w, v in row.items())
            )
    write_result(
        opts.out,
        {
            "what": "test UA (mean over the test sets), ComParE 2016 + logistic regression",
            "data": relative(opts.data),
            "settings": results,
            "wall_s": round(time.perf_counter() - started, 1),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
