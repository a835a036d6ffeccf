"""Use a trained model: checkpoint alone -> predictions on raw files, equal to the run's test."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmfa.cli import main
from mmfa.errors import ConfigError
from mmfa.testing.demo_fit import REPO, SMALL, fit_demo


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as handle:
        return {r["id"]: r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A tiny `mmfa fit` of the demo: (checkpoint, its test predictions.csv, raw-file manifest)."""
    root = tmp_path_factory.mktemp("fit")
    ckpt, predictions = fit_demo(root, epochs=2)
    # The demo's raw audio files and transcripts, as a user would list them.
    from mmfa.datamodules.synthetic import SyntheticDataModule

    dm = SyntheticDataModule(num_speakers=6, utterances_per_speaker=12)
    utterances = {u.id: u for u in dm.load_manifest()}
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "path", "text", "label"])
        for uid, row in _rows(predictions).items():
            utt = utterances[uid]
            writer.writerow([uid, utt.audio_path, utt.text, dm.class_names[int(row["target"])]])
    return ckpt, predictions, manifest


def test_checkpoint_alone_reproduces_the_test_predictions(
    trained: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ckpt, predictions, manifest = trained
    out = tmp_path / "preds.csv"
    main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest), "--out", str(out)])
    want, got = _rows(predictions), _rows(out)
    assert set(got) == set(want)
    for uid, row in want.items():
        for column, value in row.items():
            if column.startswith("score_"):
                assert float(got[uid][column]) == pytest.approx(float(value), abs=1e-5), uid
        assert got[uid]["modalities"] == "audio+text"
    # JSON lines: the same rows, and never a second file beside the CSV.
    assert not out.with_suffix(".jsonl").exists()
    as_json = tmp_path / "preds.jsonl"
    main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest), "--out", str(as_json)])
    jsonl = [json.loads(line) for line in as_json.read_text().splitlines()]
    assert [r["id"] for r in jsonl] == list(got)
    for row in jsonl:
        for column, value in row.items():
            if column.startswith("score_"):
                assert value == pytest.approx(float(got[row["id"]][column]), abs=1e-6)


def test_python_api_in_a_fresh_process(trained: tuple[Path, Path, Path]) -> None:
    ckpt, predictions, manifest = trained
    first = next(iter(_rows(manifest).values()))
    code = (
        "import json, sys; from mmfa import EmotionRecognizer; "
        f"r = EmotionRecognizer.from_checkpoint({str(ckpt)!r}); "
        f"p = r.predict({first['path']!r}, text={first['text']!r}); "
        "print(json.dumps(p.scores))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    scores = json.loads(out.stdout.strip().splitlines()[-1])
    want = _rows(predictions)[first["id"]]
    for name, value in scores.items():
        assert value == pytest.approx(float(want[f"score_{name}"]), abs=1e-5)
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_array_input_and_missing_transcript(trained: tuple[Path, Path, Path]) -> None:
    import soundfile

    from mmfa import EmotionRecognizer

    ckpt, _, manifest = trained
    first = next(iter(_rows(manifest).values()))
    recognizer = EmotionRecognizer.from_checkpoint(ckpt)
    samples, rate = soundfile.read(first["path"], dtype="float32")
    from_file = recognizer.predict(first["path"], text=first["text"])
    from_array = recognizer.predict(samples, text=first["text"], sample_rate=rate)
    for name, value in from_file.scores.items():
        assert from_array.scores[name] == pytest.approx(value, abs=1e-4)
    with pytest.raises(ConfigError, match="needs audio and text.*modality dropout"):
        recognizer.predict(first["path"])  # MMFA without modality dropout needs the transcript


def test_bad_inputs_give_clear_messages(trained: tuple[Path, Path, Path], tmp_path: Path) -> None:
    ckpt, _, manifest = trained
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="no audio file"):
        main(["predict", "--ckpt_path", str(ckpt), "--input", str(empty), "--out", "x.csv"])
    with pytest.raises(ConfigError, match="is a URL"):
        main(
            [
                "predict",
                "--ckpt_path",
                "https://example.org/x.ckpt",
                "--input",
                str(manifest),
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
    # An unreadable file is listed with its reason, the rest predicted.
    rows = list(_rows(manifest).values())[:2]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all")
    bad_manifest = tmp_path / "m.csv"
    with bad_manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "path", "text"])
        writer.writerow(["good", rows[0]["path"], rows[0]["text"]])
        writer.writerow(["bad", str(broken), "some words"])
    out = tmp_path / "p.csv"
    main(["predict", "--ckpt_path", str(ckpt), "--input", str(bad_manifest), "--out", str(out)])
    assert list(_rows(out)) == ["good"]
    skipped = _rows(tmp_path / "p.skipped.csv")
    assert list(skipped) == ["bad"] and skipped["bad"]["reason"]


