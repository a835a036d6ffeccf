"""``mmfa baseline``: the classical baseline on exactly a config's folds, with ``mmfa cv``'s report.

What an emotion researcher tries first, before any deep model: openSMILE functionals (eGeMAPS
v02 or ComParE 2016, one vector per utterance, :mod:`mmfa.features.functionals`) or TF-IDF word
n-grams of the transcript, fed to a scikit-learn linear SVM, logistic regression or RBF SVM.

The config is parsed and its datamodule built exactly as ``mmfa cv`` does (same factory, same
overrides), so the folds are the config's: per fold, :meth:`split_of` decides train, validation
and test, and speaker independence is checked as in training. Per fold the scaler (or the TF-IDF
vocabulary) and the classifier are fitted on train only; each hyper-parameter setting of a small
grid is scored on validation with the config's checkpoint metric (``val/UA`` by default), and the
best one is tested as fitted (no refit on train + validation): test labels never reach a choice.
Optional per-speaker standardisation of the functionals uses each speaker's own utterances and no
labels, like ``data.speaker_norm``.

The run folder has ``mmfa cv``'s layout (``run.json``, ``config.yaml``, ``folds/<fold>/``
with ``predictions.csv``, ``fold_manifest.json`` and ``fold.json``, ``report/``) and the report
is built by the same code (:func:`mmfa.experiments.report.build_report`), so a baseline sits in
``mmfa ablate``-style comparisons beside deep runs. A rerun recomputes every fold (seconds) from
the cached features. SVM scores are the softmax of the decision values (their argmax is the
prediction; they are not calibrated probabilities).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.errors import ConfigError, MMFAError
from mmfa.problem import Multiclass

log = logging.getLogger("mmfa.baseline")

FEATURES = ("egemaps", "compare", "tfidf")
CLASSIFIERS = ("linear_svm", "logreg", "rbf_svm")
#: The metrics a hyper-parameter can be chosen on: the multiclass problem's headline keys.
MULTICLASS_METRICS = Multiclass.headline


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """Parse ``mmfa baseline``'s own options; the rest are config overrides, as for ``mmfa cv``."""
    parser = argparse.ArgumentParser(
        prog="mmfa baseline",
        description="The classical baseline (openSMILE functionals or TF-IDF n-grams + a "
        "scikit-learn classifier, hyper-parameters chosen on validation) on exactly the folds "
        "of a config, with the report of mmfa cv. Any other option (--data.root DIR, "
        "--data.*) is passed to the config as in mmfa cv.",
    )
    parser.add_argument(
        "--config",
        action="append",
        required=True,
        help="config file(s), as for mmfa cv (repeatable; later files override earlier ones)",
    )
    parser.add_argument(
        "--features",
        choices=FEATURES,
        required=True,
        help="egemaps / compare: openSMILE eGeMAPS v02 / ComParE 2016 functionals of the audio; "
        "tfidf: word 1-2-gram TF-IDF of the transcript",
    )
    parser.add_argument(
        "--classifier",
        choices=CLASSIFIERS,
        required=True,
        help="linear_svm (C chosen on validation), logreg (C), rbf_svm (C and gamma)",
    )
    parser.add_argument(
        "--speaker_norm",
        type=_boolean,
        default=None,
        help="standardise each functional per speaker over that speaker's utterances, no labels "
        "used (default: the config's data.speaker_norm)",
    )
    parser.add_argument(
        "--class_weight",
        choices=("none", "balanced"),
        default="none",
        help="balanced: weight classes inversely to their training frequency (default: none)",
    )
    parser.add_argument(
        "--monitor",
        choices=[f"val/{k}" for k in MULTICLASS_METRICS],
        default=None,
        help="the validation metric that chooses the hyper-parameters (default: the one the "
        "config's ModelCheckpoint monitors, val/UA in the shipped configs)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="run folder (default: runs/baseline/<config name>-<features>-<classifier>)",
    )
    return parser.parse_known_args(argv)


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value == "true"


@dataclass(frozen=True)
class Settings:
    """What defines a baseline besides the config (recorded in ``run.json``)."""

    features: str
    classifier: str
    speaker_norm: bool
    class_weight: str
    monitor: str
    mode: str


