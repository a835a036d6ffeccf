"""`mmfa data check`: every problem in one pass, and numbers that agree with what training does.

On the demo corpus its per-split counts equal what the datamodule's setup gives for each fold; on
a broken wav-folder corpus (examples/wav_folder_plugin) it reports a missing file, a corrupt wav,
a too-short clip, an empty transcript, a duplicate id, a label typo and a speaker in two splits
at once, and with ``--extract`` it skips exactly what setup skips. No training.
"""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from mmfa.cli import main
from mmfa.experiments.data_check import EXIT_PROBLEMS, run_data_check
from mmfa.lightning_cli import build_cli
from mmfa.testing.media import tone, write_wav

REPO = Path(__file__).resolve().parents[2]
DEMO = [
    "--config",
    str(REPO / "configs/demo.yaml"),
    "--data.init_args.num_speakers=6",
    "--data.init_args.utterances_per_speaker=12",
]
needs_plugin = pytest.mark.skipif(
    importlib.util.find_spec("mmfa_wav_folder") is None,
    reason="example plugin not installed: pip install -e examples/wav_folder_plugin",
)


def test_demo_counts_equal_what_setup_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["data", "check", *DEMO, "--out", str(tmp_path)])  # no SystemExit: nothing stops it
    out = capsys.readouterr().out
    assert "folds that will run: pair1, pair2, pair3" in out and "ready to train" in out
    assert {p.name for p in tmp_path.iterdir()} == {"report.md", "report.json", "durations.png"}
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] and report["problems"] == [] and report["utterances"] == 72
    assert report["folds"] == ["pair1", "pair2", "pair3"]
    dm = build_cli(DEMO, run=False).datamodule
    for fold in report["folds"]:
        dm.fold = fold
        dm.setup("fit")
        facts = report["fold_splits"][fold]
        assert facts["usable"] == {s: len(r) for s, r in dm.refs.items()}
        assert facts["per_class"] == {s: dm.label_counts(s) for s in dm.refs}
        assert facts["speaker_overlap"] == []


def write_broken_corpus(root: Path, *, fatal: bool) -> Path:
    """A wav-folder corpus with a split column and one of each problem.

    Skipped by training: a missing file, a corrupt wav, a 50 ms clip, an empty transcript and a
    silent clip (found only by decoding). With ``fatal``: also a duplicated id and a speaker in
    both train and test, which stop training. Always: a label typo (``hapy``, once).
    """
    splits = {"ann": "train", "bob": "train", "cat": "val", "dan": "test"}
    rows = []
    for s, (speaker, split) in enumerate(splits.items()):
        for i, label in enumerate(["happy", "sad", "angry"] * 2):
            path = f"audio/{speaker}_{i}.wav"
            write_wav(root / path, tone(0.8, freq=150 + 30 * i, seed=10 * s + i))
            rows.append([path, f"words {label} {i}", label, speaker, split])
    write_wav(root / "audio/short.wav", tone(0.05))
    write_wav(root / "audio/silent.wav", np.zeros(16000, dtype=np.float32))
    for name in ("no_text", "typo", "dan_extra"):
        write_wav(root / f"audio/{name}.wav", tone(0.8, seed=len(name)))
    (root / "audio/corrupt.wav").write_bytes(b"this is not a wav file" * 20)
    rows += [
        ["audio/missing.wav", "lost words", "sad", "ann", "train"],
        ["audio/corrupt.wav", "broken words", "angry", "ann", "train"],
        ["audio/short.wav", "short words", "happy", "bob", "train"],
        ["audio/silent.wav", "silent words", "sad", "bob", "train"],
        ["audio/no_text.wav", "  ", "angry", "bob", "train"],
        ["audio/typo.wav", "typo words", "hapy", "ann", "train"],
    ]
    if fatal:
        rows += [
            ["audio/ann_1.wav", "the same file again", "sad", "ann", "train"],  # a second id
            ["audio/dan_extra.wav", "dan in train too", "happy", "dan", "train"],
        ]
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "transcript", "label", "speaker", "split"])
        writer.writerows(rows)
    return root


