"""A checkpoint cannot make mmfa call its own functions, and a remote pickle never runs.

A checkpoint names its fusion and front-ends; mmfa builds only classes registered as entry
points of the group for that role (``mmfa.fusion``, ``mmfa.frontends``, ``mmfa.text``), named by
entry-point name or by the exact class path the entry point declares. Anything else (here
``mmfa.cli.main``, which once ran a nested command that wrote files where the checkpoint said)
is refused before any module is imported or anything called. A remote checkpoint is loaded with
``weights_only=True`` only, whatever the command line says. See docs/security.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import mmfa.checkpoints as checkpoints
import mmfa.cli
from mmfa.cli import main  # the real one: tests replace mmfa.cli.main by a recorder
from mmfa.errors import BadInputError, ConfigError
from mmfa.features.frontend import TextFrontEnd
from mmfa.models.task import EmotionTask

REPO = Path(__file__).resolve().parents[2]
CALLABLE = "mmfa.cli.main"  # a real mmfa function that does things when called


class RecordingText(TextFrontEnd):
    """A test-only text front-end, registered for a test through :func:`registered`."""

    def __init__(self, width: int = 3) -> None:
        self.width = width

    @property
    def dim(self) -> int:
        return self.width

    def settings(self) -> dict[str, Any]:
        return {"extractor": "recording", "width": self.width}

    def extract_many(
        self,
        texts: Sequence[str],
        ids: Sequence[str],
        *,
        contexts: Sequence[Sequence[str]] | None = None,
        progress: bool = True,
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        for i, text in enumerate(texts):
            yield i, np.ones((len(text.split()), self.width), dtype=np.float32)


def registered(monkeypatch: pytest.MonkeyPatch, group: str, name: str, target: str) -> None:
    """Register ``target`` (``module:Class``) in ``group`` for one test, as a plugin would.

    Fakes are registered this way, beside the installed entry points, and never through a
    registration call in mmfa: the registry stays what installed packages declare.
    """
    from importlib.metadata import entry_points

    extra = EntryPoint(name, target, group)

    def patched(*, group: str) -> list[EntryPoint]:
        found = list(entry_points(group=group))
        return [*found, extra] if group == extra.group else found

    monkeypatch.setattr(checkpoints, "entry_points", patched)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Calls made to ``mmfa.cli.main`` (replaced by a recorder for the test)."""
    made: list[tuple[Any, ...]] = []
    monkeypatch.setattr(mmfa.cli, "main", lambda *a, **k: made.append((a, k)))
    return made


def _record(**parts: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "mmfa_version": "0",
        "task_type": "multiclass",
        "class_names": ["a", "b"],
        "fusion": {"class_path": "mmfa.fusion.mmfa.MMFAFusion", "init_args": {}},
        "audio": None,
        "text": {
            "class_path": f"{__name__}.RecordingText",
            "init_args": {"width": 16},
            "settings": {"extractor": "recording", "width": 16},
        },
    }
    record.update(parts)
    return record


def _save(tmp_path: Path, record: dict[str, Any], **hparams: Any) -> Path:
    """A checkpoint as mmfa fit writes it: weights, hyper-parameters, inference record."""
    task = EmotionTask(audio_dim=2, text_dim=16, num_outputs=2, class_names=["a", "b"])
    path = tmp_path / "model.ckpt"
    torch.save(
        {
            "state_dict": task.state_dict(),
            "hyper_parameters": {**dict(task.hparams), **hparams},
            checkpoints.SPEC_KEY: record,
        },
        path,
    )
    return path


HOSTILE = {
    "audio": {"class_path": CALLABLE, "init_args": {"argv": ["fit", "--help"]}, "settings": {}},
    "fusion": {"class_path": CALLABLE, "init_args": {"argv": ["fit", "--help"]}},
    "text": {"class_path": CALLABLE, "init_args": {"argv": ["fit", "--help"]}, "settings": {}},
}


@pytest.mark.parametrize("role", sorted(HOSTILE))
def test_a_function_named_in_a_checkpoint_is_refused_and_never_called(
    role: str, tmp_path: Path, calls: list[tuple[Any, ...]]
) -> None:
    from mmfa.inference import EmotionRecognizer

    path = _save(tmp_path, _record(**{role: HOSTILE[role]}))
    with pytest.raises(ConfigError, match=f"'{CALLABLE}', which is not registered"):
        EmotionRecognizer.from_checkpoint(path)
    assert calls == []


@pytest.mark.parametrize("role", sorted(HOSTILE))
def test_mmfa_predict_refuses_it_too(
    role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[tuple[Any, ...]]
) -> None:
    from mmfa.testing.media import tone, write_wav

    path = _save(tmp_path, _record(**{role: HOSTILE[role]}))
    clip = write_wav(tmp_path / "clip.wav", tone(0.5))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="not registered"):
        main(["predict", "--ckpt_path", str(path), "--input", str(clip), "--out", "p.csv"])
    assert calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.wav", "model.ckpt"]


def test_a_refused_name_imports_nothing(tmp_path: Path) -> None:
    """The registry is read from package metadata: the named module is never imported."""
    assert "json.tool" not in sys.modules
    record = _record(audio={"class_path": "json.tool.main", "init_args": {}, "settings": {}})
    with pytest.raises(ConfigError, match="'json.tool.main', which is not registered"):
        EmotionTask.from_checkpoint(checkpoints.load(_save(tmp_path, record)))
    assert "json.tool" not in sys.modules


