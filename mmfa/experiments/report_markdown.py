"""Markdown rendering of a cross-validation report (the dict :func:`.report.build_report` returns).

Numbers are shown as the paper prints them: percent with 2 decimals, ``76.00 ± 3.68``; MAE and
Pearson r stay raw (3 decimals). NaN (undefined) shows as ``n/a``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from mmfa.problem import METRICS, get_problem, metric_info, metric_label

#: Labels of the table columns that are not metrics.
COLUMNS = {"label": "run", "task_type": "task"}
PAPER_COLUMNS = 6  # Tables 3-4: ACC | ACC_B | PRE | REC | Fβ | F1 (the rest go in a 2nd table)
#: Per-class key -> the support-weighted headline key shown in the per-class table's last row.
WEIGHTED = {"precision": "precision_w", "recall": "recall_w", "F1": "F1_w"}


def display(metric: str) -> str:
    """The column title of a key: the paper's label for a metric (``UA`` -> ``ACC_B (UA)``)."""
    return COLUMNS.get(metric) or metric_label(metric)


def definitions(task: str) -> str:
    """One paragraph defining the headline metrics of a problem, from the vocabulary."""
    problem = get_problem(task)
    parts = [f"{display(k)} (`{k}`) = {METRICS[k].meaning}" for k in problem.headline]
    return "; ".join(parts) + ". " + _PREDICTION[problem.kind]


_PREDICTION = {
    "multiclass": "The prediction is the argmax of the softmax scores.",
    "multilabel": "A label is predicted where its score > 0.5.",
    "regression": "Zero targets count as positive in Acc-2 and F1 (sign).",
}


def _raw(metric: str) -> bool:
    """Whether a metric is shown as its raw value (MAE, Pearson r) rather than in percent."""
    try:
        return not metric_info(metric).percent
    except KeyError:
        return False


