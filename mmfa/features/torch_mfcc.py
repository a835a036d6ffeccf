"""The paper's MFCC in plain torch, reproducing ``mfcc.conf`` as openSMILE runs it, batched.

:class:`TorchMFCCExtractor` computes the same 39 values per frame as
:class:`~mmfa.features.audio.MFCCExtractor` (openSMILE): the same framing, int16 sample scale,
HTK log-energy, pre-emphasis, Hamming window, zero-padded FFT, HTK mel filterbank, DCT-II,
liftering, delta regression and per-utterance mean normalisation, stage by stage (docs
``audio_frontends.md`` lists each stage and the measured agreement). Frames of all utterances of
a batch are stacked into one matrix, so the FFT, the filterbank and the DCT run as a few large
tensor operations on CPU or GPU; no torchaudio (its wheels do not import beside the CPU torch).

openSMILE details reproduced on purpose:

* the wrapper turns float samples into int16 by ``trunc(x * 32768)`` and its frames hold
  ``int16 / 32767``; HTK mode scales back by 32767, so every stage here works on the integers;
* pre-emphasis is per frame, HTK style: ``y[0] = (1 - k) x[0]``, ``y[n] = x[n] - k x[n-1]``;
* the FFT zero-pads each frame to the next power of two (1600 -> 2048 samples) and the mel
  filters are laid on those bins (7.8125 Hz apart), excluding DC and the bins from ``hiFreq`` up;
* deltas replicate the edge frames; the acceleration stage sees one extra delta frame past the
  end (the delta of the last static frame repeated) and zeros after it.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from mmfa.errors import BadInputError
from mmfa.features.audio_io import MIN_SAMPLES
from mmfa.features.frontend import AudioFrontEnd, AudioJob

__all__ = ["TorchMFCCExtractor", "htk_mel_filterbank", "quantise"]

_INT16_IN = 32768.0  # the wrapper's float -> int16 scale (truncating cast)
_READ_AHEAD = 256  # files read ahead of the computation (bounds memory: 256 clips)
_LOG_FLOOR = 1.0  # HTK floors energy and mel power at 1 (int16 scale): silence gives log 0


def htk_mel_filterbank(
    n_fft: int, sample_rate: int, num_bands: int, low_freq: float, high_freq: float
) -> np.ndarray:
    """Triangular HTK mel filters on the bins of an ``n_fft``-point FFT, as openSMILE builds them.

    Centres are equally spaced on ``1127 ln(1 + f / 700)`` between ``low_freq`` and ``high_freq``
    (``num_bands + 2`` edges); bins at or below ``low_freq`` and at or above ``high_freq`` get
    no weight; filters are not area-normalised.

    Returns:
        Weights of shape ``(n_fft // 2 + 1, num_bands)``, float64.
    """
    bins = n_fft // 2 + 1
    bin_hz = sample_rate / n_fft

    def mel(f: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)

    edges = mel(low_freq) + np.arange(num_bands + 2) * (mel(high_freq) - mel(low_freq)) / (
        num_bands + 1
    )
    lo_bin, hi_bin = int(round(low_freq / bin_hz)), int(round(high_freq / bin_hz))
    weights = np.zeros((bins, num_bands))
    for n in range(lo_bin + 1, min(hi_bin, bins)):
        m = mel(n * bin_hz)
        right = int(np.searchsorted(edges, m))  # first edge >= m: the bin is left of it
        if right < 1 or right > num_bands + 1:
            continue
        falling = float((edges[right] - m) / (edges[right] - edges[right - 1]))
        if right - 2 >= 0:
            weights[n, right - 2] += falling  # falling slope of the band centred left of m
        if right - 1 < num_bands:
            weights[n, right - 1] += 1.0 - falling  # rising slope of the band centred right
    return weights


class TorchMFCCExtractor(AudioFrontEnd):
    """Energy + MFCC 1-12 with deltas and accelerations, as ``MFCCExtractor``, in batched torch.

    Same arguments, output shape (``T = floor((N - 1600) / 800) + 1`` at 16 kHz), normalisation
    and errors as :class:`~mmfa.features.audio.MFCCExtractor`; values agree to the tolerance in
    docs ``audio_frontends.md``. Its store key differs (``extractor: torch-mfcc``), so the two
    never share cached features.

    Args:
        frame_size: Frame length in seconds (paper: 0.1).
        frame_step: Frame step in seconds (paper: 0.05).
        num_bands: Mel bands (paper: 26).
        num_ceps: Last cepstral coefficient kept, MFCC 1..num_ceps (paper: 12).
        lifter: Cepstral liftering parameter (paper: 22).
        low_freq: Lowest mel band edge in Hz (paper: 0).
        high_freq: Highest mel band edge in Hz (paper: 8000).
        preemphasis: Pre-emphasis coefficient (``mfcc.conf``: 0.97).
        delta_window: Delta regression window (``mfcc.conf``: 2).
        normalise: Subtract each column's mean over the utterance (paper Sec. III.A).
        max_seconds: Use at most this many seconds of each utterance; ``None``: no cap.
        device: Torch device the maths runs on (``"cpu"``, ``"cuda"``, ``"cuda:1"``...).
        batch_seconds: Seconds of audio computed per batch in :meth:`extract_many`. About
            1.6 MB of memory per second of audio; 60 s keeps a CPU batch in cache and lets the
            file reader overlap the maths (measured: 40% faster than 600 s on 2 cores); on a
            GPU use more (e.g. 1800) to fill the device.
    """

    batched = True

    def __init__(
        self,
        frame_size: float = 0.1,
        frame_step: float = 0.05,
        num_bands: int = 26,
        num_ceps: int = 12,
        lifter: float = 22.0,
        low_freq: float = 0.0,
        high_freq: float = 8000.0,
        preemphasis: float = 0.97,
        delta_window: int = 2,
        normalise: bool = True,
        max_seconds: float | None = None,
        device: str = "cpu",
        batch_seconds: float = 60.0,
    ) -> None:
        if not 0 < frame_step <= frame_size:
            raise ValueError(f"need 0 < frame_step <= frame_size, got {frame_step}, {frame_size}")
        if not 0 <= low_freq < high_freq <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= low_freq < high_freq <= 8000, got {low_freq}, {high_freq}")
        if not 1 <= num_ceps < num_bands:
            raise ValueError(f"need 1 <= num_ceps < num_bands, got {num_ceps}, {num_bands}")
        if delta_window < 1:
            raise ValueError(f"need delta_window >= 1, got {delta_window}")
        self.frame_size = float(frame_size)
        self.frame_step = float(frame_step)
        self.num_bands = int(num_bands)
        self.num_ceps = int(num_ceps)
        self.lifter = float(lifter)
        self.low_freq = float(low_freq)
        self.high_freq = float(high_freq)
        self.preemphasis = float(preemphasis)
        self.delta_window = int(delta_window)
        self.normalise = bool(normalise)
        self.max_seconds = None if max_seconds is None else float(max_seconds)
        self.device = str(device)
        self.batch_seconds = float(batch_seconds)
        self._consts: dict[str, Tensor] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_consts": None}  # tensors are rebuilt on the other side

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    # -- facts ----------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Values per frame: (log-energy + num_ceps MFCC) x (static, delta, acceleration)."""
        return 3 * (self.num_ceps + 1)

    @property
    def frame_rate(self) -> float:
        """Frames per second (20 with the paper's 50 ms step)."""
        return 1.0 / self.frame_step

    @property
    def frame_length(self) -> int:
        """Samples per frame (1600)."""
        return int(round(self.frame_size * self.sample_rate))

    @property
    def hop_length(self) -> int:
        """Samples between frame starts (800)."""
        return int(round(self.frame_step * self.sample_rate))

    @property
    def n_fft(self) -> int:
        """FFT size: the next power of two of the frame length, as openSMILE pads (2048)."""
        return 1 << (self.frame_length - 1).bit_length()

    @property
    def min_samples(self) -> int:
        """Fewest 16 kHz samples that give one frame."""
        return max(MIN_SAMPLES, self.frame_length)

    def settings(self) -> dict[str, Any]:
        """Everything that changes the output, JSON-able; the feature store keys on it.

        The device is left out on purpose: CPU and GPU results agree to float32 rounding.
        """
        return {
            "extractor": "torch-mfcc",
            "version": 1,
            "sample_rate": self.sample_rate,
            "frame_size": self.frame_size,
            "frame_step": self.frame_step,
            "num_bands": self.num_bands,
            "num_ceps": self.num_ceps,
            "lifter": self.lifter,
            "low_freq": self.low_freq,
            "high_freq": self.high_freq,
            "preemphasis": self.preemphasis,
            "delta_window": self.delta_window,
            "normalise": self.normalise,
            "max_seconds": self.max_seconds,
            "dim": self.dim,
        }

    # -- maths --------------------------------------------------------------------------------
    def _constants(self) -> dict[str, Tensor]:
        """Window, filterbank, DCT-with-lifter matrix on the device, built once."""
        if self._consts is None:
            dev = torch.device(self.device)
            n = np.arange(self.frame_length)
            window = 0.54 - 0.46 * np.cos(2 * np.pi * n / (self.frame_length - 1))
            fbank = htk_mel_filterbank(
                self.n_fft, self.sample_rate, self.num_bands, self.low_freq, self.high_freq
            )
            ceps = np.arange(1, self.num_ceps + 1)[None, :]
            bands = np.arange(self.num_bands)[:, None]
            dct = np.sqrt(2.0 / self.num_bands) * np.cos(
                np.pi * ceps / self.num_bands * (bands + 0.5)
            )
            if self.lifter > 0:
                dct = dct * (1.0 + self.lifter / 2.0 * np.sin(np.pi * ceps / self.lifter))
            self._consts = {
                name: torch.as_tensor(value, dtype=torch.float32, device=dev)
                for name, value in (
                    ("window", window),
                    ("fbank2", np.repeat(fbank, 2, axis=0)),  # rows for re and im of each bin
                    ("dct", dct),
                )
            }
        return self._consts

    def compute(
        self, signals: Sequence[np.ndarray | Tensor], *, quantised: bool = False
    ) -> list[Tensor]:
        """Features of several signals in one batch, on :attr:`device`.

        Args:
            signals: B signals of shape ``(N_i,)``, floats in ``[-1, 1]`` at 16 kHz, each with
                ``N_i >= min_samples``.
            quantised: The signals already went through :func:`quantise` (int16 scale).

        Returns:
            B float32 tensors on the device, of shape ``(T_i, dim)``.
        """
        dev = torch.device(self.device)
        L, hop, k = self.frame_length, self.hop_length, self.preemphasis
        sizes = [int(s.shape[0]) for s in signals]
        lengths = [(n - L) // hop + 1 for n in sizes]
        # All signals in one buffer, each starting at a multiple of the hop, so that one strided
        # view frames them all and the work runs as a few large operations.
        slots = [-(-n // hop) * hop for n in sizes]
        starts = _offsets(slots)
        buf = torch.zeros(sum(slots) + L, dtype=torch.float32, device=dev)
        for o, n, s in zip(starts, sizes, signals, strict=True):  # host or device signals
            buf[o : o + n] = torch.as_tensor(s, dtype=torch.float32).reshape(-1).to(dev)
        if not quantised:
            # int16 as openSMILE's wrapper makes it: clip (so +1.0 does not wrap), scale,
            # truncate (the integer cast truncates toward zero, like the wrapper's).
            buf = buf.clamp_(-1.0, 32767.0 / _INT16_IN).mul_(_INT16_IN).to(torch.int32).float()
        first = [o // hop for o in starts]  # first window of each signal in the framed view
        rows = torch.cat([f + torch.arange(t) for f, t in zip(first, lengths, strict=True)])
        rows = rows.to(dev)
        # HTK log-energy of the raw frames: the sum of squares over every window at once.
        sq = torch.nn.functional.avg_pool1d((buf * buf)[None, None], L, hop)[0, 0]
        energy = torch.log((sq[rows] * L).clamp_min(_LOG_FLOOR))
        # Pre-emphasis over the whole buffer; each frame's first sample is redone HTK style,
        # (1 - k) x[0], below, since openSMILE pre-emphasises every frame on its own.
        emph = torch.empty_like(buf)
        emph[0] = buf[0]
        torch.sub(buf[1:], buf[:-1], alpha=k, out=emph[1:])
        return self._from_emphasised(emph, energy, (1.0 - k) * buf[rows * hop], first, lengths)

    def _compute_host(self, prepared: Sequence[_HostPrepared]) -> list[Tensor]:
        """:meth:`compute` for signals the reader threads already prepared (CPU only)."""
        hop = self.hop_length
        sizes = [len(p.emph) for p in prepared]
        lengths = [len(p.energy) for p in prepared]
        slots = [-(-n // hop) * hop for n in sizes]
        starts = _offsets(slots)
        buf = np.zeros(sum(slots) + self.frame_length, dtype=np.float32)
        for o, p in zip(starts, prepared, strict=True):
            buf[o : o + len(p.emph)] = p.emph
        energy = torch.from_numpy(np.concatenate([p.energy for p in prepared]))
        firsts = torch.from_numpy(np.concatenate([p.first_samples for p in prepared]))
        first = [o // hop for o in starts]
        return self._from_emphasised(torch.from_numpy(buf), energy, firsts, first, lengths)

    def _from_emphasised(
        self,
        emph: Tensor,
        energy: Tensor,
        first_samples: Tensor,
        first: list[int],
        lengths: list[int],
    ) -> list[Tensor]:
        """Features from the pre-emphasised buffer (signals at hop-aligned slots).

        Args:
            emph: ``(S,)`` pre-emphasised int16-scale samples of every signal, in slots.
            energy: ``(F,)`` HTK log-energy of every frame.
            first_samples: ``(F,)`` each frame's first sample redone HTK style, ``(1 - k) x``.
            first: Index of each signal's first window in ``emph`` framed by the hop.
            lengths: Frames of each signal (``F = sum(lengths)``).
        """
        dev, c, L, hop = emph.device, self._constants(), self.frame_length, self.hop_length
        n_frames = int(sum(lengths))
        view = emph.unfold(0, L, hop)  # (windows, L), no copy
        padded = torch.empty(n_frames, self.n_fft, device=dev)  # zero-padded FFT input
        padded[:, L:] = 0.0
        r = 0
        for f, t in zip(first, lengths, strict=True):
            torch.mul(view[f : f + t], c["window"], out=padded[r : r + t, :L])
            r += t
        padded[:, 0] = first_samples * c["window"][0]
        spec = torch.view_as_real(torch.fft.rfft(padded))  # (F, n_fft / 2 + 1, 2)
        # |X|^2 summed into the mel bands in one product: re and im share each filter weight.
        power = spec.reshape(n_frames, -1).square_()  # (F, 2 * bins): re^2, im^2 interleaved
        mel = torch.log((power @ c["fbank2"]).clamp_min_(_LOG_FLOOR))  # (F, bands)
        statics = torch.cat([energy[:, None], mel @ c["dct"]], dim=1)  # (F, 1 + ceps)
        feats = self._add_deltas(statics, lengths)
        if self.normalise:
            # Every utterance's column means at once, summed in float64 so they come out ~0 in
            # float32 too (as MFCCExtractor's numpy mean).
            lens = torch.as_tensor(lengths, device=dev)
            utt = torch.repeat_interleave(torch.arange(len(lengths), device=dev), lens)
            sums = torch.zeros(len(lengths), feats.shape[1], dtype=torch.float64, device=dev)
            sums.index_add_(0, utt, feats.double())
            feats = feats - (sums / lens[:, None]).float()[utt]
        return list(torch.split(feats, lengths))

    def _add_deltas(self, statics: Tensor, lengths: list[int]) -> Tensor:
        """``[statics, deltas, accelerations]`` of stacked utterances, shape ``(F, 3 * D)``."""
        dev = statics.device
        w = self.delta_window
        lens = torch.as_tensor(lengths, device=dev)
        utt = torch.repeat_interleave(torch.arange(len(lengths), device=dev), lens)  # (F,)
        offset = torch.cumsum(lens, 0) - lens  # first frame of each utterance
        t = torch.arange(statics.shape[0], device=dev) - offset[utt]  # position in utterance
        last = lens[utt] - 1
        norm = 2.0 * sum(j * j for j in range(1, w + 1))

        deltas = torch.zeros_like(statics)
        for j in range(1, w + 1):
            ahead = statics[offset[utt] + torch.clamp(t + j, max=last)]
            behind = statics[offset[utt] + torch.clamp(t - j, min=0)]
            deltas += j * (ahead - behind)
        deltas /= norm

        # openSMILE's acceleration stage reads one delta frame past the end (the delta of the
        # last static frame with its successors replicated), then zeros.
        ends = offset + lens - 1
        extra = torch.zeros_like(statics[: len(lengths)])  # (B, D)
        for j in range(1, w + 1):
            extra += j * (statics[ends] - statics[offset + torch.clamp(lens - j, min=0)])
        extra /= norm
        padded = torch.cat([deltas, extra, torch.zeros_like(statics[:1])])
        n_frames, n_utts = statics.shape[0], len(lengths)
        accels = torch.zeros_like(statics)
        for j in range(1, w + 1):
            ahead_t = t + j
            ahead = torch.where(
                ahead_t <= last,
                offset[utt] + ahead_t,
                torch.where(ahead_t == last + 1, n_frames + utt, n_frames + n_utts),
            )
            behind = offset[utt] + torch.clamp(t - j, min=0)
            accels += j * (padded[ahead] - padded[behind])
        accels /= norm
        return torch.cat([statics, deltas, accels], dim=1)

    # -- the front-end contract ---------------------------------------------------------------
    def _check_length(self, signal: np.ndarray, utterance_id: str) -> None:
        if len(signal) < self.min_samples:
            raise BadInputError(
                utterance_id,
                "too_short",
                f"{len(signal)} samples at 16 kHz is shorter than one {self.frame_size * 1000:g} "
                "ms frame; exclude the utterance or fix its segment times",
            )

    def _finish(self, feats: Tensor, utterance_id: str) -> np.ndarray:
        out = np.ascontiguousarray(feats.detach().to("cpu").numpy(), dtype=np.float32)
        if not np.all(np.isfinite(out)):
            raise BadInputError(
                utterance_id,
                "non_finite_features",
                f"the torch MFCC is NaN/Inf ({out.shape[0]} frames); check the audio",
            )
        return out

    def from_signal(self, signal: np.ndarray, utterance_id: str) -> np.ndarray:
        """MFCC features of a 16 kHz mono signal.

        Args:
            signal: Samples of shape ``(N,)``, floats in ``[-1, 1]`` at 16 kHz.
            utterance_id: Id used in error messages.

        Returns:
            Features of shape ``(T, dim)``, float32, ``T = floor((N - 1600) / 800) + 1``.

        Raises:
            BadInputError: ``too_short`` for less than one frame; ``non_finite_features``.
        """
        x = np.asarray(signal, dtype=np.float32).reshape(-1)
        self._check_length(x, utterance_id)
        with torch.inference_mode():
            if torch.device(self.device).type == "cpu":  # the same path as extract_many's
                prepared = _prepare_on_host(
                    quantise(x.copy()), self.frame_length, self.hop_length, self.preemphasis
                )
                return self._finish(self._compute_host([prepared])[0], utterance_id)
            return self._finish(self.compute([x])[0], utterance_id)

    def extract_many(
        self,
        jobs: Sequence[AudioJob],
        *,
        num_workers: int | None = None,
        progress: bool = True,
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        """Read the files with threads and compute them in batches of ``batch_seconds``.

        Args:
            jobs: Utterances to extract.
            num_workers: Threads reading and decoding files (``None``: up to 4).
            progress: Show a tqdm bar (only on a terminal).

        Yields:
            ``(job.index, features)`` with features ``(T, dim)`` float32, or
            ``(job.index, BadInputError)``, in job order.
        """
        from tqdm.auto import tqdm

        readers = max(1, num_workers or min(4, os.cpu_count() or 1))
        bar = tqdm(
            total=len(jobs), desc="MFCC (torch)", unit="utt",
            disable=not progress or not sys.stderr.isatty(),
        )  # fmt: skip
        budget = max(1, int(self.batch_seconds * self.sample_rate))
        with ThreadPoolExecutor(readers) as pool, torch.inference_mode():
            # Reading runs ahead on threads (decoding releases the GIL) while torch computes;
            # at most _READ_AHEAD files are held, so memory stays bounded on any corpus.
            pending: deque[tuple[AudioJob, Future[_Read | BadInputError]]] = deque()
            todo = iter(jobs)
            batch: list[tuple[AudioJob, _Read]] = []
            samples = 0
            while True:
                for job in islice(todo, _READ_AHEAD - len(pending)):
                    pending.append((job, pool.submit(_read_or_error, self, job)))
                if not pending:
                    break
                job, future = pending.popleft()
                result = future.result()
                if isinstance(result, BadInputError):
                    yield job.index, result
                    bar.update(1)
                    continue
                batch.append((job, result))
                samples += len(result.emph if isinstance(result, _HostPrepared) else result)
                if samples >= budget:
                    yield from self._run_batch(batch, bar)
                    batch, samples = [], 0
            if batch:
                yield from self._run_batch(batch, bar)
        bar.close()

    def _run_batch(
        self, batch: list[tuple[AudioJob, _Read]], bar: Any
    ) -> Iterator[tuple[int, np.ndarray | BadInputError]]:
        items = [item for _, item in batch]
        if all(isinstance(item, _HostPrepared) for item in items):
            feats = self._compute_host(items)  # type: ignore[arg-type]
        else:
            feats = self.compute(items, quantised=True)  # type: ignore[arg-type]
        for (job, _), f in zip(batch, feats, strict=True):
            try:
                yield job.index, self._finish(f, job.utterance_id)
            except BadInputError as err:
                yield job.index, err
        bar.update(len(batch))


def quantise(signal: np.ndarray) -> np.ndarray:
    """``trunc(clip(x) * 32768)`` as float32: the int16 samples openSMILE's wrapper makes.

    Args:
        signal: ``(N,)`` floats in ``[-1, 1]``; modified in place when it is float32.

    Returns:
        ``(N,)`` float32 integers in ``[-32768, 32767]``.
    """
    x = np.asarray(signal, dtype=np.float32)
    np.clip(x, -1.0, 32767.0 / _INT16_IN, out=x)
    np.multiply(x, _INT16_IN, out=x)
    return np.trunc(x, out=x)


class _HostPrepared(NamedTuple):
    """One signal prepared on a reader thread: what :meth:`_from_emphasised` needs."""

    emph: np.ndarray  # (N,) pre-emphasised int16-scale samples
    energy: np.ndarray  # (T,) HTK log-energy of each raw frame
    first_samples: np.ndarray  # (T,) (1 - k) x[start] of each frame


_Read = np.ndarray | _HostPrepared  # what a reader thread hands over


def _prepare_on_host(x: np.ndarray, frame: int, hop: int, k: float) -> _HostPrepared:
    """Energy, pre-emphasis and frame-start samples of one quantised signal, in numpy."""
    starts = np.arange((len(x) - frame) // hop + 1) * hop
    csum = np.zeros(len(x) + 1)
    np.cumsum(np.square(x, dtype=np.float64), out=csum[1:])
    energy = np.log(np.maximum(csum[starts + frame] - csum[starts], _LOG_FLOOR))
    emph = np.empty_like(x)
    emph[0] = x[0]
    np.multiply(x[:-1], -k, out=emph[1:])
    emph[1:] += x[1:]
    first = (1.0 - k) * x[starts]
    return _HostPrepared(emph, energy.astype(np.float32), first.astype(np.float32))


def _read_or_error(extractor: TorchMFCCExtractor, job: AudioJob) -> _Read | BadInputError:
    try:
        signal = extractor.read(job)
        extractor._check_length(signal, job.utterance_id)
        # Quantised here, on the reader thread, so this work overlaps the main thread's maths;
        # on the CPU the reader also does the energy and pre-emphasis (balances the threads).
        signal = quantise(signal)
        if torch.device(extractor.device).type == "cpu":
            return _prepare_on_host(
                signal, extractor.frame_length, extractor.hop_length, extractor.preemphasis
            )
    except BadInputError as err:
        return err
    return signal


def _offsets(sizes: list[int]) -> list[int]:
    """Start of each of several concatenated pieces of the given sizes."""
    out, total = [], 0
    for n in sizes:
        out.append(total)
        total += n
    return out
