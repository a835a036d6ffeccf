"""The real CLI: version, plugin listing, every config parses, every fusion runs (fast_dev_run)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mmfa.cli import main

REPO = Path(__file__).resolve().parents[1]
ALL_CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
FRAGMENTS = sorted(p for p in (REPO / "configs").glob("*/*.yaml"))
SMALL = ["--data.init_args.num_speakers=6", "--data.init_args.utterances_per_speaker=12"]


def test_version_is_fast_and_light() -> None:
    code = (
        "import sys; from mmfa.cli import main; main(['--version']); "
        "heavy = [m for m in ('torch', 'lightning', 'transformers') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("mmfa ")


def test_plugins_listing_names_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    main(["plugins"])
    out = capsys.readouterr().out
    for name in ("synthetic", "mmfa.fusion.mmfa:MMFAFusion", "text-only"):
        assert name in out


@pytest.mark.parametrize("config", ALL_CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_config_prints(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(config), "--print_config"])
    assert exit_info.value.code in (0, None)
    out = capsys.readouterr().out
    assert "trainer:" in out and "model:" in out


def ignored_settings(fragment: Any, resolved: Any, path: str = "") -> list[str]:
    """The settings of a config ``fragment`` that the ``resolved`` config does not hold.

    Dicts must hold every key of the fragment (recursively); a list element of the fragment must
    be held by some element of the resolved list (a list may gain defaults or entries); a dict
    matched against a list (a single logger given, a list printed) by one of its elements;
    anything else must be equal.
    """
    if isinstance(fragment, dict) and isinstance(resolved, list):
        if any(not ignored_settings(fragment, item, path) for item in resolved):
            return []
        return [path or "/"]
    if isinstance(fragment, dict):
        if not isinstance(resolved, dict):
            return [path or "/"]
        return [
            missing
            for key, value in fragment.items()
            for missing in (
                ignored_settings(value, resolved[key], f"{path}.{key}".lstrip("."))
                if key in resolved
                else [f"{path}.{key}".lstrip(".")]
            )
        ]
    if isinstance(fragment, list):
        if not isinstance(resolved, list):
            return [path]
        return [
            f"{path}[{i}]"
            for i, item in enumerate(fragment)
            if all(ignored_settings(item, candidate) for candidate in resolved)
        ]
    if fragment == resolved:
        return []
    if path.endswith("class_path") and isinstance(fragment, str) and isinstance(resolved, str):
        # the printed path may be a shorter one for the same class (mmfa.fusion.LateFusion)
        fragment, resolved = _import(fragment), _import(resolved)
    return [] if fragment == resolved else [f"{path}: {fragment!r} became {resolved!r}"]


def _import(dotted: str) -> Any:
    """The object a dotted path names, or the path itself when it does not import."""
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return dotted


def test_ignored_settings_sees_a_dropped_value() -> None:
    resolved = {"model": {"fusion": {"class_path": "a.B", "init_args": {"heads": 2}}}}
    assert ignored_settings({"model": {"fusion": {"class_path": "a.B"}}}, resolved) == []
    assert ignored_settings({"model": {"fusion": {"class_path": "a.C"}}}, resolved) == [
        "model.fusion.class_path: 'a.C' became 'a.B'"
    ]
    assert ignored_settings({"model": {"lr": 1}}, resolved) == ["model.lr"]
    same = {"class_path": "mmfa.fusion.LateFusion"}
    assert ignored_settings({"class_path": "mmfa.fusion.late.LateFusion"}, same) == []


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fragment_composes(fragment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """demo.yaml + the fragment: every setting of the fragment is in the resolved config."""
    with pytest.raises(SystemExit):
        main(
            [
                "fit",
                "--config",
                str(REPO / "configs/demo.yaml"),
                "--config",
                str(fragment),
                "--print_config",
            ]
        )
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert isinstance(resolved, dict), "--print_config printed no config"
    wanted = yaml.safe_load(fragment.read_text(encoding="utf-8"))
    assert wanted, f"{fragment} sets nothing"
    assert ignored_settings(wanted, resolved) == []


CORPUS_CONFIGS = sorted(c for c in (REPO / "configs").glob("*.yaml") if c.name != "demo.yaml")


@pytest.mark.parametrize("corpus", CORPUS_CONFIGS, ids=lambda p: p.name)
def test_practical_recipe_composes_with_every_corpus_config(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The recipe fragment after any corpus config: all of its settings win."""
    fragment = REPO / "configs/recipe/practical.yaml"
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(corpus), "--config", str(fragment), "--print_config"])
    resolved = yaml.safe_load(capsys.readouterr().out)
    wanted = yaml.safe_load(fragment.read_text(encoding="utf-8"))
    assert ignored_settings(wanted, resolved) == []


