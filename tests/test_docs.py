"""Numbers the docs state about the shipped configs and defaults, checked against the source."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _row(doc: str, key: str) -> str:
    """The table row of ``docs/<doc>`` whose first cell is ``key``."""
    lines = (REPO / "docs" / doc).read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if line.startswith(f"| {key} |")]
    assert len(rows) == 1, f"docs/{doc}: expected one row for {key}, found {len(rows)}"
    return rows[0]


def test_configuration_doc_gives_the_demo_epochs_and_patience() -> None:
    demo = yaml.safe_load((REPO / "configs" / "demo.yaml").read_text(encoding="utf-8"))
    trainer = demo["trainer"]
    (early,) = [c for c in trainer["callbacks"] if c["class_path"].endswith("EarlyStopping")]
    assert f"{trainer['max_epochs']} (demo)" in _row("configuration.md", "`max_epochs`")
    patience = early["init_args"]["patience"]
    assert f"`patience: {patience}` (demo" in _row("configuration.md", "`callbacks[EarlyStopping]`")


def test_model_doc_gives_the_batchnorm_momentum_the_code_uses() -> None:
    from mmfa.layers import BN_MOMENTUM, ClassifierHead, MaskedBatchNorm1d

    row = _row("model.md", "BatchNorm per input (Fig. 1, App. A)")
    assert f"momentum {BN_MOMENTUM}" in row
    assert MaskedBatchNorm1d(4).momentum == BN_MOMENTUM
    head_norms = [m for m in ClassifierHead(4, 2).modules() if "BatchNorm" in type(m).__name__]
    assert head_norms and all(m.momentum == BN_MOMENTUM for m in head_norms)


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_benchmark_results_record_no_absolute_paths() -> None:
    """Results name paths relative to the repository (or the corpus), never this machine's."""
    import json

    found = {
        path.name: [
            s
            for s in _strings(json.loads(path.read_text(encoding="utf-8")))
            if s.startswith(("/", "~")) or "=/" in s or "=~" in s
        ]
        for path in sorted((REPO / "benchmarks" / "results").glob("*.json"))
    }
    assert {name: bad for name, bad in found.items() if bad} == {}
