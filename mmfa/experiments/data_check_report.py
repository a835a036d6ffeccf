"""What ``mmfa data check`` writes: the console summary, report.md, report.json, durations.png.

Figures use matplotlib's object API, as the cv report does: no display backend is needed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mmfa.experiments.data_check import DataCheck, Problem, duration_stats

_SHOW_IDS = 10  # ids listed per problem; the rest are counted
_SHOW_ROWS = 50  # rows of the skipped-files and over-the-cap tables
_SHOW_SPEAKERS = 200  # rows of the speaker table (CMU-MOSEI has about a thousand)


def write_report(check: DataCheck, out: Path) -> None:
    """Write ``report.md``, ``report.json`` and (with durations) ``durations.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(check.to_json(), indent=1))
    if check.durations:
        plot_durations(out / "durations.png", list(check.durations.values()), check)
    (out / "report.md").write_text(markdown(check))


def summary_lines(check: DataCheck) -> list[str]:
    """The console summary: the corpus in one line, then one line per problem."""
    folds = [f or "official split" for f in check.folds]
    stats = duration_stats(list(check.durations.values()))
    lines = [
        f"{check.datamodule}: {check.utterances} utterances, {check.speakers} speakers, "
        f"{len(check.classes)} classes; folds that will run: {', '.join(folds)}"
        + (
            f"; {stats['total_hours']:.2f} h of audio, clips {stats['min']:.2f}-"
            f"{stats['max']:.2f} s"
            if stats["count"]
            else ""
        )
    ]
    lines += [f"{p.severity}: {p.message}" for p in check.problems]
    if check.errors:
        lines.append(f"{len(check.errors)} problems would stop training (exit status 1)")
    else:
        lines.append(f"ready to train ({len(check.warnings)} warnings)")
    lines.append(f"checked in {check.wall_s:.1f} s" + ("" if check.extracted else " (headers)"))
    return lines


def markdown(check: DataCheck) -> str:
    """``report.md``: verdict, problems, classes, folds, speakers, durations, skipped files."""
    parts = [f"# Data check: {check.datamodule}", "", *_intro(check), ""]
    parts += ["## Problems", "", *_problems(check.problems), ""]
    if check.per_class:
        parts += ["## Classes", "", *_table(["class", "utterances"], check.per_class.items()), ""]
    parts += ["## Folds", "", *_folds(check), ""]
    parts += ["## Speakers", "", *_speakers(check), ""]
    if check.audio_used:
        parts += ["## Durations", "", *_durations(check), ""]
    parts += ["## Unreadable or suspect files", "", *_skipped(check), ""]
    return "\n".join(parts)


def plot_durations(path: Path, seconds: list[float], check: DataCheck) -> None:
    """Histogram of clip durations, with the cap as a vertical line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.hist(seconds, bins=min(60, max(10, len(seconds) // 20)), color="tab:blue")
    if check.cap_seconds is not None and max(seconds) > 0.5 * check.cap_seconds:
        ax.axvline(check.cap_seconds, color="tab:red", linestyle="--", label="cap (cut beyond)")
        ax.legend()
    ax.set_xlabel("seconds")
    ax.set_ylabel("clips")
    ax.set_title(f"{check.datamodule}: {len(seconds)} clips")
    fig.savefig(path, dpi=100)


def _intro(check: DataCheck) -> list[str]:
    verdict = (
        f"**{len(check.errors)} problems would stop training.**"
        if check.errors
        else f"**Ready to train** ({len(check.warnings)} warnings)."
    )
    source = (
        "features extracted (`--extract`): skips are exactly training's"
        if check.extracted
        else "file headers only; silent or NaN clips are found by `--extract`"
    )
    return [
        verdict,
        "",
        f"- corpus: `{check.root or '(default location)'}`, {check.task_type}, "
        f"{check.utterances} utterances, {check.speakers} speakers",
        f"- classes: {', '.join(check.classes) or '(none)'}",
        f"- folds that will run: {', '.join(f or 'official split' for f in check.folds)}",
        f"- inputs: {'audio' if check.audio_used else ''}"
        f"{' + ' if check.audio_used and check.text_used else ''}"
        f"{'text' if check.text_used else ''}; cap {check.cap_seconds} s",
        f"- checked: {source}; {check.wall_s:.1f} s",
    ]


def _problems(problems: list[Problem]) -> list[str]:
    if not problems:
        return ["None."]
    lines = []
    for p in problems:
        lines.append(f"- **{p.severity}** ({p.kind}): {p.message}")
        if len(p.ids) > 1:
            more = f" and {len(p.ids) - _SHOW_IDS} more" if len(p.ids) > _SHOW_IDS else ""
            lines.append(f"  - {', '.join(f'`{i}`' for i in p.ids[:_SHOW_IDS])}{more}")
    return lines


def _folds(check: DataCheck) -> list[str]:
    rows: list[tuple[Any, ...]] = []
    for fold, facts in check.fold_splits.items():
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
    if check.classes:
        lines += ["", "Usable utterances per class:", ""]
        class_rows = [
            (fold, split, *facts["per_class"][split].values())
            for fold, facts in check.fold_splits.items()
            for split in ("train", "val", "test")
        ]
        lines += _table(["fold", "split", *check.classes], class_rows)
    return lines


def _speakers(check: DataCheck) -> list[str]:
    rows = [
        (speaker, facts["utterances"], *facts["per_class"].values())
        for speaker, facts in list(check.per_speaker.items())[:_SHOW_SPEAKERS]
    ]
    more = len(check.per_speaker) - len(rows)
    return [
        *_table(["speaker", "utterances", *check.classes], rows),
        *(["", f"... and {more} more speakers (report.json lists all)."] if more else []),
    ]


def _durations(check: DataCheck) -> list[str]:
    stats = duration_stats(list(check.durations.values()))
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
    if check.cap_seconds is None:
        return [*lines, "No cap (data.max_clip_seconds is null)."]
    lines.append(
        f"{len(check.over_cap)} clips are longer than the cap ({check.cap_seconds:g} s) and "
        "would be cut to it."
    )
    if check.over_cap:
        shown = [(i, f"{s:.1f}") for i, s in check.over_cap[:_SHOW_ROWS]]
        lines += ["", *_table(["id", "seconds"], shown)]
    return lines


def _skipped(check: DataCheck) -> list[str]:
    if not check.skipped:
        return ["None: training would use every utterance."]
    counts = ", ".join(f"{r} {n}" for r, n in sorted(check.skip_counts().items()))
    rows = [(i, r, d) for i, r, d in check.skipped[:_SHOW_ROWS]]
    more = len(check.skipped) - len(rows)
    return [
        f"{len(check.skipped)} utterances would be skipped ({counts}), with the reasons of "
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