@pytest.mark.parametrize(
    "fusion", ["MMFAFusion", "ConcatFusion", "LateFusion", "AudioOnly", "TextOnly"]
)
def test_fast_dev_run_every_fusion(fusion: str, tmp_path: Path) -> None:
    from mmfa.lightning_cli import run_cli

    cli = run_cli(
        [
            "fit",
            "--config",
            str(REPO / "configs/demo.yaml"),
            f"--model.fusion={fusion}",
            "--trainer.fast_dev_run=true",
            f"--trainer.default_root_dir={tmp_path}",
            "--trainer.logger=false",
            *SMALL,
        ]
    )
    assert type(cli.model.fusion).__name__ == fusion
    assert any(k.startswith("test/") for k in cli.trainer.callback_metrics)


def test_omegaconf_interpolation_in_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "interp.yaml"
    config.write_text(
        (REPO / "configs/demo.yaml")
        .read_text()
        .replace("    batch_size: 16", "    batch_size: 12\n    seed: ${.batch_size}")
    )
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(config), "--print_config"])
    out = capsys.readouterr().out
    assert "seed: 12" in out and "${" not in out


def test_ablate_writes_one_comparison_row_per_run(tmp_path: Path) -> None:
    main(
        [
            "ablate",
            "--config",
            str(REPO / "configs/demo.yaml"),
            "--grid",
            "model.fusion=AudioOnly,TextOnly",
            "--out",
            str(tmp_path),
            "--folds",
            "pair1",
            "--trainer.max_epochs=1",
            "--trainer.enable_progress_bar=false",
            "--data.batch_size=8",
            *SMALL,
        ]
    )
    table = (tmp_path / "comparison.md").read_text()
    assert "AudioOnly" in table and "TextOnly" in table
    assert (tmp_path / "fusion-AudioOnly" / "report" / "report.json").exists()


def test_checkpoint_serves_test_predict_and_validate(tmp_path: Path) -> None:
    from mmfa.lightning_cli import run_cli

    common = [
        "--config",
        str(REPO / "configs/demo.yaml"),
        "--trainer.logger=false",
        f"--trainer.default_root_dir={tmp_path}",
        "--trainer.enable_progress_bar=false",
        *SMALL,
    ]
    run_cli(["fit", *common, "--trainer.max_epochs=1", "--test_after_fit=false"])
    ckpt = next(tmp_path.rglob("best.ckpt"))
    cli = run_cli(["test", *common, f"--ckpt_path={ckpt}"])
    assert "test/UA" in cli.trainer.callback_metrics
    cli = run_cli(["validate", *common, f"--ckpt_path={ckpt}"])
    assert "val/UA" in cli.trainer.callback_metrics
    run_cli(["predict", *common, f"--ckpt_path={ckpt}"])


def test_fit_writes_skipped_list_and_test_after_fit_reaches_the_data(tmp_path: Path) -> None:
    from mmfa.lightning_cli import run_cli

    cli = run_cli(
        [
            "fit",
            "--config",
            str(REPO / "configs/demo.yaml"),
            "--trainer.max_epochs=1",
            "--trainer.enable_progress_bar=false",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            "--test_after_fit=false",
            *SMALL,
        ]
    )
    assert cli.datamodule.test_after_fit is False
    assert not any(k.startswith("test/") for k in cli.trainer.callback_metrics)
    skipped = Path(cli.trainer.log_dir) / "skipped.csv"
    assert skipped.read_text().splitlines()[0] == "id,split,reason,detail"


def test_a_config_without_logger_gets_the_collision_free_csv_logger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bare.yaml"
    config.write_text("data:\n  class_path: mmfa.datamodules.synthetic.SyntheticDataModule\n")
    with pytest.raises(SystemExit):
        main(["fit", "--config", str(config), "--print_config"])
    out = capsys.readouterr().out
    assert "mmfa.loggers.CSVLogger" in out