def baseline_main(argv: list[str]) -> Path:
    """Entry point of ``mmfa baseline``. Returns the run folder."""
    from mmfa.logs import setup_logging

    setup_logging()
    args, overrides = parse_args(argv)
    from mmfa.experiments.cv import _resolved_config, _summary_line
    from mmfa.experiments.report import build_report
    from mmfa.lightning_cli import build_cli
    from mmfa.problem import get_problem

    base = [a for c in args.config for a in ("--config", c)] + overrides
    probe = build_cli(base, run=False)
    config = _resolved_config(probe)
    dm = probe.datamodule
    kind = get_problem(dm.task_type, key=f"{type(dm).__name__}.task_type").kind
    if kind != "multiclass":
        raise ConfigError(
            f"mmfa baseline: {type(dm).__name__} is a {kind} corpus; the baseline supports "
            "multiclass corpora only so far"
        )
    if args.speaker_norm and args.features == "tfidf":
        raise ConfigError(
            "--speaker_norm standardises audio functionals; it has no effect on tfidf"
        )
    monitor, mode = (args.monitor, "max") if args.monitor else _monitor(probe)
    settings = Settings(
        args.features,
        args.classifier,
        bool(dm.speaker_norm if args.speaker_norm is None else args.speaker_norm)
        and args.features != "tfidf",
        args.class_weight,
        monitor,
        mode,
    )
    stem = Path(args.config[-1]).stem
    run_dir = args.out or Path("runs") / "baseline" / f"{stem}-{args.features}-{args.classifier}"
    _check_folder(run_dir, config, settings)
    started = time.monotonic()
    data = load_inputs(dm, settings)
    log.info(
        "baseline inputs ready in %.0f s: %d utterances", time.monotonic() - started, len(data.rows)
    )
    _write_run_json(run_dir, probe, config, settings, argv)
    folds = dm.fold_names() or [None]
    for k, fold in enumerate(folds, start=1):
        run_fold(
            dm,
            data,
            fold,
            settings,
            config,
            run_dir,
            f"fold {fold or 'official'} ({k}/{len(folds)})",
        )
    report = build_report(run_dir)
    log.info("%s", _summary_line(report))
    log.info("report written to %s", run_dir / "report" / "report.md")
    return run_dir


@dataclass
class Inputs:
    """The usable utterances and their baseline inputs, aligned.

    Attributes:
        utterances: the whole manifest.
        rows: manifest index of each usable utterance.
        x: ``(len(rows), D)`` functionals, or ``(len(rows),)`` transcripts (tfidf).
        refs: the usable utterances as the datamodule's sample refs (for fold manifests).
        skipped: skipped utterances per reason.
    """

    utterances: list[Any]
    rows: list[int]
    x: np.ndarray
    refs: list[Any]
    skipped: dict[str, int]


def load_inputs(dm: Any, settings: Settings) -> Inputs:
    """Read the config's manifest and compute (or read cached) features for every utterance."""
    from mmfa.datamodules.transforms import speaker_statistics
    from mmfa.datamodules.validation import check_manifest
    from mmfa.features.functionals import FunctionalsExtractor, utterance_functionals
    from mmfa.features.pipeline import SampleRef

    owner = type(dm).__name__
    utterances = dm.load_manifest()
    if not utterances:
        raise MMFAError(f"{owner}: the manifest is empty (root={dm.root}); check data.root")
    check_manifest(utterances, owner=owner, class_names=dm.class_names, task_type=dm.task_type)
    if settings.features == "tfidf":
        usable = [i for i, u in enumerate(utterances) if u.text.strip()]
        skipped = (
            {"empty_transcript": len(utterances) - len(usable)}
            if len(usable) < len(utterances)
            else {}
        )
        x = np.array([utterances[i].text for i in usable], dtype=object)
        refs = [SampleRef(i, -1, -1) for i in usable]
        return Inputs(utterances, usable, x, refs, skipped)
    extractor = FunctionalsExtractor(settings.features, max_seconds=dm.max_clip_seconds)
    refs, x, report = utterance_functionals(
        utterances, extractor, dm.cache_dir, on_bad_input=dm.on_bad_input
    )
    if report.skipped:
        log.warning("%s: %s", owner, report.summary())
    rows = [r.index for r in refs]
    if settings.speaker_norm:
        stats = speaker_statistics(
            (utterances[i].speaker, x[k : k + 1]) for k, i in enumerate(rows)
        )
        for k, i in enumerate(rows):
            mean, std = stats[utterances[i].speaker]
            x[k] = (x[k] - mean) / std
    return Inputs(utterances, rows, x, refs, dict(report.skip_counts()))


