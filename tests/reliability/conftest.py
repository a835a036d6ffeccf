"""Fakes and fixtures shared by the reliability suite (fault and bad-input cases).

The suite keeps the defects of issue 10 fixed; each file names what it guards:

- ``test_orphans.py`` (slow): extraction workers exit when their parent is killed (item 4);
- ``test_run_versions.py``: concurrent runs never share ``version_N`` (item 5; two-process cases
  slow);
- ``test_manifest_checks.py``, ``test_plugin_inputs.py``: duplicate ids, labels outside the
  classes, one class, split ``dev``, empty splits, batch size 1 (items 6 and 9);
- ``test_store_read_only.py``: a full read-only cache still serves (item 7);
- ``test_store_damage.py``: unreadable shards, damaged ``failures.json``, fsync, stale
  temporaries (item 8);
- ``test_console.py``, ``test_cli_errors.py``, ``test_reader_encodings.py``: one-line errors,
  non-UTF-8 files named (item 9);
- ``test_num_workers.py``, ``test_audio_inputs.py``, ``test_skipped_file.py``: results independent
  of ``num_workers``, truncated and out-of-range audio, ``skipped.csv`` (item 10);
- ``test_cv_kill.py`` (slow): ``kill -9`` of ``mmfa cv`` at random points, then the same report.
- ``test_checkpoint_trust.py``: a checkpoint names only registered classes (fusion, audio and
  text front-ends), nothing else is imported or called; remote pickles never run;
- ``test_cv_run_folder.py``: one ``mmfa cv`` per run folder, finished folds reused only on the
  same data, colliding fold names.

Prediction's own guards (``--out`` never overwrites an input, arrays as audio libraries return
them) live in ``tests/inference/``.

Run the slow cases with ``python -m pytest -m slow tests/reliability`` (CI does).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mmfa.errors import BadInputError
from mmfa.manifest import Utterance


class FakeAudio:
    """Stands in for MFCCExtractor: features derived from the file's bytes; records what it ran."""

    dim = 2

    def __init__(self) -> None:
        self.extracted: list[str] = []

    def settings(self) -> dict:
        return {"fake": "audio"}

    def extract_many(self, jobs, num_workers=None, progress=True):  # noqa: ANN001, ANN201
        for job in jobs:
            self.extracted.append(job.utterance_id)
            data = Path(job.path).read_bytes()
            if data == b"corrupt":
                yield job.index, BadInputError(job.utterance_id, "unreadable", str(job.path))
                continue
            yield job.index, np.full((len(data), 2), float(len(data)), dtype=np.float32)


class FakeText:
    dim = 3

    def __init__(self) -> None:
        self.extracted: list[str] = []

    def settings(self) -> dict:
        return {"fake": "text"}

    def extract_many(self, texts, ids, progress=True, **kwargs):  # noqa: ANN001, ANN003, ANN201
        for i, (text, uid) in enumerate(zip(texts, ids, strict=True)):
            self.extracted.append(uid)
            yield i, np.full((len(text.split()), 3), len(text), dtype=np.float32)


def write_corpus(folder: Path, n: int = 6, *, corrupt: int | None = None) -> list[Utterance]:
    """``n`` tiny 'audio' files with distinct contents (one ``corrupt`` if asked)."""
    folder.mkdir(parents=True, exist_ok=True)
    utts = []
    for i in range(n):
        path = folder / f"u{i}.bin"
        path.write_bytes(b"corrupt" if i == corrupt else b"x" * (i + 1))
        utts.append(Utterance(f"u{i}", path, f"words of utterance {i}", i % 2, f"s{i % 3}"))
    return utts


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """Make ``folder`` read-only for this process; yields the path to use.

    Permission bits do not stop root, so as root a read-only bind mount is used instead (and the
    test is skipped where mounting is not allowed).
    """
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield folder
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    view = folder.with_name(folder.name + "-ro")
    view.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(folder), str(view)], check=True, capture_output=True)
        subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(view)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError):
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            subprocess.run(["umount", str(view)], check=True, capture_output=True)
        shutil.rmtree(view, ignore_errors=True)
        pytest.skip("running as root without permission to mount a read-only view")
    try:
        yield view
    finally:
        # lazy: the test still holds memory-mapped shards open
        subprocess.run(["umount", "-l", str(view)], check=False, capture_output=True)
        view.rmdir()


class ListCorpus:
    """Factory of small datamodules over a given manifest, with fake extractors (no audio work)."""

    @staticmethod
    def make(
        utterances: list[Utterance],
        cache_dir: Path,
        *,
        class_names: tuple[str, ...] = ("a", "b"),
        split_of=None,  # noqa: ANN001
        **kwargs,  # noqa: ANN003
    ):  # noqa: ANN205
        from mmfa.datamodules.base import EmotionDataModule

        class _Corpus(EmotionDataModule):
            def load_manifest(self) -> list[Utterance]:
                return list(utterances)

            def split_of(self, utt: Utterance) -> str:
                return split_of(utt) if split_of else utt.split

        _Corpus.class_names = class_names
        _Corpus.__name__ = "ListCorpus"
        return _Corpus(
            audio=FakeAudio(),  # type: ignore[arg-type]
            text=FakeText(),  # type: ignore[arg-type]
            cache_dir=str(cache_dir),
            **kwargs,
        )


def split_corpus(folder: Path, sizes: dict[str, int]) -> list[Utterance]:
    """Utterances with the given number per split, labels alternating over two classes."""
    utts = write_corpus(folder, n=sum(sizes.values()))
    splits = [s for s, n in sizes.items() for _ in range(n)]
    return [
        Utterance(u.id, u.audio_path, u.text, i % 2, f"spk{i}", split=s)
        for i, (u, s) in enumerate(zip(utts, splits, strict=True))
    ]
