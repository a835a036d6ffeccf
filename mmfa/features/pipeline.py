"""From a manifest to cached features: the one way utterances become model inputs.

``FeaturePipeline.run`` hashes each utterance's inputs, reuses what the stores already hold,
extracts the rest (audio on all cores, text in batches), and returns, per usable utterance, the
rows to read. Inputs that cannot be used are skipped and counted by reason, or raise at once with
``on_bad_input="error"``. Nothing silently becomes NaN.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mmfa.errors import BadInputError
from mmfa.features.store import FeatureStore, FileHasher, MemoryStore, text_key
from mmfa.manifest import Utterance

if TYPE_CHECKING:
    from mmfa.features.frontend import AudioFrontEnd, TextFrontEnd

log = logging.getLogger(__name__)

BadInputPolicy = Literal["skip", "error"]
#: Where a pipeline keeps features: on disk, or in memory for arrays.
Store = FeatureStore | MemoryStore


@dataclass(frozen=True)
class SampleRef:
    """Where one usable utterance's features live: its manifest index and store rows (-1: none).

    ``functionals_row`` is the row of the utterance-level features (``data.functionals``), read
    from a store of their own.
    """

    index: int
    audio_row: int
    text_row: int
    functionals_row: int = -1


@dataclass
class FeatureReport:
    """What a pipeline run reused, extracted and skipped."""

    reused: Counter[str] = field(default_factory=Counter)
    extracted: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (id, reason, detail)

    def skip_counts(self) -> Counter[str]:
        """Number of skipped utterances per reason."""
        return Counter(reason for _, reason, _ in self.skipped)

    def summary(self) -> str:
        """One human-readable paragraph for the log."""
        parts = [
            f"{kind} features: {self.reused[kind]} reused, {self.extracted[kind]} extracted"
            for kind in sorted(set(self.reused) | set(self.extracted))
        ]
        text = "; ".join(parts) or "no features"
        if self.skipped:
            counts = ", ".join(f"{r}: {n}" for r, n in sorted(self.skip_counts().items()))
            examples = "; ".join(f"{i} ({r})" for i, r, _ in self.skipped[:3])
            text += f". Skipped {len(self.skipped)} utterances ({counts}); e.g. {examples}"
        return text


class FeaturePipeline:
    """Turns utterances into store rows.

    Args:
        cache_dir: root of the feature caches; ``None``: keep features in memory only (nothing
            read from or written to disk; for arrays given in Python).
        audio: audio extractor, or ``None`` for text-only corpora/runs.
        text: text extractor, or ``None`` for audio-only runs.
        num_workers: processes for audio extraction (``None``: all cores).
        on_bad_input: ``"skip"`` counts and reports bad utterances; ``"error"`` raises the first.
        progress: show progress bars while extracting.
        cap_hint: what the user can do about clips cut to the front-end's cap (logged).
    """

    def __init__(
        self,
        cache_dir: Path | None,
        audio: AudioFrontEnd | None,
        text: TextFrontEnd | None,
        *,
        num_workers: int | None = None,
        on_bad_input: BadInputPolicy = "skip",
        progress: bool = True,
        cap_hint: str = "set data.max_clip_seconds (or the front-end's max_seconds) to change it",
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.audio, self.text = audio, text
        self.num_workers = num_workers
        self.on_bad_input = on_bad_input
        self.progress = progress
        self.cap_hint = cap_hint
        self.audio_store = self._store("audio", audio)
        self.text_store = self._store("text", text)
        self._signals: Mapping[int, np.ndarray] = {}

    def _store(self, kind: str, extractor: Any) -> Store | None:
        if extractor is None:
            return None
        if self.cache_dir is None:
            return MemoryStore()
        return FeatureStore(self.cache_dir, kind, extractor.settings())

    def run(
        self, utterances: list[Utterance], signals: Mapping[int, np.ndarray] | None = None
    ) -> tuple[list[SampleRef], FeatureReport]:
        """Extract what is missing and return the rows of every usable utterance.

        Args:
            utterances: the manifest.
            signals: manifest position -> 16 kHz mono float samples, for utterances given as
                arrays rather than files (their ``audio_path`` is ignored).

        Returns:
            (refs in manifest order, report). Skipped utterances have no ref.
        """
        report = FeatureReport()
        bad: dict[int, BadInputError] = {}
        self._signals = signals or {}
        audio_keys = self._audio_keys(utterances, bad) if self.audio_store is not None else {}
        text_keys = self._text_keys(utterances, bad) if self.text_store is not None else {}
        if self.audio_store is not None:
            self._fill_audio(utterances, audio_keys, bad, report)
        if self.text_store is not None:
            self._fill_text(utterances, text_keys, bad, report)

        refs = []
        for i, utt in enumerate(utterances):
            if i in bad:
                err = bad[i]
                report.skipped.append((utt.id, err.reason, err.detail))
                continue
            audio_row = self.audio_store.row(audio_keys[i]) if self.audio_store is not None else -1
            text_row = self.text_store.row(text_keys[i]) if self.text_store is not None else -1
            refs.append(SampleRef(i, audio_row, text_row))
        log.info(report.summary())
        return refs, report

    # -- keys -------------------------------------------------------------------------------
    def _fail(self, bad: dict[int, BadInputError], index: int, err: BadInputError) -> None:
        if self.on_bad_input == "error":
            raise err
        bad.setdefault(index, err)

    def _audio_keys(self, utts: list[Utterance], bad: dict[int, BadInputError]) -> dict[int, str]:
        hasher = FileHasher(self.cache_dir)
        keys = {}
        for i, utt in enumerate(utts):
            if i in self._signals:
                signal = np.ascontiguousarray(self._signals[i], dtype=np.float32)
                keys[i] = "array:" + hashlib.blake2b(signal.tobytes(), digest_size=16).hexdigest()
                continue
            if utt.audio_path is None:
                self._fail(
                    bad,
                    i,
                    BadInputError(
                        utt.id,
                        "no_audio",
                        "the manifest has no audio"
                        " path for it; use a text-only fusion or fix the corpus plugin",
                    ),
                )
                continue
            digest = hasher(Path(utt.audio_path))
            if digest is None:
                self._fail(
                    bad,
                    i,
                    BadInputError(
                        utt.id,
                        "missing",
                        f"audio file "
                        f"{utt.audio_path} does not exist or cannot be read; check data.root",
                    ),
                )
                continue
            keys[i] = f"{digest}:{utt.start}:{utt.end}"
        hasher.save()
        return keys

    def _text_keys(self, utts: list[Utterance], bad: dict[int, BadInputError]) -> dict[int, str]:
        keys = {}
        for i, utt in enumerate(utts):
            if not utt.text.strip():
                self._fail(
                    bad,
                    i,
                    BadInputError(
                        utt.id,
                        "empty_transcript",
                        "the transcript is "
                        "empty; fix the transcript or drop the utterance from the corpus",
                    ),
                )
                continue
            keys[i] = text_key(utt.text, utt.context)
        return keys

    # -- extraction ---------------------------------------------------------------------------
    def _pending(
        self,
        store: Store,
        keys: dict[int, str],
        utts: list[Utterance],
        bad: dict[int, BadInputError],
    ) -> dict[str, int]:
        """Content keys to extract -> the first utterance needing each; known failures fail now."""
        todo: dict[str, int] = {}
        for i, key in keys.items():
            if i in bad or key in store:
                continue
            if (failed := store.failure(key)) is not None:
                self._fail(bad, i, BadInputError(utts[i].id, *failed))
            else:
                todo.setdefault(key, i)
        return todo

    def _fill_audio(
        self,
        utts: list[Utterance],
        keys: dict[int, str],
        bad: dict[int, BadInputError],
        report: FeatureReport,
    ) -> None:
        from mmfa.features.frontend import AudioJob, count_capped

        store, extractor = self.audio_store, self.audio
        assert store is not None and extractor is not None
        todo = self._pending(store, keys, utts, bad)
        jobs = [
            AudioJob(
                index=i,
                utterance_id=utts[i].id,
                path=Path(utts[i].audio_path or ""),
                start=utts[i].start,
                end=utts[i].end,
            )
            for i in todo.values()
            if i not in self._signals
        ]
        arrays = [i for i in todo.values() if i in self._signals]
        cap = getattr(extractor, "max_seconds", None)  # duck-typed front-ends may have none
        if capped := count_capped(jobs, cap):
            longest_id, longest = max(capped, key=lambda c: c[1])
            log.warning(
                "%d of %d clips are longer than max_seconds=%g s and are cut to it (longest: %s, "
                "%.1f s); %s",
                len(capped), len(jobs), cap, longest_id, longest, self.cap_hint,
            )  # fmt: skip
        results = extractor.extract_many(jobs, num_workers=self.num_workers, progress=self.progress)
        if arrays:
            results = itertools.chain(
                results, (self._from_signal(i, utts[i].id, cap) for i in arrays)
            )
        self._store_results(store, "audio", results, keys, utts, bad, report)

    def _from_signal(
        self, index: int, utterance_id: str, cap: float | None
    ) -> tuple[int, np.ndarray | BadInputError]:
        """Features of an array input, cut to the front-end's cap like a file would be."""
        assert self.audio is not None
        signal = np.asarray(self._signals[index], dtype=np.float32)
        if cap is not None and len(signal) > cap * self.audio.sample_rate:
            log.warning(
                "%s: %.1f s of audio, cut to max_seconds=%g s",
                utterance_id, len(signal) / self.audio.sample_rate, cap,
            )  # fmt: skip
            signal = signal[: int(cap * self.audio.sample_rate)]
        try:
            return index, self.audio.from_signal(signal, utterance_id)
        except BadInputError as err:
            return index, err

    def _fill_text(
        self,
        utts: list[Utterance],
        keys: dict[int, str],
        bad: dict[int, BadInputError],
        report: FeatureReport,
    ) -> None:
        store, extractor = self.text_store, self.text
        assert store is not None and extractor is not None
        todo = self._pending(store, keys, utts, bad)
        order = list(todo.values())
        # Dialogue context is passed only when there is some, so text extractors written
        # before it existed (plugins, test fakes) keep working for context-free corpora.
        contexts = [utts[i].context for i in order]
        extra = {"contexts": contexts} if any(contexts) else {}
        results = (
            (order[j], out)
            for j, out in extractor.extract_many(
                [utts[i].text for i in order],
                [utts[i].id for i in order],
                progress=self.progress,
                **extra,
            )
        )
        self._store_results(store, "text", results, keys, utts, bad, report)

    def _store_results(
        self,
        store: Store,
        kind: str,
        results: Iterable[tuple[int, np.ndarray | BadInputError]],
        keys: dict[int, str],
        utts: list[Utterance],
        bad: dict[int, BadInputError],
        report: FeatureReport,
    ) -> None:
        failures: dict[str, tuple[str, str]] = {}
        new_keys: set[str] = set()

        def good_rows() -> Iterator[tuple[str, np.ndarray]]:
            for i, out in results:
                if isinstance(out, BadInputError):
                    failures[keys[i]] = (out.reason, out.detail)
                    self._fail(bad, i, out)
                    continue
                if not np.isfinite(out).all():  # belt and braces: never store NaN features
                    err = BadInputError(
                        utts[i].id,
                        "non_finite_features",
                        f"{kind} features contain NaN/Inf; check the input for silence or damage",
                    )
                    failures[keys[i]] = (err.reason, err.detail)
                    self._fail(bad, i, err)
                    continue
                new_keys.add(keys[i])
                yield keys[i], out

        try:
            store.add(good_rows())
        finally:
            store.record_failures(failures)
        # Counted per utterance (several may share one transcript or file); a failure of a shared
        # key applies to every utterance that has it.
        for i, key in keys.items():
            if i in bad:
                continue
            if key in store:
                report.extracted[kind] += key in new_keys
                report.reused[kind] += key not in new_keys
            elif key in failures:
                self._fail(bad, i, BadInputError(utts[i].id, *failures[key]))
            else:  # neither stored nor recorded as failed
                self._fail(
                    bad,
                    i,
                    BadInputError(
                        utts[i].id,
                        "not_extracted",
                        f"no {kind} features were produced; this is a bug, please report it",
                    ),
                )
