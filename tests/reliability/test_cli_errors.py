"""Item 9: on the command line an mmfa error is one line on stderr, exit status 2, no traceback.

Also the "Trust" cases that were tracebacks: a one-class corpus, a fusion reading a modality the
data does not give, ``modality_dropout`` outside [0, 1], and ``mmfa test`` with a checkpoint that
does not fit (another fusion, another corpus, the data's classes in another order).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmfa.cli import main
from mmfa.console import report_errors
from mmfa.errors import ConfigError
from mmfa.lightning_cli import model_class_names

REPO = Path(__file__).resolve().parents[2]
DEMO = ["--config", str(REPO / "configs/demo.yaml")]
SMALL = ["--data.num_speakers=6", "--data.utterances_per_speaker=12"]


def _mmfa(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("MMFA_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "mmfa", *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_error_while_building_the_datamodule_is_one_line() -> None:
    proc = _mmfa("fit", *DEMO, "--data.use_audio=false", "--data.use_text=false")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "mmfa: error: data.use_audio and data.use_text are both false: nothing to feed"
    )
    assert "Traceback" not in proc.stderr and "Union subtypes" not in proc.stderr
    # (MMFA_DEBUG=1 keeping the traceback: test_console.py, without a subprocess)


def test_error_at_setup_is_one_line(tmp_path: Path) -> None:
    proc = _mmfa(
        "fit", *DEMO, *SMALL, "--data.batch_size=1", f"--trainer.default_root_dir={tmp_path}",
        "--trainer.logger=false",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mmfa: error: data.batch_size=1: the model's BatchNorm")
    assert "Traceback" not in proc.stderr


# -- the "Trust" cases, in process (report_errors is what the console script wraps main in) -----
FIT_SMALL = [
    "--data.init_args.num_speakers=6",
    "--data.init_args.utterances_per_speaker=12",
    "--data.init_args.batch_size=8",
    "--trainer.enable_progress_bar=false",
]


def _error_line(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """Run ``mmfa <args>`` as the console script does; return its one error line."""
    monkeypatch.delenv("MMFA_DEBUG", raising=False)
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info, report_errors(out):
        main(list(args))
    assert exit_info.value.code == 2
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mmfa: error: "), out.getvalue()
    return lines[0].removeprefix("mmfa: error: ")


def _fit_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "fit", *DEMO, *FIT_SMALL, "--trainer.max_epochs=1", "--trainer.logger=false",
        f"--trainer.default_root_dir={tmp_path}", *extra,
    ]  # fmt: skip


def test_one_class_is_refused_before_the_metrics_are_built() -> None:
    with pytest.raises(ConfigError, match=r"1 class \(\['angry'\]\); multiclass .* at least 2"):
        model_class_names(("angry",), "multiclass")
    assert model_class_names(("a", "b"), "multiclass") == ["a", "b"]
    assert model_class_names((), "regression") == []


@pytest.mark.skipif(
    importlib.util.find_spec("mmfa_wav_folder") is None,
    reason="example plugin not installed: pip install -e examples/wav_folder_plugin",
)
def test_one_class_corpus_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mmfa.testing.media import tone, write_wav

    corpus = tmp_path / "corpus"
    rows = []
    for i in range(8):
        write_wav(corpus / f"a{i}.wav", tone(0.5, seed=i))
        rows.append([f"a{i}.wav", f"words {i}", "angry", f"s{i % 4}"])
    with (corpus / "labels.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["path", "transcript", "label", "speaker"], *rows])
    line = _error_line(
        monkeypatch, *_fit_args(tmp_path, "--data=WavFolderDataModule", f"--data.root={corpus}")
    )
    assert line.startswith("data: 1 class (['angry']); multiclass classification needs at least")


def test_fusion_reading_audio_without_audio_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    line = _error_line(
        monkeypatch,
        *_fit_args(tmp_path, "--model.fusion=AudioOnly", "--data.init_args.use_audio=false"),
    )
    assert line.startswith("model.fusion reads audio") and "data.use_audio" in line
    assert "TextOnly" in line


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_modality_dropout_outside_zero_one_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    line = _error_line(monkeypatch, *_fit_args(tmp_path, f"--model.modality_dropout={value}"))
    assert line.startswith(f"model.modality_dropout={float(value)}: ") and "[0, 1]" in line


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny `mmfa fit` of the demo (the paper's MMFA fusion): its best.ckpt."""
    root = tmp_path_factory.mktemp("fit")
    main(_fit_args(root, "--test_after_fit=false"))
    return next(root.rglob("best.ckpt"))


