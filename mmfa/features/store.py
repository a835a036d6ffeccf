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

Damage and permissions: a shard that cannot be read is named in a warning, moved aside into
``damaged/`` (never deleted) and its entries are recomputed; a damaged ``failures.json`` or
``file_hashes.json`` counts as empty; shard files and their folder are fsynced before the rename
that publishes them; ``.tmp-shard-*`` folders left by a killed run are swept once stale. A cache
that cannot be written (read-only mount, shared copy) still serves everything it holds: writes
that are only bookkeeping warn once and are skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mmfa.errors import MMFAError

log = logging.getLogger(__name__)

SHARD_SIZE = 512
# A temporary shard older than this, whose writer is not a live process here, was left by a
# killed run. Generous: a shard of 512 long utterances takes seconds, not an hour, to write.
STALE_TMP_SECONDS = 3600.0
_TMP_OWNER = re.compile(r"-pid(\d+)$")
_warned_read_only: set[str] = set()


def _warn_read_only(folder: Path, what: str, exc: OSError) -> None:
    """Warn once per folder that bookkeeping could not be written; the run goes on."""
    if str(folder) in _warned_read_only:
        return
    _warned_read_only.add(str(folder))
    log.warning(
        "feature cache %s is not writable (%s: %s); %s not saved, everything already cached is "
        "still used. Make the folder writable to keep this bookkeeping.",
        folder,
        type(exc).__name__,
        exc,
        what,
    )