def fmt(value: Any, metric: str, std: Any = None) -> str:
    """``76.00 ± 3.68`` (percent) or ``0.712 ± 0.030`` (MAE, r); ``n/a`` when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    scale, digits = (1.0, 3) if _raw(metric) else (100.0, 2)
    text = f"{float(value) * scale:.{digits}f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {float(std) * scale:.{digits}f}"
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def headline_table(
    rows: Sequence[dict[str, Any]], metrics: Sequence[str], lead: Sequence[str] = ()
) -> str:
    """Render ``| lead... | metric... |`` rows of ``<metric>_mean`` ± ``<metric>_std``."""
    header = [display(c) for c in (*lead, *metrics)]
    body = [
        [row[c] for c in lead]
        + [fmt(row.get(f"{m}_mean"), m, row.get(f"{m}_std")) for m in metrics]
        for row in rows
    ]
    return _table(header, body)


def render_report(report: dict[str, Any]) -> str:
    """Render the whole ``report.md``."""
    task, folds = report["task_type"], report["folds"]
    single = bool(report.get("single"))  # one test run (mmfa fit/test), not folds
    out = [
        f"# {report['title']}",
        "",
        f"Task: **{task}**"
        + (
            f", {len(report['class_names'])} classes ({', '.join(report['class_names'])})"
            if report["class_names"]
            else ""
        )
        + ("; " if single else f"; {len(folds)} folds, ")
        + f"{report['num_predictions']} test predictions.",
        "",
    ]
    out += _headline_section(report)
    if report.get("seeds"):
        out += _seeds_section(report)
    if report.get("ensemble") and report["ensemble"]["per_fold"]:
        out += _ensemble_section(report)
    if report["per_class"]:
        out += _per_class_section(report)
    out += [
        "## Run" if single else "## Per fold",
        "",
        "Training of the checkpoint tested."
        if single
        else "Each fold's own numbers (the means above average these).",
        "",
        _table(
            ["fold", "n", "epochs", "best epoch", "wall time"]
            + [display(m) for m in report["headline"]],
            [
                [r["fold"], r["n"], *_training(report, r["fold"])]
                + [fmt(r[m], m) for m in report["headline"]]
                for r in report["per_fold"]
            ],
        ),
        "",
    ]
    if not single:  # one run: pooled = the headline
        out += [
            "## Pooled (all folds' predictions concatenated)",
            "",
            "**Not the paper's protocol**, which averages per-fold numbers (above); pooled numbers "
            "weight large folds more and are shown for comparison only.",
            "",
            _table(
                [display(m) for m in report["headline"]],
                [[fmt(report["pooled"][m], m) for m in report["headline"]]],
            ),
            "",
        ]
    out += _figures_section(report)
    out += _provenance_section(report)
    if report["notes"]:
        out += ["## Notes", ""] + [f"- {n}" for n in report["notes"]] + [""]
    return "\n".join(out)


def _headline_section(report: dict[str, Any]) -> list[str]:
    task, metrics = report["task_type"], report["headline"]
    stats = ("mean",) if report.get("single") else ("mean", "std")
    row = {f"{m}_{s}": report[s][m] for m in metrics for s in stats}
    raw = [display(m) for m in metrics if _raw(m)]
    # The paper's Tables 3-4 put six classification columns in one row; raw-valued (regression)
    # metrics all fit in one table.
    split = len(metrics) if raw else PAPER_COLUMNS
    about = (
        "The test predictions' metrics, "
        + (f"percent except {' and '.join(raw)}." if raw else "in percent.")
        if report.get("single")
        else f"Mean ± std over the {len(report['folds'])} folds, "
        + (f"percent except {' and '.join(raw)}. " if raw else "in percent. ")
        + f"The std is the population std (ddof={report['conventions']['std_ddof']}, NumPy's "
        "default); the paper does not say which it used. "
        + "A value undefined in some fold (n/a there) is averaged over the others."
    )
    lines = [
        "## Headline",
        "",
        about,
        "",
        headline_table([row], metrics[:split]),
        "",
    ]
    if metrics[split:]:
        lines += [headline_table([row], metrics[split:]), ""]
    partial = [
        f"{display(m)} over {report['n_folds'][m]} of {len(report['folds'])}"
        for m in metrics
        if report["n_folds"][m] < len(report["folds"])
    ]
    if partial:
        lines += [
            "Averaged over fewer folds (undefined in the others, see Notes): "
            + "; ".join(partial)
            + ".",
            "",
        ]
    lines += [definitions(task), ""]
    return lines


def _seeds_section(report: dict[str, Any]) -> list[str]:
    seeds, metrics = report["seeds"], report["headline"]
    counts = sorted(set(seeds["folds_per_seed"].values()))
    uneven = (
        f" Seeds ran different numbers of folds ({', '.join(map(str, counts))}): "
        "their means are not over the same folds."
        if len(counts) > 1
        else ""
    )
    rows = [
        [seed, seeds["folds_per_seed"][seed]] + [fmt(values[m], m) for m in metrics]
        for seed, values in seeds["per_seed"].items()
    ]
    rows.append(["mean ± std", ""] + [fmt(seeds["mean"][m], m, seeds["std"][m]) for m in metrics])
    return [
        "## Seeds",
        "",
        "The folds were trained with several seeds. Per seed: the mean over that seed's folds. "
        "Last row: mean ± std of those per-seed means, i.e. how much one whole "
        "cross-validation moves with the training seed alone." + uneven,
        "",
        _table(["seed", "folds"] + [display(m) for m in metrics], rows),
        "",
    ]


def _ensemble_section(report: dict[str, Any]) -> list[str]:
    ensemble, metrics = report["ensemble"], report["headline"]
    rows = [
        [r["fold"], r["n"], r["models"]] + [fmt(r[m], m) for m in metrics]
        for r in ensemble["per_fold"]
    ]
    rows.append(
        ["mean ± std", "", ""] + [fmt(ensemble["mean"][m], m, ensemble["std"][m]) for m in metrics]
    )
    single = report.get("seeds") or {}
    compared = ""
    if single.get("mean"):
        key = metrics[0]
        compared = (
            f" One seed alone scores {display(key)} {fmt(single['mean'][key], key)} on average "
            "(section Seeds)."
        )
    return [
        "## Ensemble of the seeds",
        "",
        f"Per fold, the test probabilities of the seeds ({', '.join(ensemble['seeds'])}), each "
        "from its checkpoint selected on validation, averaged and scored like one model "
        "(what `mmfa predict --ckpt_path` with those checkpoints predicts)." + compared,
        "",
        _table(["fold", "n", "models"] + [display(m) for m in metrics], rows),
        "",
    ]


def _per_class_section(report: dict[str, Any]) -> list[str]:
    task, n_folds = report["task_type"], len(report["folds"])
    single = bool(report.get("single"))
    metrics = [m for m in get_problem(task).per_class if m != "AUC"]

    def cell(stats: dict[str, Any], metric: str) -> str:
        std = None if single else stats["std"]
        return fmt(stats["mean"], metric, std) + _partial(stats, n_folds)

    body = []
    for name, entry in report["per_class"].items():
        cells = [cell(entry[m], m) for m in metrics]
        body.append([name, *cells, entry["support"], cell(entry["AUC"], "AUC")])
    weighted = [
        fmt(report["mean"][WEIGHTED[m]], m, None if single else report["std"][WEIGHTED[m]])
        if m in WEIGHTED
        else "—"
        for m in metrics
    ]
    total = sum(e["support"] for e in report["per_class"].values())
    body.append(["weighted average", *weighted, total, "—"])
    kind = "test utterances (multilabel: positive ones)"
    about = (
        f"In percent (paper Tables 8-9, Figs. 4-7). Support = {kind}. A class with no test "
        "utterance has no per-class numbers (n/a)."
        if single
        else f"Mean ± std over folds, in percent (paper Tables 8-9, Figs. 4-7). Support = {kind}, "
        "summed over folds. A class with no test utterance in a fold is left out of that "
        "fold's per-class means; `(k/N folds)` says so."
    )
    return [
        "## Per class",
        "",
        about,
        "",
        _table(["class / label", *(display(m) for m in metrics), "support", "AUC"], body),
        "",
    ]


def _training(report: dict[str, Any], fold: str) -> list[str]:
    """Epochs run, best epoch and wall time of a fold, from its ``fold.json`` (``?``: unknown)."""
    info = report["provenance"]["folds"].get(fold, {})
    wall = info.get("wall_s")
    return [
        str(info.get("epochs", "?")),
        str(info.get("best_epoch", "?")),
        f"{wall:.0f} s" if isinstance(wall, int | float) else "?",
    ]


def _partial(stats: dict[str, Any], n_folds: int) -> str:
    return f" ({stats['n_folds']}/{n_folds} folds)" if stats["n_folds"] < n_folds else ""


def _figures_section(report: dict[str, Any]) -> list[str]:
    titles = {
        "confusion_matrix": "Confusion matrix, summed over folds (counts and row-normalised)",
        "roc_curves": "ROC curves per class: one thin line per fold, the mean in red",
        "scatter": "Predicted against gold scores",
    }
    if report.get("single"):  # one run: nothing summed or averaged
        titles["confusion_matrix"] = "Confusion matrix (counts and row-normalised)"
        titles["roc_curves"] = "ROC curves per class"
    lines = ["## Figures", ""]
    for key, title in titles.items():
        if key in report["files"]:
            lines += [
                f"{title}: [{report['files'][key]}]({report['files'][key]})",
                "",
                f"![{title}]({report['files'][key]})",
                "",
            ]
    matrix = report.get("confusion_matrix")
    if matrix and "row_normalised" in matrix and len(matrix["labels"]) <= 20:  # single-label
        lines += [
            "Counts (rows: true class, columns: predicted class):",
            "",
            _table(
                ["true \\ predicted", *matrix["labels"]],
                [[n, *row] for n, row in zip(matrix["labels"], matrix["counts"], strict=True)],
            ),
            "",
        ]
    return lines


def _provenance_section(report: dict[str, Any]) -> list[str]:
    prov = report["provenance"]
    lines = [
        "## Provenance",
        "",
        f"- Run folder: `{report['run_dir']}`",
        "- Report computed with: " + _inline(prov["report"]),
    ]
    details: list[tuple[str, str]] = []
    lines += _value_lines(prov["run"], 0, details)
    single = bool(report.get("single"))
    lines += ["", "The run:" if single else "Per fold (from each fold's `fold.json`):", ""]
    standard = ["seed", "checkpoint", "fold_manifest_sha256", "val_metrics"]
    body = []
    for name, info in prov["folds"].items():
        other = {k: v for k, v in info.items() if k not in standard and k != "fold"}
        body.append(
            [name]
            + [_inline(info[k]) if k in info else "?" for k in standard]
            + [_inline(other) if other else ""]
        )
    lines += [
        _table(
            ["fold", "seed", "checkpoint", "fold manifest sha256", "validation metrics", "other"],
            body,
        ),
        "",
    ]
    for key, text in details:
        lines += [
            f"<details><summary>{key}</summary>",
            "",
            "```",
            text.rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    return lines


def _value_lines(
    values: dict[str, Any], depth: int, details: list[tuple[str, str]], prefix: str = ""
) -> list[str]:
    """Nested bullets; multi-line strings (config files) go to collapsed blocks below."""
    lines = []
    pad = "  " * depth
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and any(_long(v) for v in value.values()):
            lines.append(f"{pad}- **{key}**:")
            lines += _value_lines(value, depth + 1, details, f"{path} / ")
        elif isinstance(value, str) and "\n" in value:
            details.append((path, value))
            lines.append(f"{pad}- **{key}**: see *{path}* below")
        else:
            lines.append(f"{pad}- **{key}**: {_inline(value)}")
    return lines


def _long(value: Any) -> bool:
    return isinstance(value, dict) or (isinstance(value, str) and "\n" in value)


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_plain(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return "`" + " ".join(str(v) for v in value) + "`"
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str | int) or value is None:
        return f"`{value}`"
    return f"`{json.dumps(value)}`"
