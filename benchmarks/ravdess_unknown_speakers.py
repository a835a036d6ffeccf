"""Prediction on speakers nobody named: a speaker-normalised model's test actors, four ways.

A model trained with per-speaker normalisation (``data.speaker_norm: true``, the practical
recipe) standardises each speaker's features with that speaker's statistics. On a user's plain
files the speaker is unknown. For every fold of a finished ``mmfa cv`` run on RAVDESS this
predicts the fold's test actors (never seen in training or selection) with the fold's checkpoint:

- ``speaker manifest``: each clip's actor given (``--speaker_from_folder``, the same statistics
  the cv test used);
- ``plain folder``: no speaker (``mmfa predict --input Actor_XX ...``): the training set's
  statistics, saved in the checkpoint;
- ``single files``: ``EmotionRecognizer.predict(path)`` one clip at a time (must equal the
  plain folder: nothing depends on what else is predicted);
- ``N utterances per speaker`` (N = 8, 4, 2, 1): a manifest that names each speaker on only N
  clips (each actor's clips split into groups of N, each group its own speaker): what a user's
  manifest of a few recordings per speaker gets. With N = 1, each clip is its own speaker (what
  mmfa did for plain files before the training statistics existed). ``data.speaker_norm_prior``
  is for these rows.

``--speaker_norm_prior K`` predicts with ``K`` instead of what each checkpoint recorded (to
measure the prior on models trained without it).

    mmfa cv --config configs/ravdess_8class.yaml --config configs/recipe/practical.yaml \\
        --data.root DIR --model.fusion=AudioOnly --out runs/cv/ravdess_practical_audio
    python benchmarks/ravdess_unknown_speakers.py --run runs/cv/ravdess_practical_audio --data DIR

Writes ``benchmarks/results/ravdess_unknown_speakers.json``: test UA per way, pooled over the
folds' test clips and as the mean over folds.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import parser, ravdess_actors, relative, shared_data, skip_without, write_result


def unweighted_accuracy(target: list[int], predicted: list[int], classes: int) -> float:
    """Mean recall over the classes present (the report's UA)."""
    from sklearn.metrics import balanced_accuracy_score

    del classes
    return float(balanced_accuracy_score(target, predicted))


def fold_test_ids(fold: Path) -> list[str]:
    """The fold's test clip ids, as its predictions.csv lists them."""
    with (fold / "predictions.csv").open(newline="") as handle:
        return [row["id"] for row in csv.DictReader(handle)]


def grouped(utterances: list, size: int) -> list:
    """Each actor's utterances split into groups of ``size`` (in a fixed shuffled order), each
    group named as a speaker of its own."""
    rng = np.random.default_rng(0)
    out = []
    by_actor: dict[str, list] = {}
    for utt in utterances:
        by_actor.setdefault(Path(utt.audio_path).parent.name, []).append(utt)
    for actor, utts in sorted(by_actor.items()):
        for position, i in enumerate(rng.permutation(len(utts))):
            out.append(replace(utts[i], speaker=f"{actor}-{position // size}"))
    return out


def main() -> int:
    cli = parser(__doc__, "ravdess_unknown_speakers.json")
    cli.add_argument("--run", type=Path, required=True, help="a finished mmfa cv run folder")
    cli.add_argument("--data", type=Path, default=shared_data("ravdess"), help="RAVDESS folder")
    cli.add_argument(
        "--speaker_norm_prior",
        type=float,
        default=None,
        help="predict with this data.speaker_norm_prior instead of the checkpoint's",
    )
    opts = cli.parse_args()
    actors = {a.name: a for a in ravdess_actors(opts.data)}
    if skip_without(list(actors), "RAVDESS Actor_XX folders", opts.data, "--data"):
        return 0

    from mmfa import EmotionRecognizer
    from mmfa.corpora.ravdess import RAVDESS_CLASSES
    from mmfa.datamodules.inputs import read_inputs

    sizes = (8, 4, 2, 1)
    ways = ("speaker manifest", "plain folder", "single files") + tuple(
        f"{n} utterances per speaker" for n in sizes
    )
    pooled: dict[str, tuple[list[int], list[int]]] = {w: ([], []) for w in ways}
    per_fold: dict[str, dict[str, float]] = {}
    largest_gap = 0.0
    for fold in sorted(p for p in (opts.run / "folds").iterdir() if p.is_dir()):
        ckpt = next(fold.rglob("best.ckpt"), None)
        if ckpt is None or not (fold / "predictions.csv").is_file():
            continue
        wanted = set(fold_test_ids(fold))
        folders = sorted({f"Actor_{i.split('-')[-1].split('.')[0]}" for i in wanted})
        recognizer = EmotionRecognizer.from_checkpoint(ckpt)
        if opts.speaker_norm_prior is not None:
            for name in ("preparation", "functionals_preparation"):
                prepared = getattr(recognizer, name)
                if prepared is not None:
                    prepared.speaker_norm_prior = opts.speaker_norm_prior
        runs = {}
        for way, kwargs in (
            ("speaker manifest", {"speaker_from_folder": True}),
            ("plain folder", {}),
        ):
            inputs = read_inputs([actors[name] for name in folders], **kwargs)
            runs[way] = recognizer.predict_utterances(inputs.utterances, progress=False)
        inputs = read_inputs([actors[name] for name in folders])
        for n in sizes:
            runs[f"{n} utterances per speaker"] = recognizer.predict_utterances(
                grouped(inputs.utterances, n), progress=False
            )
        folder_scores = {p.id: p.scores for p in runs["plain folder"].predictions}
        single = []
        for utt in inputs.utterances:
            one = recognizer.predict(utt.audio_path)
            single.append(one)
            gap = max(abs(v - folder_scores[utt.id][k]) for k, v in one.scores.items())
            largest_gap = max(largest_gap, gap)
        per_fold[fold.name] = {}
        for way in ways:
            preds = (
                runs[way].predictions
                if way != "single files"
                else [replace(p, id=u.id) for p, u in zip(single, inputs.utterances, strict=True)]
            )
            target = [int(Path(p.id).name.split("-")[2]) - 1 for p in preds]
            predicted = [RAVDESS_CLASSES.index(p.prediction) for p in preds]
            pooled[way][0].extend(target)
            pooled[way][1].extend(predicted)
            per_fold[fold.name][way] = 100 * unweighted_accuracy(target, predicted, 8)
        print(fold.name, {k: round(v, 1) for k, v in per_fold[fold.name].items()}, flush=True)
    if not per_fold:
        print(f"SKIP: no finished folds with checkpoints in {opts.run}")
        return 0
    rows = {
        way: {
            "test_UA_pooled": round(100 * unweighted_accuracy(*pooled[way], 8), 2),
            "test_UA_mean_over_folds": round(
                float(np.mean([f[way] for f in per_fold.values()])), 2
            ),
            "clips": len(pooled[way][0]),
        }
        for way in ways
    }
    for way, row in rows.items():
        print(
            f"{way:>28}: UA {row['test_UA_pooled']:.2f} pooled, "
            f"{row['test_UA_mean_over_folds']:.2f} mean over folds ({row['clips']} clips)"
        )
    write_result(
        opts.out,
        {
            "run": relative(opts.run),
            "speaker_norm_prior": opts.speaker_norm_prior,
            "rows": rows,
            "per_fold": per_fold,
            "single_vs_folder_max_abs_difference": largest_gap,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
