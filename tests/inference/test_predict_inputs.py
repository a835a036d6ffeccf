"""What `mmfa predict` and EmotionRecognizer accept, refuse and protect (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmfa.datamodules.inputs import read_inputs
from mmfa.errors import BadInputError, ConfigError
from mmfa.features.audio_io import signal_from_array
from mmfa.predict_command import build_parser, check_out


def _tone(seconds: float = 0.5, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


# -- arrays as audio libraries return them -----------------------------------------------------
def test_every_layout_and_type_gives_the_same_signal() -> None:
    torch = pytest.importorskip("torch")
    mono = _tone()
    want = signal_from_array(mono, 16000, utterance_id="x")
    stereo = np.stack([mono, mono], axis=1)
    same = [
        signal_from_array(stereo, 16000, utterance_id="x"),  # (N, 2): soundfile
        signal_from_array(stereo.T.copy(), 16000, utterance_id="x"),  # (2, N): torchaudio
        signal_from_array(torch.from_numpy(mono), 16000, utterance_id="x"),
        signal_from_array(mono.astype(np.float64), np.int64(16000), utterance_id="x"),
    ]
    for got in same:
        np.testing.assert_allclose(got, want, atol=1e-7)
    pcm = np.round(mono * 32767).astype(np.int16)  # integer PCM is scaled like a file's
    np.testing.assert_allclose(signal_from_array(pcm, 16000, utterance_id="x"), want, atol=1e-4)
    resampled = signal_from_array(_tone(rate=44100), 44100, utterance_id="x")
    assert abs(len(resampled) - len(want)) <= 1


@pytest.mark.parametrize(
    ("samples", "rate", "match"),
    [
        ([0.1, 0.2], 16000, "numpy array or a torch tensor"),
        (np.ones(16000, dtype=bool), 16000, "dtype bool"),
        (np.ones(16000, dtype=np.complex64), 16000, "dtype complex64"),
        (np.ones((3, 4, 5), dtype=np.float32), 16000, "one recording"),
        (np.ones((100, 200), dtype=np.float32), 16000, "neither"),
        (_tone(), 0, "positive"),
        (_tone(), -8000, "positive"),
        (_tone(), 16000.0, "as an int"),
        (_tone(), None, "as an int"),
    ],
)
def test_what_is_not_audio_is_refused_in_one_line(
    samples: object, rate: object, match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        signal_from_array(samples, rate, utterance_id="input_00000")
    assert "tmp" not in str(info.value) and "\n" not in str(info.value)


def test_bad_sound_is_a_bad_input_like_a_file() -> None:
    with pytest.raises(BadInputError, match="out_of_range|beyond full scale"):
        signal_from_array(_tone() * 100, 16000, utterance_id="loud")
    with pytest.raises(BadInputError) as info:
        signal_from_array(np.zeros(16000, dtype=np.float32), 16000, utterance_id="quiet")
    assert info.value.reason == "silent"
    with pytest.raises(BadInputError) as info:
        signal_from_array(_tone(0.01), 16000, utterance_id="short")
    assert info.value.reason == "too_short"


# -- the inputs reader ---------------------------------------------------------------------------
def _wav(path: Path) -> Path:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, _tone(), 16000)
    return path


def test_speakers_come_from_the_manifest_the_option_or_the_folder(tmp_path: Path) -> None:
    _wav(tmp_path / "ann" / "a.wav")
    _wav(tmp_path / "bob" / "b.wav")
    plain = read_inputs([tmp_path])
    assert [(u.id, u.speaker) for u in plain.utterances] == [("ann/a.wav", ""), ("bob/b.wav", "")]
    folders = read_inputs([tmp_path], speaker_from_folder=True)
    assert [u.speaker for u in folders.utterances] == ["ann", "bob"]
    assert {u.speaker for u in read_inputs([tmp_path], speaker="zoe").utterances} == {"zoe"}
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(
        json.dumps({"path": "ann/a.wav", "speaker": "x", "label": "happy"})
        + "\n"
        + json.dumps({"path": "bob/b.wav"})
        + "\n"
    )
    read = read_inputs([manifest], speaker="zoe")
    assert [u.speaker for u in read.utterances] == ["x", "zoe"]
    assert read.labels == ["happy", None]
    with pytest.raises(ConfigError, match="not both"):
        read_inputs([tmp_path], speaker="zoe", speaker_from_folder=True)


def test_manifest_mistakes_are_refused(tmp_path: Path) -> None:
    _wav(tmp_path / "a.wav")
    twice = tmp_path / "twice.csv"
    twice.write_text("id,path\nx,a.wav\nx,a.wav\n")
    with pytest.raises(ConfigError, match="more than once"):
        read_inputs([twice])
    quote = tmp_path / "quote.csv"
    quote.write_text('path,text\na.wav,"unterminated\na.wav,next row\n')
    with pytest.raises(ConfigError, match="quote"):
        read_inputs([quote])


def test_a_dangling_link_in_a_folder_is_kept_to_be_listed(tmp_path: Path) -> None:
    _wav(tmp_path / "a.wav")
    (tmp_path / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    ids = [u.id for u in read_inputs([tmp_path]).utterances]
    assert ids == ["a.wav", "gone.wav"]  # the pipeline then skips it as missing, with a reason


def test_a_linked_folder_is_read_and_a_link_loop_ends(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _wav(tmp_path / "elsewhere" / "b.wav")
    _wav(corpus / "a.wav")
    (corpus / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (corpus / "loop").symlink_to(corpus, target_is_directory=True)
    ids = [u.id for u in read_inputs([corpus]).utterances]
    assert ids == ["a.wav", "more/b.wav"]


# -- --out never overwrites what it must not -----------------------------------------------------
def test_out_refuses_inputs_the_model_folders_and_other_formats(tmp_path: Path) -> None:
    wav = _wav(tmp_path / "a.wav")
    ckpt = tmp_path / "best.ckpt"
    ckpt.write_bytes(b"weights")
    inputs = read_inputs([tmp_path])
    for bad, match in (
        (wav, "ending in .csv or .jsonl"),
        (ckpt, "ending in .csv or .jsonl"),
        (tmp_path, "is a folder|ending in"),
        (tmp_path / "x.txt", "ending in .csv or .jsonl"),
    ):
        with pytest.raises(ConfigError, match=match):
            check_out(bad, str(ckpt), [str(tmp_path)], inputs)
    folder_named_csv = tmp_path / "out.csv"
    folder_named_csv.mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        check_out(folder_named_csv, str(ckpt), [str(tmp_path)], inputs)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path\na.wav\n")
    with pytest.raises(ConfigError, match="would overwrite"):
        check_out(manifest, str(ckpt), [str(manifest)], read_inputs([manifest]))
    ok = check_out(tmp_path / "preds.jsonl", str(ckpt), [str(tmp_path)], inputs)
    assert ok == tmp_path / "preds.skipped.csv"


def test_predict_help_is_fast_and_shows_input_and_out_first() -> None:
    text = build_parser().format_help()
    first_screen = "\n".join(text.splitlines()[:30])
    assert "--input" in first_screen and "--out" in first_screen


def test_predict_help_imports_no_training_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from mmfa.cli import main\n"
        "try:\n    main(['predict', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('lightning' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False"


def test_folders_filed_by_speaker_get_a_hint_never_a_grouping(tmp_path: Path) -> None:
    """Folders may be filed by speaker, date or emotion: mmfa only suggests --speaker_from_folder,
    and only for a model that normalises per speaker."""
    from types import SimpleNamespace

    from mmfa.predict_command import speaker_folders_hint

    for name in ("ann/a.wav", "ann/b.wav", "bob/c.wav", "bob/d.wav"):
        _wav(tmp_path / name)
    plain = read_inputs([tmp_path]).utterances
    per_speaker = SimpleNamespace(preparation=SimpleNamespace(speaker_norm=True))
    hint = speaker_folders_hint(per_speaker, plain)
    assert hint is not None and "--speaker_from_folder" in hint and "2 folders" in hint
    assert all(u.speaker == "" for u in plain)  # advice only: nothing was grouped
    ensemble = SimpleNamespace(members=[per_speaker])
    assert speaker_folders_hint(ensemble, plain) == hint
    global_stats = SimpleNamespace(preparation=SimpleNamespace(speaker_norm=False))
    assert speaker_folders_hint(global_stats, plain) is None
    named = read_inputs([tmp_path], speaker_from_folder=True).utterances
    assert speaker_folders_hint(per_speaker, named) is None
    assert speaker_folders_hint(per_speaker, plain[:3]) is None  # 'bob' holds one file