def _plugin_args(root: Path) -> list[str]:
    return [
        "--config",
        str(REPO / "configs/demo.yaml"),
        "--data",
        "WavFolderDataModule",
        f"--data.root={root}",
        "--data.batch_size=2",
    ]


@needs_plugin
def test_broken_corpus_every_problem_in_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_broken_corpus(tmp_path / "corpus", fatal=True)
    with pytest.raises(SystemExit) as stop:
        main(["data", "check", *_plugin_args(root), "--out", str(tmp_path / "report")])
    assert stop.value.code == EXIT_PROBLEMS
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    kinds = {(p["severity"], p["kind"]) for p in report["problems"]}
    assert kinds == {
        ("error", "duplicate_ids"),
        ("error", "speaker_overlap"),
        ("warning", "skipped"),
        ("warning", "rare_class"),
    }
    by_kind = {p["kind"]: p for p in report["problems"]}
    # Two rows of one file: the plugin's id is then the path with its extension.
    assert by_kind["duplicate_ids"]["ids"] == ["audio/ann_1.wav"]
    assert by_kind["speaker_overlap"]["ids"] == ["dan"] and "train and test" in out
    assert by_kind["rare_class"]["ids"] == ["hapy"]
    # Headers find all but the silent clip, with the reason tags of training's skip report.
    assert report["skip_counts"] == {
        "missing": 1,
        "unreadable": 1,
        "too_short": 1,
        "empty_transcript": 1,
    }
    assert report["fold_splits"]["official"]["speaker_overlap"] == [["dan"]]
    assert "2 problems would stop training" in out
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "audio/missing" in markdown and "audio/corrupt" in markdown


@needs_plugin
def test_extract_skips_exactly_what_setup_skips(tmp_path: Path) -> None:
    root = write_broken_corpus(tmp_path / "corpus", fatal=False)
    args = _plugin_args(root)
    headers, _ = run_data_check([*args, "--out", str(tmp_path / "headers")])
    extracted, _ = run_data_check([*args, "--extract", "--out", str(tmp_path / "extract")])
    assert not headers.errors and not extracted.errors
    assert extracted.skip_counts() == {**headers.skip_counts(), "silent": 1}

    dm = build_cli(args, run=False).datamodule
    dm.setup("fit")
    assert dm.feature_report is not None
    assert sorted(extracted.skipped) == sorted(dm.feature_report.skipped)
    assert extracted.fold_splits["official"]["usable"] == {s: len(r) for s, r in dm.refs.items()}


def test_manifest_findings_list_every_problem_and_setup_raises_the_first() -> None:
    from mmfa.datamodules.validation import check_manifest, manifest_findings
    from mmfa.errors import MMFAError
    from mmfa.manifest import Utterance

    def utt(uid: str, label: int, split: str) -> Utterance:
        return Utterance(uid, None, "words", label, "spk", split)

    utts = [
        utt("a", 0, "train"),
        utt("a", 1, "train"),  # duplicate id
        utt("b", 5, "test"),  # label outside the two classes
        utt("c", 0, "dev"),  # split mmfa does not know
        utt("d", 1, "dev"),
    ]
    kw = {"owner": "Corpus", "class_names": ("x", "y"), "task_type": "multiclass"}
    findings = manifest_findings(utts, **kw)
    assert [(f.kind, f.ids) for f in findings] == [
        ("duplicate_ids", ("a",)),
        ("bad_labels", ("b",)),
        ("bad_split", ("c", "d")),
    ]
    assert "use 'val'" in findings[2].message
    with pytest.raises(MMFAError) as raised:
        check_manifest(utts, **kw)
    assert str(raised.value) == findings[0].message
