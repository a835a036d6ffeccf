"""The paper's MFCC (Ho et al. 2020, Sec. III.A) with openSMILE, one utterance or many in parallel.

:class:`MFCCExtractor` runs ``mfcc.conf`` (39 values per frame, about 20 frames per second) and
mean-normalises each utterance in numpy, because openSMILE's ``cFullinputMean`` is broken in
this build (docs/performance.md). :meth:`MFCCExtractor.extract_many` spreads utterances over
processes; one openSMILE run is single-threaded and costs about 10 ms plus 5 ms per second of
audio, so per-utterance parallelism is what scales.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mmfa.errors import BadInputError
from mmfa.features.audio_io import MIN_SAMPLES, TARGET_SAMPLE_RATE, read_audio
from mmfa.features.frontend import AudioFrontEnd, AudioJob  # AudioJob: re-exported
from mmfa.features.workers import exit_with_parent

__all__ = ["CONFIG_PATH", "FEATURE_LEVEL", "AudioJob", "MFCCExtractor"]

CONFIG_PATH = Path(__file__).with_name("mfcc.conf")
FEATURE_LEVEL = "mfcc_e_d_a"
# Below this many jobs a process pool costs more to start than it saves.
_INLINE_BELOW = 16


@lru_cache(maxsize=1)
def _config_digest() -> str:
    """Short content hash of ``mfcc.conf``: editing the config invalidates feature caches."""
    return hashlib.sha256(CONFIG_PATH.read_bytes()).hexdigest()[:16]


class MFCCExtractor(AudioFrontEnd):
    """Energy + MFCC 1-12 with deltas and accelerations, mean-normalised per utterance.

    Picklable: the ``opensmile.Smile`` is built lazily, once per process, and not pickled.

    Args:
        frame_size: Frame length in seconds (paper: 0.1).
        frame_step: Frame step in seconds (paper: 0.05).
        num_bands: Mel bands (paper: 26).
        num_ceps: Last cepstral coefficient kept, MFCC 1..num_ceps (paper: 12).
        lifter: Cepstral liftering parameter (paper: 22).
        low_freq: Lowest mel band edge in Hz (paper: 0).
        high_freq: Highest mel band edge in Hz (paper: 8000).
        normalise: Subtract each column's mean over the utterance ("mean normalized with
            respect to the full input sequence", paper Sec. III.A).
        max_seconds: Use at most this many seconds of each utterance (MELD has clips that run
            for minutes by mistake); ``None``: no cap.
    """

    def __init__(
        self,
        frame_size: float = 0.1,
        frame_step: float = 0.05,
        num_bands: int = 26,
        num_ceps: int = 12,
        lifter: float = 22.0,
        low_freq: float = 0.0,
        high_freq: float = 8000.0,
        normalise: bool = True,
        max_seconds: float | None = None,
    ) -> None:
        if not 0 < frame_step <= frame_size:
            raise ValueError(f"need 0 < frame_step <= frame_size, got {frame_step}, {frame_size}")
        if not 0 <= low_freq < high_freq <= TARGET_SAMPLE_RATE / 2:
            raise ValueError(f"need 0 <= low_freq < high_freq <= 8000, got {low_freq}, {high_freq}")
        if not 1 <= num_ceps < num_bands:
            raise ValueError(f"need 1 <= num_ceps < num_bands, got {num_ceps}, {num_bands}")
        self.frame_size = float(frame_size)
        self.frame_step = float(frame_step)
        self.num_bands = int(num_bands)
        self.num_ceps = int(num_ceps)
        self.lifter = float(lifter)
        self.low_freq = float(low_freq)
        self.high_freq = float(high_freq)
        self.normalise = bool(normalise)
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        self._smile: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_smile"] = None  # ctypes-backed; each process builds its own
        return state

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    @property
    def dim(self) -> int:
        """Values per frame: (log-energy + num_ceps MFCC) x (static, delta, acceleration)."""
        return 3 * (self.num_ceps + 1)

    @property
    def min_samples(self) -> int:
        """Fewest 16 kHz samples that give one frame."""
        return max(MIN_SAMPLES, int(round(self.frame_size * TARGET_SAMPLE_RATE)))

    def smile_options(self) -> dict[str, float | int]:
        r"""Return the ``\cm[...]`` options of ``mfcc.conf`` this extractor sets."""
        return {
            "frameSize": self.frame_size,
            "frameStep": self.frame_step,
            "nBands": self.num_bands,
            "numCeps": self.num_ceps,
            "cepLifter": self.lifter,
            "loFreq": self.low_freq,
            "hiFreq": self.high_freq,
        }

    def settings(self) -> dict[str, Any]:
        """Everything that changes the output, JSON-able; the feature cache keys on it."""
        import opensmile

        return {
            "extractor": "opensmile-mfcc",
            "config_sha256": _config_digest(),
            "opensmile": opensmile.__version__,
            "sample_rate": TARGET_SAMPLE_RATE,
            "frame_size": self.frame_size,
            "frame_step": self.frame_step,
            "num_bands": self.num_bands,
            "num_ceps": self.num_ceps,
            "lifter": self.lifter,
            "low_freq": self.low_freq,
            "high_freq": self.high_freq,
            "normalise": self.normalise,
            "max_seconds": self.max_seconds,
            "dim": self.dim,
        }

    @property
    def smile(self) -> Any:
        """The ``opensmile.Smile`` running ``mfcc.conf``, built on first use in this process."""
        if self._smile is None:
            import opensmile

            self._smile = opensmile.Smile(
                feature_set=str(CONFIG_PATH),
                feature_level=FEATURE_LEVEL,
                options=self.smile_options(),
            )
        return self._smile

    def from_signal(self, signal: np.ndarray, utterance_id: str) -> np.ndarray:
        """MFCC features of a 16 kHz mono signal.

        Args:
            signal: Samples of shape ``(N,)``, floats in ``[-1, 1]`` at 16 kHz.
            utterance_id: Id used in error messages.

        Returns:
            Features of shape ``(T, dim)``, float32, ``T = floor((N - 1600) / 800) + 1`` with the
            paper's framing.

        Raises:
            BadInputError: ``too_short`` for less than one frame; ``non_finite_features`` if
                openSMILE returns NaN/Inf.
        """
        x = np.asarray(signal, dtype=np.float32).reshape(-1)
        if len(x) < self.min_samples:
            raise BadInputError(
                utterance_id,
                "too_short",
                f"{len(x)} samples at 16 kHz is shorter than one {self.frame_size * 1000:g} ms "
                "frame; exclude the utterance or fix its segment times",
            )
        # The wrapper scales by 32768 and casts to int16: +1.0 would wrap to -32768.
        x = np.clip(x, -1.0, 32767.0 / 32768.0)
        frame = self.smile.process_signal(x, TARGET_SAMPLE_RATE)
        # pandas may hand out a read-only view; callers get an array of their own.
        feats = np.array(frame.to_numpy(), dtype=np.float32, order="C", copy=True)
        if not np.all(np.isfinite(feats)):
            raise BadInputError(
                utterance_id,
                "non_finite_features",
                f"openSMILE returned NaN/Inf features ({feats.shape[0]} frames); check the audio",
            )
        if self.normalise:
            # Paper Sec. III.A; done here because cFullinputMean is broken (docs/performance.md).
            # The mean is taken in float64 so column means come out ~0 in float32 too.
            feats = np.ascontiguousarray(feats - feats.mean(axis=0, dtype=np.float64), np.float32)
        return feats

    def from_file(
        self,
        path: Path,
        *,
        utterance_id: str,
        start: float | None = None,
        end: float | None = None,
    ) -> np.ndarray:
        """MFCC features of ``[start, end)`` of an audio file (see :func:`read_audio`).

        Returns:
            Features of shape ``(T, dim)``, float32.

        Raises:
            BadInputError: any reason of :func:`~mmfa.features.audio_io.read_audio` or
                :meth:`from_signal`.
        """
        signal = read_audio(
            path, utterance_id=utterance_id, start=start, end=end, max_seconds=self.max_seconds
        )
        return self.from_signal(signal, utterance_id)

    def extract_many(
        self,
        jobs: Sequence[AudioJob],
        *,
        num_workers: int | None = None,
        progress: bool = True,
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        """Extract many utterances on all cores, yielding results as they complete.

        Args:
            jobs: Utterances to extract.
            num_workers: Processes; ``None``: ``os.cpu_count()``. With 1, or fewer than 16 jobs,
                extraction runs in this process (a pool costs more than it saves).
            progress: Show a tqdm bar (only on a terminal).

        Yields:
            ``(job.index, features)`` with features ``(T, dim)`` float32, or
            ``(job.index, BadInputError)`` for an unusable input, in completion order.
        """
        from tqdm.auto import tqdm

        workers = num_workers or os.cpu_count() or 1
        bar = tqdm(
            total=len(jobs),
            desc="MFCC",
            unit="utt",
            disable=not progress or not sys.stderr.isatty(),
        )
        try:
            if workers <= 1 or len(jobs) < _INLINE_BELOW:
                for job in jobs:
                    yield _run_job(self, job)
                    bar.update(1)
                return
            yield from self._pooled(jobs, min(workers, len(jobs)), bar)
        finally:
            bar.close()

    def _pooled(
        self, jobs: Sequence[AudioJob], workers: int, bar: Any
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        # About 8 chunks per worker: small per-task overhead, still balanced for uneven lengths.
        size = max(1, min(64, len(jobs) // (workers * 8)))
        chunks = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
        _ = self.smile  # built once here; forked workers inherit it instead of rebuilding
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_mp_context(),
            initializer=_init_worker,
            initargs=(self, os.getpid()),
        ) as pool:
            pending: set[Future[list[_Wire]]] = {pool.submit(_run_chunk, chunk) for chunk in chunks}
            try:
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        results = future.result()
                        yield from (_from_wire(item) for item in results)
                        bar.update(len(results))
            finally:
                for future in pending:  # consumer stopped early: do not extract the rest
                    future.cancel()


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds and shares the built Smile (torch's DataLoader also
    # forks by default on Linux); spawn where fork does not exist (macOS default, Windows).
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


_WORKER_EXTRACTOR: MFCCExtractor | None = None


def _init_worker(extractor: MFCCExtractor, parent_pid: int) -> None:
    global _WORKER_EXTRACTOR
    exit_with_parent(parent_pid)
    _WORKER_EXTRACTOR = extractor
    _ = extractor.smile  # one Smile per worker process


# What a worker sends back: BadInputError does not unpickle (its __init__ takes three
# arguments, Exception pickles one), so errors travel as (utterance_id, reason, detail).
_Wire = tuple[int, "np.ndarray | tuple[str, str, str]"]


def _run_chunk(chunk: list[AudioJob]) -> list[_Wire]:
    assert _WORKER_EXTRACTOR is not None, "worker not initialised"
    out: list[_Wire] = []
    for job in chunk:
        index, result = _run_job(_WORKER_EXTRACTOR, job)
        if isinstance(result, BadInputError):
            out.append((index, (result.utterance_id, result.reason, result.detail)))
        else:
            out.append((index, result))
    return out


def _from_wire(item: _Wire) -> tuple[int, np.ndarray | BadInputError]:
    index, result = item
    if isinstance(result, tuple):
        return index, BadInputError(*result)
    return index, result


def _run_job(extractor: MFCCExtractor, job: AudioJob) -> tuple[int, np.ndarray | BadInputError]:
    try:
        feats = extractor.from_file(
            job.path, utterance_id=job.utterance_id, start=job.start, end=job.end
        )
    except BadInputError as err:
        return job.index, err
    return job.index, feats