def run_fold(
    dm: Any,
    data: Inputs,
    fold: str | None,
    settings: Settings,
    config: dict[str, Any],
    run_dir: Path,
    progress: str,
) -> dict[str, Any]:
    """Fit on train, choose hyper-parameters on validation, test; write the fold's files."""
    from mmfa.datamodules.validation import check_split_name
    from mmfa.experiments.run_config import config_hash, inside, safe_name
    from mmfa.manifest import SPLITS

    started = time.monotonic()
    owner = type(dm).__name__
    if fold is not None:
        dm.fold = fold
    split = []
    for i in data.rows:
        name = dm.split_of(data.utterances[i])
        if name:
            check_split_name(name, data.utterances[i].id, owner)
        split.append(name)
    where = {s: np.flatnonzero(np.array(split, dtype=object) == s) for s in SPLITS}
    # The datamodule's own bookkeeping: its speaker check and fold manifest, as in mmfa cv.
    dm.utterances = data.utterances
    dm.refs = {s: [data.refs[k] for k in where[s]] for s in SPLITS}
    if dm.speaker_independent:
        dm.check_speaker_independence()
    empty = [s for s in SPLITS if not len(where[s])]
    if empty:
        raise MMFAError(
            f"{owner}{f' (fold {fold})' if fold else ''}: the {'/'.join(empty)} split is empty; "
            "the baseline needs train, validation and test utterances"
        )
    labels = np.array([data.utterances[i].label for i in data.rows], dtype=int)
    names = list(dm.class_names)
    chosen = select_on_validation(
        settings,
        (data.x[where["train"]], labels[where["train"]]),
        (data.x[where["val"]], labels[where["val"]]),
        names,
    )
    test_scores = chosen.scores(data.x[where["test"]], len(names))
    unit_dir = inside(run_dir, run_dir / "folds" / (safe_name(fold) if fold else "official"))
    unit_dir.mkdir(parents=True, exist_ok=True)
    ids = [data.utterances[data.rows[k]].id for k in where["test"]]
    write_predictions(unit_dir / "predictions.csv", ids, labels[where["test"]], test_scores, names)
    digest = dm.write_fold_manifest(unit_dir / "fold_manifest.json")
    info = {
        "fold": fold,
        "config_sha256": config_hash(config),
        "fold_manifest_sha256": digest,
        "model": chosen.description,
        "monitor": settings.monitor,
        "val_metrics": {settings.monitor: chosen.val_score},
        "validation_grid": chosen.grid,
        "wall_s": round(time.monotonic() - started, 1),
        "sizes": {s: int(len(where[s])) for s in SPLITS},
        "skipped": data.skipped,
    }
    log.info(
        "%s: %s; %s %.2f on validation; test written to %s",
        progress,
        chosen.description,
        settings.monitor,
        100 * chosen.val_score,
        unit_dir / "predictions.csv",
    )
    (unit_dir / "fold.json").write_text(json.dumps(info, indent=1, default=str))
    return info


@dataclass
class Choice:
    """The setting chosen on validation, the fitted input step and classifier, every grid score."""

    params: dict[str, Any]
    inputs: Any
    classifier: Any
    val_score: float
    grid: list[dict[str, Any]]

    @property
    def description(self) -> str:
        """E.g. ``LinearSVC(C=0.000157)``: the classifier and its resolved hyper-parameters."""
        shown = ", ".join(f"{k}={self.params[k]:.3g}" for k in ("C", "gamma") if k in self.params)
        return f"{type(self.classifier).__name__}({shown})"

    def scores(self, x: np.ndarray, num_classes: int) -> np.ndarray:
        """``(N, num_classes)`` scores of new inputs (see :func:`class_scores`)."""
        return class_scores(self.classifier, self.inputs.transform(x), num_classes)