def _fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data to disk (folders: their entries, so renames persist)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. folders cannot be opened on Windows: nothing more we can do
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on folders; the files themselves were synced
    finally:
        os.close(fd)


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a synced temporary file and a rename."""
    tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    _fsync_path(path.parent)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def settings_hash(settings: dict[str, Any]) -> str:
    """Stable short hash of a JSON-able settings dict."""
    blob = json.dumps(settings, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def text_key(text: str, context: Sequence[str] = ()) -> str:
    """Content key of a transcript and its dialogue context (earlier turns, oldest first).

    Without context the key is the transcript's alone (as it always was, so existing caches
    stay valid); with context, the turns and the way they are encoded (``ctx1``) are part of
    it, so features with and without context, or with different context, never mix.
    """
    if context:
        text = "\0".join(("ctx1", *context, text))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class FileHasher:
    """Content hashes of files, remembered by (size, mtime) so unchanged files are not re-read.

    The memo lives in ``<cache_dir>/file_hashes.json``; a stale memo entry (size or mtime changed)
    is recomputed from the bytes, so an edited file always gets its new hash.
    """

    def __init__(self, cache_dir: Path | None) -> None:
        # None: no memo on disk (an in-memory pipeline hashes every file afresh).
        self.path = cache_dir / "file_hashes.json" if cache_dir is not None else None
        self._memo: dict[str, list[Any]] = {}
        if self.path is not None and self.path.exists():
            try:
                memo = json.loads(self.path.read_text())
                self._memo = memo if isinstance(memo, dict) else {}
            except (OSError, ValueError):
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
        entry = [stat.st_size, stat.st_mtime_ns, value]
        if memo != entry:
            self._memo[name] = entry
            self._dirty = True
        return value

    def save(self) -> None:
        """Write the memo back (atomically) if anything changed.

        A cache that cannot be written (read-only) only loses the memo: warned once, not raised.
        """
        if not self._dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write_text(self.path, json.dumps(self._memo))
        except OSError as exc:
            _warn_read_only(self.path.parent, "the file-hash memo (file_hashes.json) was", exc)
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
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MMFAError(
                f"cannot create the feature cache folder {self.dir} ({exc}); make "
                f"{Path(cache_dir)} writable or choose another cache (data.cache_dir or "
                "$MMFA_CACHE_DIR)"
            ) from exc
        settings_file = self.dir / "settings.json"
        if not settings_file.exists():
            try:
                _atomic_write_text(
                    settings_file, json.dumps(settings, indent=2, sort_keys=True, default=str)
                )
            except OSError as exc:
                _warn_read_only(self.dir, "settings.json was", exc)
        self._failures_file = self.dir / "failures.json"
        self._table: Any = None
        self._index: dict[str, int] = {}
        self._failures: dict[str, list[str]] = {}
        self.sweep_stale_temporaries()
        self.reload()

    # -- reading -------------------------------------------------------------------------------
    def reload(self) -> None:
        """(Re)open every complete shard, memory-mapped; set damaged ones aside.

        A shard that cannot be read (truncated, overwritten, half-copied) is named in a warning
        and moved into ``damaged/``; its entries are then missing, so the pipeline recomputes
        them. A damaged ``failures.json`` counts as empty (those inputs are retried).
        """
        import datasets

        shards = sorted(p for p in self.dir.glob("shard-*") if (p / "state.json").exists())
        parts: list[Any] = []
        keys: list[str] = []
        for shard in shards:
            try:
                part = datasets.load_from_disk(str(shard))
                part_keys = [str(k) for k in part["key"]]
                if len(part_keys) != len(part) or "features" not in part.column_names:
                    raise ValueError("missing rows or columns")
            except Exception as exc:  # Arrow, JSON and OS errors all mean: unusable shard
                self._set_aside(shard, exc)
                continue
            parts.append(part)
            keys.extend(part_keys)
        if parts:
            table = datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]
            self._table = table.with_format("numpy")
            self._index = {k: i for i, k in enumerate(keys)}
        else:
            self._table, self._index = None, {}
        self._failures = self._read_failures()

    def _set_aside(self, shard: Path, exc: BaseException) -> None:
        """Move an unreadable shard into ``damaged/`` (kept for inspection, never deleted)."""
        target = self.dir / "damaged" / f"{shard.name}-{time.strftime('%Y%m%dT%H%M%S')}"
        try:
            target.parent.mkdir(exist_ok=True)
            os.replace(shard, target)
            where = f"moved to {target}"
        except OSError as move_exc:  # read-only cache: leave it, just do not use it
            where = f"left in place ({type(move_exc).__name__}: {move_exc})"
        log.warning(
            "feature shard %s cannot be read (%s: %s); %s, and its entries will be recomputed",
            shard,
            type(exc).__name__,
            str(exc)[:300],
            where,
        )

    def _read_failures(self) -> dict[str, list[str]]:
        if not self._failures_file.exists():
            return {}
        try:
            failures = json.loads(self._failures_file.read_text(encoding="utf-8"))
            if not isinstance(failures, dict):
                raise ValueError(f"expected a JSON object, got {type(failures).__name__}")
        except (OSError, ValueError) as exc:
            log.warning(
                "%s is damaged (%s: %s); treated as empty, so inputs that failed before are "
                "tried again",
                self._failures_file,
                type(exc).__name__,
                exc,
            )
            return {}
        return failures

    def sweep_stale_temporaries(self, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
        """Remove ``.tmp-shard-*`` folders left by killed runs.

        A temporary shard is removed only when it is older than ``max_age`` seconds and the
        process named in it (``-pid<N>``) is not alive on this machine: a shard being written
        here is left alone, and so is a fresh one written by another machine sharing the cache.

        Returns:
            The folders removed.
        """
        removed = []
        now = time.time()
        for tmp in self.dir.glob(".tmp-shard-*"):
            try:
                age = now - tmp.stat().st_mtime
            except OSError:
                continue
            owner = _TMP_OWNER.search(tmp.name)
            if age < max_age or (owner is not None and _pid_alive(int(owner.group(1)))):
                continue
            try:
                shutil.rmtree(tmp)
            except OSError as exc:
                _warn_read_only(self.dir, f"stale temporary shard {tmp.name} was", exc)
                continue
            log.info("removed stale temporary shard %s (%.0f s old)", tmp, age)
            removed.append(tmp)
        return removed

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
        try:
            _atomic_write_text(self._failures_file, json.dumps(self._failures, indent=1))
        except OSError as exc:
            _warn_read_only(self.dir, "failures.json was", exc)

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
        # The writer's pid in the name lets a later run tell a killed writer's leftovers
        # (swept) from a shard being written right now (kept).
        tmp = self.dir / f".tmp-{name}-pid{os.getpid()}"
        enabled = datasets.is_progress_bar_enabled()
        datasets.disable_progress_bars()
        try:
            datasets.Dataset(table).save_to_disk(str(tmp))
            # Data on disk before the rename publishes it: after a power loss a shard is
            # either absent or complete, never present and empty.
            for file in tmp.iterdir():
                _fsync_path(file)
            _fsync_path(tmp)
            os.replace(tmp, self.dir / name)  # a shard is visible only once complete
            _fsync_path(self.dir)
        except OSError as exc:
            raise MMFAError(
                f"cannot write features to the cache {self.dir} ({type(exc).__name__}: {exc}); "
                f"{len(buffer)} entries are missing from it. Make the folder writable (or free "
                "space), or choose another cache (data.cache_dir or $MMFA_CACHE_DIR)"
            ) from exc
        finally:
            if enabled:
                datasets.enable_progress_bars()
        return len(buffer)


class FeatureReader(Protocol):
    """What a dataset reads features through: :class:`FeatureStore` or :class:`MemoryStore`."""

    def get_row(self, row: int) -> np.ndarray:
        """Features of one row, float32 ``(T, D)``."""
        ...


class MemoryStore:
    """A feature store that lives only as long as the object: for arrays given in Python.

    Same interface as :class:`FeatureStore` where the pipeline uses it, so arrays go through the
    same keys, failures and rows as files, but nothing is written to disk: predicting on arrays
    never grows the persistent cache.
    """

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._index: dict[str, int] = {}
        self._failures: dict[str, tuple[str, str]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def __len__(self) -> int:
        return len(self._index)

    def row(self, key: str) -> int:
        """Row number of ``key``."""
        return self._index[key]

    def get_row(self, row: int) -> np.ndarray:
        """Features of one row, float32 ``(T, D)``."""
        return self._rows[row]

    def failure(self, key: str) -> tuple[str, str] | None:
        """(reason, detail) of a key that failed earlier in this object's life, if any."""
        return self._failures.get(key)

    def add(self, rows: Iterable[tuple[str, np.ndarray]]) -> int:
        """Keep (key, features) pairs in memory; returns how many were new."""
        written = 0
        for key, array in rows:
            if key not in self._index:
                self._index[key] = len(self._rows)
                self._rows.append(np.asarray(array, dtype=np.float32))
                written += 1
        return written

    def record_failures(self, failures: dict[str, tuple[str, str]]) -> None:
        """Remember failed inputs for this object's life."""
        self._failures.update(failures)
