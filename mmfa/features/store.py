"""The feature store: features computed once, kept on disk as memory-mapped Arrow (``datasets``).

Layout under ``cache_dir``::

    <kind>-<settings hash>/          one folder per extractor configuration (kind: audio, text)
        settings.json                the extractor settings the hash was made from
        shard-<n>-<uuid>/            ``datasets.Dataset.save_to_disk`` output: key, frames, features
        failures.json                inputs that could not be turned into features, with the reason

Entries are keyed by *content* (a hash of the audio bytes and segment times, or of the transcript),
and folders by *settings* (every extractor option that changes the output). So changing an audio
file, a transcript or any extractor setting recomputes exactly the entries concerned; everything
else is reused. Shards are written every few hundred entries and renamed into place when complete,
so an interrupted extraction keeps what it had done.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

SHARD_SIZE = 512


def settings_hash(settings: dict[str, Any]) -> str:
    """Stable short hash of a JSON-able settings dict."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def text_key(text: str) -> str:
    """Content key of a transcript."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class FileHasher:
    """Content hashes of files, remembered by (size, mtime) so unchanged files are not re-read.

    The memo lives in ``<cache_dir>/file_hashes.json``; a stale memo entry (size or mtime changed)
    is recomputed from the bytes, so an edited file always gets its new hash.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / "file_hashes.json"
        self._memo: dict[str, list[Any]] = {}
        if self.path.exists():
            try:
                self._memo = json.loads(self.path.read_text())
            except (OSError, json.JSONDecodeError):
                self._memo = {}  # a damaged memo only costs re-hashing
        self._dirty = False

    def __call__(self, path: Path) -> str | None:
        """Hash of the file's bytes, or ``None`` when it cannot be read (reported later)."""
        try:
            stat = path.stat()
        except OSError:
            return None
        name = str(path.resolve())
        memo = self._memo.get(name)
        if memo and memo[0] == stat.st_size and memo[1] == stat.st_mtime_ns:
            return str(memo[2])
        digest = hashlib.blake2b(digest_size=16)
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        value = digest.hexdigest()
        self._memo[name] = [stat.st_size, stat.st_mtime_ns, value]
        self._dirty = True
        return value

    def save(self) -> None:
        """Write the memo back (atomically) if anything changed."""
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(self._memo))
        os.replace(tmp, self.path)
        self._dirty = False


class FeatureStore:
    """Arrow feature cache for one extractor configuration.

    Args:
        cache_dir: root folder of all caches.
        kind: ``"audio"`` or ``"text"`` (a folder-name prefix).
        settings: the extractor's ``settings()``; its hash names the folder.
    """

    def __init__(self, cache_dir: Path, kind: str, settings: dict[str, Any]) -> None:
        self.dir = Path(cache_dir) / f"{kind}-{settings_hash(settings)}"
        self.dir.mkdir(parents=True, exist_ok=True)
        settings_file = self.dir / "settings.json"
        if not settings_file.exists():
            settings_file.write_text(json.dumps(settings, indent=2, sort_keys=True, default=str))
        self._failures_file = self.dir / "failures.json"
        self._table: Any = None
        self._index: dict[str, int] = {}
        self._failures: dict[str, list[str]] = {}
        self.reload()

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        """(Re)open every complete shard, memory-mapped."""
        import datasets

        shards = sorted(p for p in self.dir.glob("shard-*") if (p / "state.json").exists())
        if shards:
            parts = [datasets.load_from_disk(str(p)) for p in shards]
            table = datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]
            self._table = table.with_format("numpy")
            self._index = {k: i for i, k in enumerate(self._table["key"])}
        else:
            self._table, self._index = None, {}
        if self._failures_file.exists():
            self._failures = json.loads(self._failures_file.read_text())

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self._index)

    def row(self, key: str) -> int:
        """Row number of ``key`` (for fast indexed reads)."""
        return self._index[key]

    def get_row(self, row: int) -> np.ndarray:
        """Features of one row as a float32 array (T, D)."""
        item = self._table[row]
        frames = int(item["frames"])
        values = item["features"]
        return np.asarray(values, dtype=np.float32).reshape(frames, -1)

    def get(self, key: str) -> np.ndarray:
        """Features stored under ``key`` (T, D)."""
        return self.get_row(self._index[key])

    def failure(self, key: str) -> tuple[str, str] | None:
        """(reason, detail) recorded for a key that could not be extracted, if any."""
        value = self._failures.get(key)
        return (value[0], value[1]) if value else None

    # -- writing -------------------------------------------------------------------------------
    def add(self, rows: Iterable[tuple[str, np.ndarray]]) -> int:
        """Store (key, features (T, D)) pairs, flushing a shard every ``SHARD_SIZE`` rows.

        Returns:
            The number of rows written.
        """
        written = 0
        buffer: list[tuple[str, np.ndarray]] = []
        try:
            for key, array in rows:
                buffer.append((key, array))
                if len(buffer) >= SHARD_SIZE:
                    written += self._flush(buffer)
                    buffer = []
        finally:  # an error or Ctrl-C mid-way still keeps what was extracted
            written += self._flush(buffer)
            self.reload()
        return written

    def record_failures(self, failures: dict[str, tuple[str, str]]) -> None:
        """Remember failed inputs (key -> (reason, detail)): reports need no re-extraction."""
        if not failures:
            return
        self._failures.update({k: [r, d] for k, (r, d) in failures.items()})
        tmp = self._failures_file.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(self._failures, indent=1))
        os.replace(tmp, self._failures_file)

    def _flush(self, buffer: list[tuple[str, np.ndarray]]) -> int:
        if not buffer:
            return 0
        import datasets
        import pyarrow as pa

        arrays = [np.ascontiguousarray(a, dtype=np.float32) for _, a in buffer]
        sizes = np.array([a.size for a in arrays], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        # Built straight from numpy buffers: going through Python lists would cost minutes on a
        # corpus the size of IEMOCAP's text features.
        values = pa.array(np.concatenate([a.ravel() for a in arrays]))
        table = pa.table(
            {
                "key": pa.array([k for k, _ in buffer], pa.string()),
                "frames": pa.array([a.shape[0] for a in arrays], pa.int32()),
                "features": pa.LargeListArray.from_arrays(pa.array(offsets), values),
            }
        )
        name = f"shard-{len(list(self.dir.glob('shard-*'))):05d}-{uuid.uuid4().hex[:8]}"
        tmp = self.dir / f".tmp-{name}"
        enabled = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            datasets.Dataset(table).save_to_disk(str(tmp))
        finally:
            if enabled:
                datasets.enable_progress_bars()
        os.replace(tmp, self.dir / name)  # a shard is visible only once complete
        return len(buffer)