#: Regularisation grids, relative to the training inputs' mean squared norm (``D`` for
#: standardised functionals, 1 for TF-IDF rows), so one grid suits 88 and 6,373 functionals and
#: TF-IDF alike; the largest linear C stays where liblinear still converges in seconds on ComParE.
SCALES = {
    "linear_svm": {"C_scale": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]},
    "logreg": {"C_scale": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]},
    "rbf_svm": {"C": [0.1, 1.0, 10.0, 100.0], "gamma_scale": [0.0625, 0.25, 1.0, 4.0]},
}


def parameter_grid(classifier: str, norm2: float = 1.0) -> list[dict[str, Any]]:
    """The settings tried, in order; ties go to the first (the most regularised).

    Args:
        classifier: one of :data:`CLASSIFIERS`.
        norm2: mean squared norm of the transformed training inputs: linear ``C`` is
            ``C_scale / norm2`` and RBF ``gamma`` is ``gamma_scale / norm2`` (scikit-learn's
            ``gamma="scale"`` for ``gamma_scale`` 1).
    """
    from sklearn.model_selection import ParameterGrid

    if classifier not in SCALES:
        raise ConfigError(f"--classifier {classifier!r}: choose one of {list(CLASSIFIERS)}")
    grid = []
    for params in ParameterGrid(SCALES[classifier]):
        resolved = dict(params)
        if "C_scale" in params:
            resolved["C"] = params["C_scale"] / norm2
        if "gamma_scale" in params:
            resolved["gamma"] = params["gamma_scale"] / norm2
        grid.append(resolved)
    return grid


def input_step(settings: Settings) -> Any:
    """The unfitted input transform: TF-IDF word 1-2-grams, or standardisation of functionals."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import StandardScaler

    if settings.features == "tfidf":
        # Single-letter words ("I") and "!"/"?" carry emotion; the default pattern drops them.
        return TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b|[!?]"
        )
    return StandardScaler()


def build_classifier(settings: Settings, params: dict[str, Any]) -> Any:
    """The unfitted scikit-learn classifier of one grid setting (resolved ``C``, ``gamma``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC, LinearSVC

    weight = None if settings.class_weight == "none" else settings.class_weight
    if settings.classifier == "linear_svm":
        return LinearSVC(C=params["C"], class_weight=weight, max_iter=20000, random_state=0)
    if settings.classifier == "logreg":
        return LogisticRegression(C=params["C"], class_weight=weight, max_iter=5000)
    return SVC(C=params["C"], gamma=params["gamma"], class_weight=weight, random_state=0)


def class_scores(model: Any, x: Any, num_classes: int) -> np.ndarray:
    """``(N, num_classes)`` scores: probabilities (logreg) or softmax of decision values (SVMs).

    Classes absent from the training split get score 0.
    """
    from scipy.special import softmax

    if hasattr(model, "predict_proba"):
        present = model.predict_proba(x)
    else:
        decision = np.asarray(model.decision_function(x), dtype=float)
        if decision.ndim == 1:  # two classes: the decision value favours classes_[1]
            decision = np.stack([np.zeros_like(decision), decision], axis=1)
        present = softmax(decision, axis=1)
    scores = np.zeros((len(present), num_classes))
    scores[:, model.classes_] = present
    return scores


def fit_grid(
    settings: Settings, train: tuple[np.ndarray, np.ndarray]
) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
    """Fit the input step once and every grid setting's classifier on the training split.

    Returns:
        ``(input step, [(setting, classifier), ...])``, all fitted on train alone.
    """
    inputs = input_step(settings).fit(train[0])
    x = inputs.transform(train[0])
    norm2 = _mean_squared_norm(x)
    return inputs, [
        (params, build_classifier(settings, params).fit(x, train[1]))
        for params in parameter_grid(settings.classifier, norm2)
    ]


def _mean_squared_norm(x: Any) -> float:
    """Mean over rows of the squared Euclidean norm (dense or sparse), floored above 0."""
    squares = x.multiply(x).sum(axis=1) if hasattr(x, "multiply") else (x * x).sum(axis=1)
    return max(float(np.mean(squares)), 1e-12)


def select_on_validation(
    settings: Settings,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
) -> Choice:
    """Fit every grid setting on train and keep the best on validation (no test data involved).

    Args:
        settings: features, classifier, class weights and the validation metric.
        train: ``(x, y)`` of the training split.
        val: ``(x, y)`` of the validation split.
        class_names: the corpus' classes, in index order.

    Returns:
        The best setting (the first of equals), its fitted model, and every setting's score.
    """
    from mmfa.experiments.fold_metrics import multiclass_metrics

    key = settings.monitor.removeprefix("val/")
    sign = 1.0 if settings.mode == "max" else -1.0
    inputs, fitted = fit_grid(settings, train)
    x_val = inputs.transform(val[0])
    best: Choice | None = None
    grid: list[dict[str, Any]] = []
    for params, classifier in fitted:
        scores = class_scores(classifier, x_val, len(class_names))
        value = multiclass_metrics(val[1], scores, class_names, "val").headline[key]
        grid.append({**params, settings.monitor: value})
        if best is None or sign * value > sign * best.val_score:
            best = Choice(params, inputs, classifier, value, grid)
    assert best is not None
    return best


def write_predictions(
    path: Path, ids: list[str], target: np.ndarray, scores: np.ndarray, class_names: list[str]
) -> None:
    """``predictions.csv`` in ``mmfa cv``'s schema: ``id, target, score_<class>...``."""
    from mmfa.problem import get_problem

    problem = get_problem("multiclass")
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["id", *problem.target_columns(class_names), *problem.score_columns(class_names)]
        )
        for i, t, s in zip(ids, target, scores, strict=True):
            writer.writerow([i, *problem.target_cells(t), *problem.score_cells(s)])
    tmp.replace(path)


