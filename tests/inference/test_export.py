"""`mmfa export` + `EmotionRecognizer.from_pretrained`: shareable, no pickle, same scores."""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import pytest

from mmfa.cli import main
from mmfa.errors import ConfigError
from mmfa.testing.demo_fit import fit_demo


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(checkpoint, its run's predictions.csv, the exported folder) of a tiny demo fit."""
    root = tmp_path_factory.mktemp("fit")
    ckpt, predictions = fit_demo(root, "--data.init_args.speaker_norm=true")
    out = root / "model"
    main(["export", "--ckpt_path", str(ckpt), "--out", str(out)])
    return ckpt, predictions, out


def _inputs(predictions: Path) -> tuple[list[str], list[str], list[str], list[str]]:
    from mmfa.datamodules.synthetic import SyntheticDataModule

    dm = SyntheticDataModule(num_speakers=6, utterances_per_speaker=12)
    by_id = {u.id: u for u in dm.load_manifest()}
    with predictions.open(newline="") as handle:
        ids = [r["id"] for r in csv.DictReader(handle)]
    utts = [by_id[i] for i in ids]
    return ids, [str(u.audio_path) for u in utts], [u.text for u in utts], [u.speaker for u in utts]


def test_the_folder_holds_no_pickle_and_describes_itself(exported: tuple[Path, Path, Path]) -> None:
    _, _, out = exported
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    config = json.loads((out / "config.json").read_text())
    assert config["format"] == "mmfa-model"
    assert config["inference"]["audio_preparation"]["speaker_norm"] is True
    assert len(config["inference"]["audio_preparation"]["training_stats"]["mean"]) == 39
    assert set(config["metrics"]["test"]) >= {"UA", "WA"}
    card = (out / "README.md").read_text()
    assert "## Intended use and limits" in card and "licence" in card
    with pytest.raises(pickle.UnpicklingError):  # safetensors, not a pickle container
        pickle.loads((out / "model.safetensors").read_bytes())


def test_round_trip_gives_the_checkpoints_probabilities(exported: tuple[Path, Path, Path]) -> None:
    from mmfa import EmotionRecognizer

    ckpt, predictions, out = exported
    ids, paths, texts, speakers = _inputs(predictions)
    a = EmotionRecognizer.from_checkpoint(ckpt).predict_many(
        paths, texts=texts, ids=ids, speakers=speakers, progress=False
    )
    b = EmotionRecognizer.from_pretrained(out).predict_many(
        paths, texts=texts, ids=ids, speakers=speakers, progress=False
    )
    assert [p.id for p in a.predictions] == [p.id for p in b.predictions] == ids
    for x, y in zip(a.predictions, b.predictions, strict=True):
        for name, value in x.scores.items():
            assert y.scores[name] == pytest.approx(value, abs=1e-6)


def test_a_hub_repo_id_loads_offline_from_the_cache(
    exported: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mmfa import EmotionRecognizer

    _, _, out = exported
    hub = tmp_path / "hf" / "hub" / "models--someone--ravdess-mmfa"
    snapshot = hub / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).write_bytes((out / name).read_bytes())
    (hub / "refs").mkdir()
    (hub / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    recognizer = EmotionRecognizer.from_pretrained("someone/ravdess-mmfa")
    assert recognizer.class_names == EmotionRecognizer.from_pretrained(out).class_names
    with pytest.raises(ConfigError, match="cannot get the Hub model"):
        EmotionRecognizer.from_pretrained("someone/not-cached")


def test_export_refuses_to_mix_with_other_files(
    exported: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    ckpt, _, out = exported
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        main(["export", "--ckpt_path", str(ckpt), "--out", str(busy)])
    with pytest.raises(ConfigError, match="--overwrite"):
        main(["export", "--ckpt_path", str(ckpt), "--out", str(out)])
    with pytest.raises(ConfigError, match="not an exported mmfa model"):
        from mmfa import EmotionRecognizer

        EmotionRecognizer.from_pretrained(busy)


def test_unnamed_speakers_use_the_training_statistics_and_say_so_once(
    exported: tuple[Path, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A speaker-normalised model on files without speakers: no per-file statistics, one warning;
    a single file gives what it gives among many (the statistics do not depend on the others)."""
    from mmfa import EmotionRecognizer

    ckpt, predictions, _ = exported
    ids, paths, texts, speakers = _inputs(predictions)
    recognizer = EmotionRecognizer.from_checkpoint(ckpt)
    with caplog.at_level("WARNING"):
        many = recognizer.predict_many(paths[:6], texts=texts[:6], ids=ids[:6], progress=False)
        one = recognizer.predict(paths[0], text=texts[0])
    assert caplog.text.count("have no speaker") == 1
    for name, value in one.scores.items():
        assert many.predictions[0].scores[name] == pytest.approx(value, abs=1e-6)
    caplog.clear()
    named = EmotionRecognizer.from_checkpoint(ckpt)
    with caplog.at_level("WARNING"):
        named.predict(paths[0], text=texts[0], speaker=speakers[0])
    assert "have no speaker" not in caplog.text


def test_a_speaker_named_on_few_inputs_draws_a_warning_unless_the_model_has_a_prior(
    exported: tuple[Path, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """Statistics of one clip standardise away what it says: said once, naming the speaker; a
    prior (data.speaker_norm_prior, recorded in the checkpoint) pools in the training statistics,
    so with one worth everything a one-clip speaker is predicted like an unnamed one."""
    from mmfa import EmotionRecognizer

    ckpt, predictions, _ = exported
    ids, paths, texts, speakers = _inputs(predictions)
    recognizer = EmotionRecognizer.from_checkpoint(ckpt)
    assert recognizer.preparation.speaker_norm_prior == 0.0
    with caplog.at_level("WARNING"):
        recognizer.predict(paths[0], text=texts[0], speaker=speakers[0])
        recognizer.predict(paths[1], text=texts[1], speaker=speakers[1])
    assert caplog.text.count("named on fewer than 4 inputs") == 1
    assert f"{speakers[0]}: 1" in caplog.text
    caplog.clear()
    unnamed = recognizer.predict(paths[0], text=texts[0])
    pooled = EmotionRecognizer.from_checkpoint(ckpt)
    pooled.preparation.speaker_norm_prior = 1e9
    with caplog.at_level("WARNING"):
        one = pooled.predict(paths[0], text=texts[0], speaker=speakers[0])
    assert "named on fewer" not in caplog.text
    for name, value in unnamed.scores.items():
        assert one.scores[name] == pytest.approx(value, abs=1e-4)