def test_checkpoint_holds_only_plain_data_and_its_settings(
    trained: tuple[Path, Path, Path],
) -> None:
    import torch

    ckpt, _, _ = trained
    checkpoint = torch.load(ckpt, weights_only=True)  # no pickled code needed
    spec = checkpoint["mmfa"]
    assert spec["class_names"] and spec["task_type"] == "multiclass"
    assert spec["fusion"]["class_path"] == "mmfa.fusion.mmfa.MMFAFusion"
    assert spec["audio"]["settings"]["dim"] == 39 and spec["text"]["settings"]


def test_test_with_other_feature_settings_is_refused(
    trained: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ckpt, _, _ = trained
    with pytest.raises(ConfigError, match="frame_step"):
        main(
            [
                "test",
                "--config",
                str(REPO / "configs/demo.yaml"),
                "--ckpt_path",
                str(ckpt),
                "--data.init_args.audio.init_args.frame_step=0.04",
                "--trainer.logger=false",
                f"--trainer.default_root_dir={tmp_path}",
                *SMALL,
            ]
        )


def test_remote_checkpoint_is_refused_by_every_subcommand() -> None:
    with pytest.raises(ConfigError, match="is a URL"):
        main(
            [
                "test",
                "--config",
                str(REPO / "configs/demo.yaml"),
                "--ckpt_path",
                "http://127.0.0.1:9/x.ckpt",
                *SMALL,
            ]
        )


def test_three_ways_in_give_the_same_scores(
    trained: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """`--config` (a corpus split), `--input` (files) and predict_many: one path, one answer.

    The config only says which utterances to read: its text encoder may not even be on this
    machine (a MELD config naming bert-base, a model fine-tuned elsewhere)."""
    from mmfa import EmotionRecognizer

    ckpt, predictions, manifest = trained
    by_config = tmp_path / "config.csv"
    main(
        [
            "predict",
            "--config",
            str(REPO / "configs/demo.yaml"),
            "--ckpt_path",
            str(ckpt),
            "--split",
            "test",
            "--out",
            str(by_config),
            *SMALL,
            # the config's own encoder is never loaded: the checkpoint's front-ends predict
            "--data.text.init_args.model=/no/such/encoder",
        ]
    )
    by_files = tmp_path / "files.csv"
    main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest), "--out", str(by_files)])
    rows = list(_rows(manifest).values())
    run = EmotionRecognizer.from_checkpoint(ckpt).predict_many(
        [r["path"] for r in rows], texts=[r["text"] for r in rows], ids=[r["id"] for r in rows]
    )
    from_api = {p.id: p.scores for p in run.predictions}
    got_config, got_files, want = _rows(by_config), _rows(by_files), _rows(predictions)
    assert set(got_config) == set(got_files) == set(from_api) == set(want)
    for uid, row in want.items():
        assert got_config[uid]["label"] == got_files[uid]["label"]
        for column in (c for c in row if c.startswith("score_")):
            value = float(got_config[uid][column])
            assert value == float(got_files[uid][column])
            assert from_api[uid][column.removeprefix("score_")] == pytest.approx(value, abs=1e-6)
            assert value == pytest.approx(float(row[column]), abs=1e-5)


def test_speaker_normalised_model_round_trip(tmp_path: Path) -> None:
    """A model trained with per-speaker statistics and silence trimming: same numbers again."""
    ckpt, predictions = fit_demo(
        tmp_path, "--data.init_args.speaker_norm=true", "--data.init_args.trim_silence=6.0"
    )
    from mmfa.datamodules.synthetic import SyntheticDataModule

    dm = SyntheticDataModule(num_speakers=6, utterances_per_speaker=12)
    utterances = {u.id: u for u in dm.load_manifest()}
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "path", "text", "speaker"])
        for uid in _rows(predictions):
            utt = utterances[uid]
            writer.writerow([uid, utt.audio_path, utt.text, utt.speaker])
    out = tmp_path / "preds.csv"
    main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest), "--out", str(out)])
    want, got = _rows(predictions), _rows(out)
    for uid, row in want.items():
        for column in (c for c in row if c.startswith("score_")):
            assert float(got[uid][column]) == pytest.approx(float(row[column]), abs=1e-5), uid


def test_without_out_a_table_is_printed_and_bad_options_are_one_line(
    trained: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, _, manifest = trained
    main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest)])
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["input", "prediction", "score"]
    assert len(table) == 1 + len(_rows(manifest))
    with pytest.raises(ConfigError, match="device='tpu'"):
        main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest), "--device", "tpu"])
    with pytest.raises(SystemExit):
        main(["predict", "--ckpt_path", str(ckpt), "--input", str(manifest), "--batch_size", "0"])
    assert "--batch_size 0" in capsys.readouterr().err
