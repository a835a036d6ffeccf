"""Read one utterance's audio as float32 mono at 16 kHz, or say precisely why it cannot be used.

wav/flac/ogg (IEMOCAP, CMU-MOSEI) are read with soundfile, which seeks, so a segment cut from a
whole-video wav (CMU-MOSEI) reads only its frames. mp4 and other containers (MELD) are decoded
with PyAV; torchaudio/torchcodec cannot be used beside the CPU torch (docs/performance.md).
Both paths downmix by averaging channels and resample with ``scipy.signal.resample_poly``, so
the same sound gives the same samples whatever the container.

Every failure is a :class:`~mmfa.errors.BadInputError` with one of the reason tags ``missing``,
``unreadable``, ``truncated``, ``empty``, ``non_finite``, ``out_of_range``, ``too_short`` or
``silent``, so the pipeline can count skips per reason. libsndfile reads a truncated wav without a
word (it trusts the file length over the header), and clipping a float signal beyond full scale
changes the sound, so both are checked here rather than used as they come.
"""

from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

from mmfa.errors import BadInputError, ConfigError

__all__ = [
    "MIN_SAMPLES",
    "SILENCE_PEAK",
    "TARGET_SAMPLE_RATE",
    "audio_duration",
    "read_audio",
    "signal_from_array",
]

TARGET_SAMPLE_RATE = 16000
# One 100 ms analysis frame (paper Sec. III.A); openSMILE returns an all-NaN row for less
# (docs/performance.md).
MIN_SAMPLES = 1600
# About -80 dBFS: below it MFCC log-energies are dominated by the log floor, not by speech.
SILENCE_PEAK = 1e-4

# Float files store full scale as +-1.0; beyond this a file was exported with the wrong scale.
FULL_SCALE = 1.0
# Unknown-length markers writers put in a streamed wav's data size.
_UNKNOWN_SIZES = frozenset({0, 0xFFFFFFFF})

# Containers libsndfile reads natively (and can seek in); everything else goes through PyAV.
_SOUNDFILE_SUFFIXES = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au"})


