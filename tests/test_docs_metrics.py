"""docs/metrics.md states each metric exactly as the vocabulary in mmfa.problem defines it."""

from __future__ import annotations

from pathlib import Path

from mmfa.problem import METRICS, PROBLEM_TYPES, get_problem

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


def test_every_metric_row_matches_the_vocabulary() -> None:
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    assert set(rows) == set(METRICS)
    for key, info in METRICS.items():
        assert rows[key] == (info.label, info.meaning), key


def test_headline_lists_match_the_problems() -> None:
    text = DOC.read_text()
    for kind in PROBLEM_TYPES:
        line = next(li for li in text.splitlines() if li.startswith(f"- {kind}: "))
        for key in get_problem(kind).headline:
            assert f"`{key}`" in line, (kind, key)
