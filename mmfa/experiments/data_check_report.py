"""What ``mmfa data check`` writes: the console summary, report.md, report.json, durations.png.

Everything is rendered from the report's JSON payload (``DataCheck.to_json()``), so report.md says
what report.json holds. Figures use matplotlib's object API, as the cv report does: no display
backend is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_SHOW_IDS = 10  # ids listed per problem; the rest are counted
_SHOW_ROWS = 50  # rows of the skipped-files and over-the-cap tables
_SHOW_SPEAKERS = 200  # rows of the speaker table (CMU-MOSEI has about a thousand)


def write_report(report: dict[str, Any], seconds: list[float], out: Path) -> None:
    """Write ``report.json``, ``report.md`` and (with durations) ``durations.png`` into ``out``.

    Args:
        report: the check's JSON payload.
        seconds: the duration of every readable clip (the histogram).
        out: the report folder (created).
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    if seconds:
        title = f"{report['datamodule']}: {len(seconds)} clips"
        plot_durations(out / "durations.png", seconds, report["cap_seconds"], title)
    (out / "report.md").write_text(markdown(report))


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The console summary: the corpus in one line, then one line per problem."""
    folds = [f or "official split" for f in report["folds"]]
    stats = report["durations"]
    lines = [
        f"{report['datamodule']}: {report['utterances']} utterances, {report['speakers']} "
        f"speakers, {len(report['classes'])} classes; folds that will run: {', '.join(folds)}"
        + (
            f"; {stats['total_hours']:.2f} h of audio, clips {stats['min']:.2f}-"
            f"{stats['max']:.2f} s"
            if stats["count"]
            else ""
        )
    ]
    lines += [f"{p['severity']}: {p['message']}" for p in report["problems"]]
    errors, warnings = _counts(report)
    if errors:
        lines.append(f"{errors} problems would stop training (exit status 1)")
    else:
        lines.append(f"ready to train ({warnings} warnings)")
    how = "" if report["extracted"] else " (headers)"
    lines.append(f"checked in {report['wall_s']:.1f} s{how}")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """``report.md``: verdict, problems, classes, folds, speakers, durations, skipped files."""
    parts = [f"# Data check: {report['datamodule']}", "", *_intro(report), ""]
    parts += ["## Problems", "", *_problems(report["problems"]), ""]
    if report["per_class"]:
        classes = _table(["class", "utterances"], report["per_class"].items())
        parts += ["## Classes", "", *classes, ""]
    parts += ["## Folds", "", *_folds(report), ""]
    parts += ["## Speakers", "", *_speakers(report), ""]
    if report["audio_used"]:
        parts += ["## Durations", "", *_durations(report), ""]
    parts += ["## Unreadable or suspect files", "", *_skipped(report), ""]
    return "\n".join(parts)


def plot_durations(path: Path, seconds: list[float], cap: float | None, title: str) -> None:
    """Histogram of clip durations, with the cap as a vertical line when clips come near it."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.hist(seconds, bins=min(60, max(10, len(seconds) // 20)), color="tab:blue")
    if cap is not None and max(seconds) > 0.5 * cap:
        ax.axvline(cap, color="tab:red", linestyle="--", label="cap (cut beyond)")
        ax.legend()
    ax.set_xlabel("seconds")
    ax.set_ylabel("clips")
    ax.set_title(title)
    fig.savefig(path, dpi=100)


def _counts(report: dict[str, Any]) -> tuple[int, int]:
    """Errors and warnings."""
    errors = sum(p["severity"] == "error" for p in report["problems"])
    return errors, len(report["problems"]) - errors


def _intro(report: dict[str, Any]) -> list[str]:
    errors, warnings = _counts(report)
    verdict = (
        f"**{errors} problems would stop training.**"
        if errors
        else f"**Ready to train** ({warnings} warnings)."
    )
    source = (
        "features extracted (`--extract`): skips are exactly training's"
        if report["extracted"]
        else "file headers only; silent or NaN clips are found by `--extract`"
    )
    inputs = " + ".join(
        name
        for name, used in (("audio", report["audio_used"]), ("text", report["text_used"]))
        if used
    )
    folds = ", ".join(f or "official split" for f in report["folds"])
    return [
        verdict,
        "",
        f"- corpus: `{report['root'] or '(default location)'}`, {report['task_type']}, "
        f"{report['utterances']} utterances, {report['speakers']} speakers",
        f"- classes: {', '.join(report['classes']) or '(none)'}",
        f"- folds that will run: {folds}",
        f"- inputs: {inputs}; clips cut at {report['cap_seconds']} s",
        f"- checked: {source}; {report['wall_s']:.1f} s",
    ]