@pytest.mark.parametrize(
    ("role", "name"),
    [
        ("fusion", "mmfa.features.text.TextFeatureExtractor"),  # a text front-end as fusion
        ("audio", "mmfa"),  # a fusion's entry-point name as audio front-end
        ("text", "mmfa.features.text.split_words"),  # a function beside a registered class
        ("fusion", "mmfa.fusion.MMFAFusion"),  # a re-export: not the path the entry declares
    ],
)
def test_only_the_roles_own_group_counts(role: str, name: str, tmp_path: Path) -> None:
    record = _record(**{role: {"class_path": name, "init_args": {}, "settings": {}}})
    with pytest.raises(
        ConfigError, match=f"not registered in the '{checkpoints.ROLE_GROUPS[role]}'"
    ):
        EmotionTask.from_checkpoint(checkpoints.load(_save(tmp_path, record)))


def test_a_damaged_record_is_refused(tmp_path: Path) -> None:
    for record, match in [
        (_record(fusion="mmfa.cli.main"), "mmfa.fusion record is str"),
        (_record(fusion={"class_path": "mmfa", "init_args": ["x"]}), "init_args is not a mapping"),
    ]:
        with pytest.raises(ConfigError, match=match):
            EmotionTask.from_checkpoint(checkpoints.load(_save(tmp_path, record)))
    with pytest.raises(ConfigError, match=r"hyper_parameters \['fusion'\]"):
        EmotionTask.from_checkpoint(
            checkpoints.load(_save(tmp_path, _record(text=None), fusion="mmfa.cli.main"))
        )


def test_registered_classes_by_entry_name_or_class_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered(monkeypatch, "mmfa.text", "recording", f"{__name__}:RecordingText")
    for fusion in ("mmfa", "mmfa.fusion.mmfa.MMFAFusion"):
        for text in ("recording", f"{__name__}.RecordingText"):
            record = _record(fusion={"class_path": fusion, "init_args": {"heads": 2}})
            record["text"]["class_path"] = text
            checkpoint = checkpoints.load(_save(tmp_path, record))
            task = EmotionTask.from_checkpoint(checkpoint)
            assert not task.training and type(task.fusion).__name__ == "MMFAFusion"
            front = checkpoints.build_frontend(record["text"], "mmfa.text")
            assert isinstance(front, RecordingText) and front.dim == 16


def test_an_unregistered_fake_is_refused_like_anything_else(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RecordingText', which is not registered"):
        EmotionTask.from_checkpoint(checkpoints.load(_save(tmp_path, _record())))


def test_mmfa_text_front_end_is_registered() -> None:
    from mmfa.features.text import TextFeatureExtractor

    entry = checkpoints.registered_entry_point(
        "mmfa.features.text.TextFeatureExtractor", "mmfa.text"
    )
    assert checkpoints.load_class(entry) is TextFeatureExtractor
    assert checkpoints.class_path_of(entry) == "mmfa.features.text.TextFeatureExtractor"
    assert issubclass(TextFeatureExtractor, TextFrontEnd)


# -- weights_only ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "asked", "used"),
    [
        ("model.ckpt", None, True),
        ("model.ckpt", True, True),
        ("model.ckpt", False, False),  # a local file the user chose to trust
        (None, None, True),
        ("https://example.org/m.ckpt", None, True),
        ("https://example.org/m.ckpt", True, True),
    ],
)
def test_weights_only_defaults_on(path: str | None, asked: bool | None, used: bool) -> None:
    assert checkpoints.weights_only_for(path, asked) is used


def test_weights_only_cannot_be_turned_off_for_a_remote_checkpoint() -> None:
    with pytest.raises(ConfigError, match="--weights_only false with ckpt_path='s3://b/m.ckpt'"):
        checkpoints.weights_only_for("s3://b/m.ckpt", False)


@pytest.mark.parametrize("subcommand", ["test", "validate", "fit"])
def test_the_cli_refuses_weights_only_false_for_a_url(subcommand: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="remote checkpoint is only ever loaded as plain data"):
        main(
            [
                subcommand,
                "--config",
                str(REPO / "configs/demo.yaml"),
                f"--trainer.logger.init_args.save_dir={tmp_path}",
                "--ckpt_path",
                "https://127.0.0.1:9/m.ckpt",
                "--allow_remote_checkpoint",
                "true",
                "--weights_only",
                "false",
            ]
        )
    assert not list(tmp_path.rglob("*"))  # refused before anything ran


def test_mmfa_predict_has_no_way_to_turn_weights_only_off(tmp_path: Path) -> None:
    """``mmfa predict --ckpt_path`` always loads with :func:`mmfa.checkpoints.load`."""
    argv = ["predict", "--ckpt_path", "https://127.0.0.1:9/m.ckpt", "--allow_remote_checkpoint"]
    with pytest.raises(SystemExit):
        main([*argv, "--input", str(tmp_path), "--weights_only", "false"])


def test_python_api_loads_a_url_as_plain_data_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setattr(
        torch.hub, "load_state_dict_from_url", lambda url, **kw: seen.append(kw) or {}
    )
    checkpoints.load("https://example.org/m.ckpt", allow_remote=True)
    assert seen == [{"map_location": "cpu", "weights_only": True}]
