"""The MELD text benchmark's own behaviour (not its numbers): skip without data, no absolute
paths in what it records."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location(
        "meld_text_only", REPO / "benchmarks" / "meld_text_only.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_skips_cleanly_without_the_csvs(bench, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert bench.main(["--shared", str(tmp_path), "--results", str(tmp_path / "r.json")]) == 0
    assert "SKIP: the MELD CSVs" in capsys.readouterr().out
    assert not (tmp_path / "r.json").exists()


def test_recorded_arguments_hold_no_absolute_paths(bench, tmp_path: Path) -> None:  # noqa: ANN001
    opts = bench.argparse.Namespace(
        monitor="val/F1_w", patience=8, seed=0, batch_size=16, optimizer="adam", lr=1e-3,
        max_epochs=1, deterministic=True, progress=False, text_factor=2.0,
        recurrent_dropout=None, l2=None, lr_decay=None, context_turns=3, context_speakers=True,
        bucketing=False, recipe="faithful", class_weight="none",
    )  # fmt: skip
    args = bench.cli_args(tmp_path / "meld", REPO / "runs" / "x", "run", opts)
    assert "--data.context_turns=3" in args and "--model.text_factor=2.0" in args
    assert "--data.bucketing=false" in args
    recorded = bench.relative_args(args)
    assert not any(os.path.isabs(a.partition("=")[2]) for a in recorded)
    assert f"--config={Path('configs') / 'meld_7class.yaml'}" in recorded
    no_context = bench.argparse.Namespace(**{**vars(opts), "context_turns": 0})
    assert not any("context" in a for a in bench.cli_args(tmp_path, tmp_path, "r", no_context))


def test_practical_recipe_and_class_weights_compose_as_config_fragments(
    bench, tmp_path: Path
) -> None:  # noqa: ANN001,E501
    opts = bench.argparse.Namespace(
        monitor="val/F1_w", patience=8, seed=0, batch_size=16, optimizer="adam", lr=1e-3,
        max_epochs=1, deterministic=True, progress=False, text_factor=None,
        recurrent_dropout=None, l2=None, lr_decay=None, context_turns=0, context_speakers=True,
        bucketing=False, recipe="practical", class_weight="balanced",
    )  # fmt: skip
    recorded = bench.relative_args(bench.cli_args(tmp_path / "meld", tmp_path, "run", opts))
    configs = [a for a in recorded if a.startswith("--config=")]
    assert configs == [
        f"--config={Path('configs') / name}"
        for name in ("meld_7class.yaml", "recipe/practical.yaml", "recipe/class_weights.yaml")
    ]
    # the recipe's optimiser, batch size and schedule are not overridden; no early stopping
    assert not any(
        a.startswith(("--model.optimizer", "--model.lr=", "--data.batch_size")) for a in recorded
    )
    callbacks = next(a for a in recorded if a.startswith("--trainer.callbacks="))
    assert "EarlyStopping" not in callbacks and "ModelCheckpoint" in callbacks


def test_runs_started_in_the_same_second_get_their_own_folders(bench, tmp_path: Path) -> None:  # noqa: ANN001
    names = {bench.reserve_run_name(tmp_path) for _ in range(3)}
    assert len(names) == 3 and all((tmp_path / n).is_dir() for n in names)


def test_finetune_stage_runs_the_user_command_with_relative_records(bench, tmp_path: Path) -> None:  # noqa: ANN001
    opts = bench.argparse.Namespace(
        seed=0, finetune_seed=None, finetune_epochs=3, finetune_lr=5e-5, finetune_batch_size=32,
        finetune_layer_decay=0.9, context_turns=1, context_speakers=True, progress=False,
    )  # fmt: skip
    args = bench.finetune_args(tmp_path / "meld", REPO / "runs" / "x", "run", opts)
    assert args[0] == "finetune-text" and "--finetune.layer_decay=0.9" in args
    recorded = bench.relative_args(args)
    assert not any(os.path.isabs(a.partition("=")[2]) for a in recorded)
    configs = [a for a in recorded if a.startswith("--config=")]
    assert configs == [
        f"--config={Path('configs') / name}"
        for name in ("meld_7class.yaml", "recipe/finetune_text.yaml")
    ]
    # The encoder folder is named by what changes the encoder, not by where data or logs are.
    elsewhere = bench.finetune_args(tmp_path / "other", REPO / "runs" / "x", "run2", opts)
    assert elsewhere[-1] == args[-1]
    more = bench.argparse.Namespace(**{**vars(opts), "finetune_epochs": 4})
    assert bench.finetune_args(tmp_path / "meld", REPO / "runs" / "x", "run", more)[-1] != args[-1]