def _problems(problems: list[dict[str, Any]]) -> list[str]:
    if not problems:
        return ["None."]
    lines = []
    for p in problems:
        lines.append(f"- **{p['severity']}** ({p['kind']}): {p['message']}")
        ids = p["ids"]
        if len(ids) > 1:
            more = f" and {len(ids) - _SHOW_IDS} more" if len(ids) > _SHOW_IDS else ""
            lines.append(f"  - {', '.join(f'`{i}`' for i in ids[:_SHOW_IDS])}{more}")
    return lines


def _folds(report: dict[str, Any]) -> list[str]:
    rows: list[tuple[Any, ...]] = []
    for fold, facts in report["fold_splits"].items():
        usable, total = facts["usable"], facts["utterances"]
        overlap = "; ".join(", ".join(ids) for ids in facts["speaker_overlap"]) or "none"
        rows.append(
            (
                fold,
                *(f"{usable[s]}/{total[s]}" for s in ("train", "val", "test")),
                facts["left_out"],
                overlap,
            )
        )
    lines = [
        "Usable/listed utterances per split; usable excludes what training would skip.",
        "",
        *_table(["fold", "train", "val", "test", "left out", "speaker overlap"], rows),
    ]
    if report["classes"]:
        lines += ["", "Usable utterances per class:", ""]
        class_rows = [
            (fold, split, *facts["per_class"][split].values())
            for fold, facts in report["fold_splits"].items()
            for split in ("train", "val", "test")
        ]
        lines += _table(["fold", "split", *report["classes"]], class_rows)
    return lines


def _speakers(report: dict[str, Any]) -> list[str]:
    speakers = report["per_speaker"]
    rows = [
        (speaker, facts["utterances"], *facts["per_class"].values())
        for speaker, facts in list(speakers.items())[:_SHOW_SPEAKERS]
    ]
    more = len(speakers) - len(rows)
    return [
        *_table(["speaker", "utterances", *report["classes"]], rows),
        *(["", f"... and {more} more speakers (report.json lists all)."] if more else []),
    ]


def _durations(report: dict[str, Any]) -> list[str]:
    stats, cap, over_cap = report["durations"], report["cap_seconds"], report["over_cap"]
    if not stats["count"]:
        return ["No readable clip."]
    lines = [
        f"{stats['count']} readable clips, {stats['total_hours']} h: min {stats['min']} s, "
        f"median {stats['median']} s, mean {stats['mean']} s, max {stats['max']} s "
        "(from file headers; segment start/end respected).",
        "",
        "![durations](durations.png)",
        "",
    ]
    if cap is None:
        return [*lines, "No cap (data.max_clip_seconds is null)."]
    lines.append(
        f"{len(over_cap)} clips are longer than the cap ({cap:g} s) and would be cut to it."
    )
    if over_cap:
        shown = [(i, f"{s:.1f}") for i, s in over_cap[:_SHOW_ROWS]]
        lines += ["", *_table(["id", "seconds"], shown)]
    return lines


def _skipped(report: dict[str, Any]) -> list[str]:
    skipped = report["skipped"]
    if not skipped:
        return ["None: training would use every utterance."]
    counts = ", ".join(f"{r} {n}" for r, n in sorted(report["skip_counts"].items()))
    rows = [tuple(row) for row in skipped[:_SHOW_ROWS]]
    more = len(skipped) - len(rows)
    return [
        f"{len(skipped)} utterances would be skipped ({counts}), with the reasons of "
        "training's skip report:",
        "",
        *_table(["id", "reason", "detail"], rows),
        *(["", f"... and {more} more (report.json lists all)."] if more else []),
    ]


def _table(header: list[str], rows: Any) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(c).replace("|", "\\|").replace("\n", " ") for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return lines