def read_audio(
    path: Path,
    *,
    utterance_id: str,
    start: float | None = None,
    end: float | None = None,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Read ``[start, end)`` of an audio file as float32 mono at 16 kHz.

    A pure function: a signal capped by ``max_seconds`` is returned without a warning; compare
    :func:`audio_duration` with the cap to count caps.

    Args:
        path: Audio file (wav, flac, ogg, mp4, m4a, ...).
        utterance_id: Id used in error messages.
        start: Segment start in seconds; ``None`` or negative means the beginning.
        end: Segment end in seconds; ``None`` or past the end means the end of the file.
        max_seconds: Keep at most this many seconds (from ``start``); ``None``: no cap.

    Returns:
        Signal of shape ``(N,)``, float32, at :data:`TARGET_SAMPLE_RATE`, ``N >= 1600``.

    Raises:
        BadInputError: ``missing``, ``unreadable``, ``truncated``, ``empty``, ``non_finite``,
            ``out_of_range``, ``too_short`` or ``silent``; the detail names the file and what
            to do.
    """
    path = Path(path)
    _check_exists(path, utterance_id)
    begin = max(0.0, start or 0.0)
    stop = end
    if max_seconds is not None:
        stop = begin + max_seconds if stop is None else min(stop, begin + max_seconds)
    if path.suffix.lower() in _SOUNDFILE_SUFFIXES:
        data, rate = _read_soundfile(path, utterance_id, begin, stop)
    else:
        data, rate = _read_pyav(path, utterance_id, begin, stop)
    return _finish(data, rate, path, utterance_id, max_seconds)


#: Most channels an array may have; more means the array's layout is not what it seems.
_MAX_CHANNELS = 8


def signal_from_array(samples: object, sample_rate: object, *, utterance_id: str) -> np.ndarray:
    """What audio libraries return, as the checked float32 mono 16 kHz signal files give.

    Takes numpy arrays and torch tensors (any device), mono ``(N,)`` or multi-channel in either
    layout (``(N, C)`` as soundfile returns, ``(C, N)`` as torchaudio returns), float in
    ``[-1, 1]`` or integer PCM (scaled by its full range, as a file reader would). The signal
    then passes the same checks, downmix and resampling as a file.

    Raises:
        ConfigError: not audio samples (a list, a string, bool or complex values, more than two
            dimensions, an ambiguous layout) or a sample rate that is not a positive integer.
        BadInputError: samples that a file with the same content would be refused for (empty,
            non-finite, too short, silent).
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise ConfigError(
            f"{utterance_id}: sample_rate={sample_rate!r}; give the array's sample rate in Hz as "
            "an int, e.g. sample_rate=16000"
        )
    if int(sample_rate) <= 0:
        raise ConfigError(f"{utterance_id}: sample_rate={sample_rate} must be positive (Hz)")
    if type(samples).__module__.startswith("torch"):
        samples = samples.detach().cpu().numpy()  # type: ignore[attr-defined]
    if not isinstance(samples, np.ndarray):
        raise ConfigError(
            f"{utterance_id}: audio must be a numpy array or a torch tensor of samples, got "
            f"{type(samples).__name__}; wrap a list with numpy.asarray(...)"
        )
    arr = samples
    if arr.dtype.kind not in "fiu":
        raise ConfigError(
            f"{utterance_id}: audio samples of dtype {arr.dtype} are not sound; give float "
            "samples in [-1, 1] or integer PCM"
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim == 2:
        rows, cols = arr.shape
        if cols <= _MAX_CHANNELS < rows or (cols <= _MAX_CHANNELS and rows <= _MAX_CHANNELS):
            pass  # (N, C), soundfile's layout
        elif rows <= _MAX_CHANNELS < cols:
            arr = arr.T  # (C, N), torchaudio's layout
        else:
            raise ConfigError(
                f"{utterance_id}: audio of shape {arr.shape} is neither (samples, channels) nor "
                f"(channels, samples) with at most {_MAX_CHANNELS} channels"
            )
    else:
        raise ConfigError(
            f"{utterance_id}: audio of shape {arr.shape}: give one recording, (samples,) or "
            "(samples, channels)"
        )
    if arr.dtype.kind == "f":
        data = arr.astype(np.float32, copy=False)
    elif arr.dtype == np.uint8:
        data = ((arr.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    else:
        data = (arr.astype(np.float32) / float(2 ** (8 * arr.dtype.itemsize - 1))).astype(
            np.float32
        )
    if data.size and np.all(np.isfinite(data)) and float(np.max(np.abs(data))) > 1.0 + 1e-6:
        raise BadInputError(
            utterance_id,
            "out_of_range",
            f"float samples reach {float(np.max(np.abs(data))):.3g}, beyond full scale (1.0); "
            "scale them to [-1, 1] (e.g. divide int16 values stored as floats by 32768)",
        )
    return _finish(data, int(sample_rate), Path(f"<array {utterance_id}>"), utterance_id, None)


def audio_duration(path: Path, *, utterance_id: str = "") -> float:
    """Duration of a file's audio in seconds, from its header where possible.

    Args:
        path: Audio file.
        utterance_id: Id used in error messages.

    Returns:
        Seconds of audio (0.0 for a file without samples).

    Raises:
        BadInputError: ``missing`` or ``unreadable``.
    """
    path = Path(path)
    _check_exists(path, utterance_id)
    if path.suffix.lower() in _SOUNDFILE_SUFFIXES:
        import soundfile as sf

        try:
            info = sf.info(str(path))
        except Exception as exc:  # libsndfile raises several types for corrupt headers
            raise _unreadable(path, utterance_id, exc) from exc
        return float(info.frames) / float(info.samplerate)
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return 0.0
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1e6  # microseconds (av.time_base)
    except Exception as exc:
        raise _unreadable(path, utterance_id, exc) from exc
    # No duration in the header: decode (rare; raw streams).
    return len(read_audio(path, utterance_id=utterance_id)) / TARGET_SAMPLE_RATE


def _check_exists(path: Path, utterance_id: str) -> None:
    if not path.is_file():
        raise BadInputError(
            utterance_id,
            "missing",
            f"audio file {path} does not exist; check the corpus root (data.root) and that "
            "the corpus was extracted completely",
        )


def _unreadable(path: Path, utterance_id: str, exc: BaseException) -> BadInputError:
    return BadInputError(
        utterance_id,
        "unreadable",
        f"cannot decode {path} ({type(exc).__name__}: {exc}); the file is corrupt or not audio; "
        "re-download or re-extract it, or exclude the utterance",
    )


def _read_soundfile(
    path: Path, utterance_id: str, begin: float, stop: float | None
) -> tuple[np.ndarray, int]:
    """Read only the requested frames with soundfile; returns ``((n, C) float32, rate)``."""
    import soundfile as sf

    _check_wav_complete(path, utterance_id)
    try:
        with sf.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            first = min(int(round(begin * rate)), f.frames)
            last = f.frames if stop is None else min(int(round(stop * rate)), f.frames)
            f.seek(first)
            data = f.read(max(0, last - first), dtype="float32", always_2d=True)
            is_float = f.subtype in ("FLOAT", "DOUBLE")
    except Exception as exc:  # LibsndfileError, RuntimeError, ...
        raise _unreadable(path, utterance_id, exc) from exc
    if is_float and data.size and np.all(np.isfinite(data)):
        peak = float(np.max(np.abs(data)))
        if peak > FULL_SCALE:
            raise BadInputError(
                utterance_id,
                "out_of_range",
                f"{path} holds float samples up to {peak:.3g}, beyond full scale (+-1.0); "
                "clipping would distort it. Re-export it normalised to [-1, 1] (or as PCM), "
                "or exclude the utterance",
            )
    return data, rate


def _check_wav_complete(path: Path, utterance_id: str) -> None:
    """Raise ``truncated`` if a RIFF wav's header promises more sample bytes than the file has."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # not a plain RIFF wav (RF64, RIFX, flac...): libsndfile checks what it can
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk = handle.read(8)
            name, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
            if name == b"data":
                available = size - (offset + 8)
                if length not in _UNKNOWN_SIZES and length > available:
                    raise BadInputError(
                        utterance_id,
                        "truncated",
                        f"{path} is truncated: its header promises {length} bytes of samples "
                        f"but only {available} are there ({available / max(length, 1):.0%}); "
                        "re-download or re-extract it, or exclude the utterance",
                    )
                return
            offset += 8 + length + (length & 1)  # chunks are padded to an even size


def _read_pyav(
    path: Path, utterance_id: str, begin: float, stop: float | None
) -> tuple[np.ndarray, int]:
    """Decode the first audio stream with PyAV; returns ``((n, C) float32, rate)``."""
    import av

    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise BadInputError(
                    utterance_id,
                    "empty",
                    f"{path} has no audio stream; extract the audio track or exclude the utterance",
                )
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate)
            first = int(round(begin * rate))
            last = None if stop is None else int(round(stop * rate))
            if stream.duration is not None and stream.time_base is not None:
                # AAC pads its last frame; the header duration says where the sound ends.
                total = int(round(float(stream.duration * stream.time_base) * rate))
                last = total if last is None else min(last, total)
            seen = 0
            for frame in container.decode(stream):
                block = _frame_to_float(frame)  # (n, C)
                lo, hi = seen, seen + len(block)
                seen = hi
                if hi <= first:
                    continue
                take_to = len(block) if last is None else max(0, min(len(block), last - lo))
                chunks.append(block[max(0, first - lo) : take_to])
                if last is not None and hi >= last:
                    break  # MELD has minutes-long clips: stop decoding at the segment end
    except BadInputError:
        raise
    except Exception as exc:  # av.FFmpegError and friends
        raise _unreadable(path, utterance_id, exc) from exc
    if not chunks:
        return np.zeros((0, 1), dtype=np.float32), rate
    return np.concatenate(chunks, axis=0), rate


def _frame_to_float(frame: object) -> np.ndarray:
    """Return the samples of a PyAV ``AudioFrame`` as ``(n, C)`` float32 in ``[-1, 1]``."""
    fmt = frame.format  # type: ignore[attr-defined]
    channels = len(frame.layout.channels)  # type: ignore[attr-defined]
    arr = frame.to_ndarray()  # type: ignore[attr-defined]
    # Planar formats come as (C, n); packed ones as (1, n * C), interleaved.
    arr = arr.T if fmt.is_planar else arr.reshape(-1, channels)
    if arr.dtype.kind == "f":
        return arr.astype(np.float32, copy=False)
    if arr.dtype == np.uint8:
        return ((arr.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    return (arr.astype(np.float32) / float(2 ** (8 * arr.dtype.itemsize - 1))).astype(np.float32)


def _finish(
    data: np.ndarray, rate: int, path: Path, utterance_id: str, max_seconds: float | None
) -> np.ndarray:
    """Validate, downmix and resample ``(n, C)`` samples to the checked ``(N,)`` 16 kHz signal."""
    if data.size == 0:
        raise BadInputError(
            utterance_id,
            "empty",
            f"{path} has no samples in the requested segment; check the file and the segment's "
            "start/end times",
        )
    if not np.all(np.isfinite(data)):
        raise BadInputError(
            utterance_id,
            "non_finite",
            f"{path} contains NaN or infinite samples; re-export the audio as PCM",
        )
    signal = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != TARGET_SAMPLE_RATE:
        from scipy.signal import resample_poly

        g = gcd(TARGET_SAMPLE_RATE, rate)
        signal = resample_poly(signal, TARGET_SAMPLE_RATE // g, rate // g)
    if max_seconds is not None:
        signal = signal[: int(round(max_seconds * TARGET_SAMPLE_RATE))]
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    if len(signal) < MIN_SAMPLES:
        raise BadInputError(
            utterance_id,
            "too_short",
            f"{path} gives {len(signal)} samples at 16 kHz ({len(signal) / 16000:.3f} s), fewer "
            f"than one 100 ms MFCC frame ({MIN_SAMPLES}); check the segment times or exclude it",
        )
    peak = float(np.max(np.abs(signal)))
    if peak < SILENCE_PEAK:
        raise BadInputError(
            utterance_id,
            "silent",
            f"{path} is silent (peak amplitude {peak:.2e} < {SILENCE_PEAK:g}, about -80 dBFS); "
            "check the recording/segment or exclude the utterance",
        )
    return signal
