"""Real-speech benchmark: one model, both modalities or one missing (modality dropout on RAVDESS).

Trains MMFA with the audio path under the practical recipe with ``model.modality_dropout = P``
(``mmfa cv``, every actor-independent fold), then applies each fold's validation-selected
checkpoint to that fold's test actors three times through the public API
(:class:`mmfa.inference.EmotionRecognizer`): with audio and transcript, with the audio alone
(no transcript) and with the transcript alone (no audio). Test UA and WA come from
scikit-learn::

    python benchmarks/ravdess_missing_modality.py [--data DIR] [--p 0.3] [--seeds 0,1,2]
    python benchmarks/ravdess_missing_modality.py --p 0        # the same model without dropout

With ``--p 0`` the model was never trained without a modality, so the two one-modality
conditions are refused by the API (that refusal is the documented behaviour) and only "both"
is reported. ``--data`` is the folder holding ``Actor_XX`` (default ``$MMFA_SHARED/data/ravdess``,
``MMFA_SHARED`` being the ``shared`` folder beside the repository); without it the script says so
and exits 0. Runs go to ``<out>/p<P>`` (default ``runs/bench_ravdess_missing``); finished folds
are not run again.
Results are merged into ``benchmarks/results/ravdess_missing_modality.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import statistics
import time
from pathlib import Path
from typing import Any

from common import (
    RAVDESS_CORPUS,
    REPO,
    RESULTS,
    merge_results,
    parser,
    ravdess_actors,
    run_mmfa,
    run_wall,
    shared_data,
    skip_without,
)

RESULT_FILE = RESULTS / "ravdess_missing_modality.json"
CONDITIONS = ("both", "audio_only", "text_only")


def command(data: str, out: str, p: float, seeds: str) -> list[str]:
    """The ``mmfa cv`` command that trains the models (the one the docs print)."""
    return [
        "mmfa", "cv",
        "--config", "configs/ravdess_8class.yaml",
        "--config", "configs/recipe/practical.yaml",
        "--data.root", data,
        "--model.fusion=MMFAFusion", "--model.fusion.init_args.audio_path=true",
        f"--model.modality_dropout={p:g}",
        "--seeds", seeds,
        "--out", out,
    ]  # fmt: skip


def evaluate_fold(fold_dir: Path, by_id: dict[str, Any], cache: Path) -> dict[str, Any]:
    """Test UA/WA of one fold's best checkpoint in each condition (None: refused)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    from mmfa.errors import ConfigError
    from mmfa.inference import EmotionRecognizer

    manifest = json.loads((fold_dir / "fold_manifest.json").read_text())
    test = [by_id[uid] for uid in manifest["splits"]["test"]]
    checkpoint = json.loads((fold_dir / "fold.json").read_text())["checkpoint"]  # the best one
    recognizer = EmotionRecognizer.from_checkpoint(REPO / checkpoint, cache_dir=cache)
    inputs = {
        "both": test,
        "audio_only": [dataclasses.replace(u, text="") for u in test],
        "text_only": [dataclasses.replace(u, audio_path=None) for u in test],
    }
    out: dict[str, Any] = {}
    for condition, utterances in inputs.items():
        try:
            run = recognizer.predict_utterances(utterances, progress=False)
        except ConfigError as err:
            out[condition] = {"refused": str(err).split(";")[0]}
            continue
        if run.skipped:
            raise SystemExit(f"{fold_dir.name}/{condition}: {len(run.skipped)} inputs skipped")
        classes = list(recognizer.task.class_names)
        pred = [classes.index(p.prediction) for p in run.predictions]
        true = [int(utterances[i].label) for i in run.index]
        out[condition] = {
            "UA": 100 * balanced_accuracy_score(true, pred),
            "WA": 100 * accuracy_score(true, pred),
            "modalities": sorted({"+".join(p.modalities) for p in run.predictions}),
        }
    return out


def summarise(folds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean and population std of test UA/WA over fold x seed units, per condition."""
    summary: dict[str, Any] = {}
    for condition in CONDITIONS:
        done = [f[condition] for f in folds.values() if "UA" in f[condition]]
        if not done:
            summary[condition] = {"refused": len(folds)}
            continue
        ua, wa = [d["UA"] for d in done], [d["WA"] for d in done]
        summary[condition] = {
            "UA_mean": statistics.fmean(ua),
            "UA_std": statistics.pstdev(ua),
            "WA_mean": statistics.fmean(wa),
            "units": len(done),
        }
    return summary


def main() -> None:
    cli = parser(__doc__)
    cli.add_argument("--data", type=Path, default=shared_data("ravdess"))
    cli.add_argument("--p", type=float, default=0.3, help="model.modality_dropout")
    cli.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (cv --seeds)")
    cli.add_argument("--out", type=Path, default=REPO / "runs" / "bench_ravdess_missing")
    cli.add_argument("--collect", action="store_true", help="only evaluate finished runs")
    args = cli.parse_args()
    if skip_without(ravdess_actors(args.data), "RAVDESS (Actor_XX folders)", args.data, "--data"):
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    run_dir = args.out / f"p{args.p:g}"
    argv = command(str(args.data), str(run_dir), args.p, args.seeds)
    wall = None if args.collect else run_mmfa(argv)

    from mmfa.corpora.ravdess import read_ravdess

    by_id = {u.id: u for u in read_ravdess(args.data)}
    start = time.perf_counter()
    folds = {
        d.name: evaluate_fold(d, by_id, args.out / "predict_cache")
        for d in sorted((run_dir / "folds").iterdir())
        if (d / "fold.json").exists()  # written when the fold has finished
    }
    if not folds:
        raise SystemExit(f"no finished folds under {run_dir / 'folds'}")
    summary = summarise(folds)
    for condition, row in summary.items():
        if "UA_mean" in row:
            print(f"p={args.p:g} {condition}: UA {row['UA_mean']:.1f} ± {row['UA_std']:.1f}")
        else:
            print(f"p={args.p:g} {condition}: refused (the model needs both modalities)")
    row = {
        "command": shlex.join(
            command(
                "/path/to/ravdess", f"runs/bench_ravdess_missing/p{args.p:g}", args.p, args.seeds
            )
        ),
        "summary": summary,
        "folds": folds,
        "train_wall_s": round(wall if wall is not None else run_wall(run_dir)),
        "evaluate_wall_s": round(time.perf_counter() - start),
    }
    merge_results(
        RESULT_FILE,
        {f"p={args.p:g}": row},
        corpus=RAVDESS_CORPUS,
        model="MMFAFusion(audio_path=true), practical recipe, model.modality_dropout = p",
        std="population std over fold x seed units (ddof=0)",
    )


if __name__ == "__main__":
    main()