def _with_classes(checkpoint: Path, out: Path, names: list[str], corpus: str | None = None) -> Path:
    """A copy of ``checkpoint`` whose inference record names other classes (and corpus)."""
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    data["mmfa"]["class_names"] = names
    if corpus is not None:
        data["mmfa"]["datamodule"] = corpus
    torch.save(data, out)
    return out


def _test_args(tmp_path: Path, ckpt: Path, *extra: str) -> list[str]:
    return [
        "test", *DEMO, *FIT_SMALL, "--trainer.logger=false",
        f"--trainer.default_root_dir={tmp_path}", f"--ckpt_path={ckpt}", *extra,
    ]  # fmt: skip


def test_checkpoint_of_another_fusion_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, checkpoint: Path
) -> None:
    line = _error_line(
        monkeypatch, *_test_args(tmp_path, checkpoint, "--model.fusion=ConcatFusion")
    )
    assert line.startswith(f"checkpoint {checkpoint} does not fit this configuration: ")
    assert "model.fusion: mmfa.fusion.mmfa.MMFAFusion in training, " in line
    assert "mmfa.fusion.concat.ConcatFusion now" in line and "state_dict" not in line
    line = _error_line(
        monkeypatch,
        *_test_args(tmp_path, checkpoint, "--model.fusion.init_args.audio_path=true"),
    )
    assert "model.fusion.init_args.audio_path: False in training, True now" in line


def test_checkpoint_of_another_corpus_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, checkpoint: Path
) -> None:
    other = _with_classes(checkpoint, tmp_path / "other.ckpt", ["a", "b", "c", "d"], "OtherCorpus")
    line = _error_line(monkeypatch, *_test_args(tmp_path, other))
    assert line.startswith("the checkpoint's classes are ['a', 'b', 'c', 'd'], the data's [")
    assert "another corpus (OtherCorpus; the data is SyntheticDataModule)" in line
    assert not (tmp_path / "predictions.csv").exists()


def test_checkpoint_with_the_classes_in_another_order_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, checkpoint: Path
) -> None:
    """Tested anyway, every score column would name another class (test UA 0.208, no word)."""
    from mmfa.datamodules.synthetic import SyntheticDataModule

    data_order = list(SyntheticDataModule.class_names)
    ckpt_order = data_order[::-1]
    reordered = _with_classes(checkpoint, tmp_path / "reordered.ckpt", ckpt_order)
    line = _error_line(monkeypatch, *_test_args(tmp_path, reordered))
    assert line.startswith(f"the checkpoint's classes are {ckpt_order}, the data's {data_order}")
    assert "the same classes in another order" in line
    assert f"data.classes=[{', '.join(ckpt_order)}]" in line
    assert not (tmp_path / "predictions.csv").exists()
    # validate reads the checkpoint the same way
    args = _test_args(tmp_path, reordered)
    assert _error_line(monkeypatch, "validate", *args[1:]) == line


def test_a_mistyped_option_is_one_line_with_what_was_meant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No 70-line usage: the error, the closest options, and where the full list is."""
    from mmfa.cli import main
    from mmfa.cli_errors import suggestion

    assert suggestion("unrecognized arguments: --model.lrr=1", ["--model.lr", "--data"]) == (
        "; did you mean --model.lr?"
    )
    config = tmp_path / "typo.yaml"
    config.write_text("trainer:\n  max_epocs: 3\n")
    for args in (["--model.lrr=1"], ["--config", str(config)]):
        with pytest.raises(SystemExit) as stop:
            main(["fit", "--config", str(REPO / "configs/demo.yaml"), *args])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("mmfa fit: error:")
        assert "did you mean --model.lr" in err[0] or "did you mean --trainer.max_epochs" in err[0]