def _monitor(cli: Any) -> tuple[str, str]:
    """The config's checkpoint metric and mode (``val/UA``, ``max``), as ``mmfa cv`` selects.

    A monitor the baseline cannot compute (``val/loss``: an SVM has no such loss) gives way to
    the problem's default metric, and the log says so.
    """
    from mmfa.problem import get_problem

    ckpt = getattr(cli.trainer, "checkpoint_callback", None)
    monitor = getattr(ckpt, "monitor", None) or "val/UA"
    mode = getattr(ckpt, "mode", None) or "max"
    if monitor.removeprefix("val/") not in MULTICLASS_METRICS:
        problem = get_problem("multiclass")
        log.info(
            "the config's checkpoint monitors %s, which the baseline cannot compute; choosing on "
            "%s instead (--monitor picks another)",
            monitor,
            problem.monitor,
        )
        return problem.monitor, problem.mode
    return monitor, mode


def _check_folder(run_dir: Path, config: dict[str, Any], settings: Settings) -> None:
    """Refuse a folder holding another run (a cv run, another config or other settings)."""
    from dataclasses import asdict

    from mmfa.experiments.run_config import config_hash

    path = run_dir / "run.json"
    if not path.exists():
        return
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} cannot be read ({err}); choose another --out") from None
    same_config = earlier.get("config_sha256") == config_hash(config)
    if not same_config or earlier.get("provenance", {}).get("baseline") != asdict(settings):
        raise ConfigError(
            f"{run_dir} holds another run (another config, baseline settings or a mmfa cv "
            "run); choose another --out"
        )


def _write_run_json(
    run_dir: Path, cli: Any, config: dict[str, Any], settings: Settings, argv: list[str]
) -> None:
    from dataclasses import asdict

    from mmfa.experiments.run_config import config_hash
    from mmfa.provenance import PACKAGES, collect

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(cli.parser.dump(cli.config, skip_none=False))
    run = {
        "task_type": "multiclass",
        "class_names": list(cli.datamodule.class_names),
        "config_sha256": config_hash(config),
        "config": config,
        "provenance": {
            "argv": ["mmfa", "baseline", *argv],
            "baseline": asdict(settings),
            **collect((*PACKAGES, "scipy")),  # git commit, python, platform, versions
            "datamodule": type(cli.datamodule).__name__,
        },
    }
    (run_dir / "run.json").write_text(json.dumps(run, indent=1, default=str))


if __name__ == "__main__":
    baseline_main(sys.argv[1:])
