"""Torch MFCC vs openSMILE on real speech: parity per coefficient, and seconds of audio per second.

On the same files (RAVDESS FLAC clips by default), in one run:

(i)   the baseline: one ``opensmile.Smile(mfcc.conf).process_file`` call per file, one process
      (openSMILE runs single-threaded);
(ii)  ``MFCCExtractor.extract_many`` with ``--threads`` worker processes (what mmfa does today);
(iii) ``TorchMFCCExtractor.extract_many`` with torch on ``--threads`` intra-op threads, file
      reading and decoding included.

Parity compares (iii) with ``MFCCExtractor`` (openSMILE + mean normalisation) on every file: per
coefficient Pearson correlation and largest absolute difference, over all frames and over the
non-silent frames (log-energy within 60 dB of the utterance's loudest frame). Prints Markdown
and writes ``benchmarks/results/torch_mfcc.json`` (corpus paths relative to the corpus root).

    python benchmarks/bench_torch_mfcc.py [--root DIR] [--threads 2] [--limit N]

``--root`` defaults to ``$MMFA_SHARED/data/ravdess`` (``MMFA_SHARED``: the ``shared`` folder
beside the repository); the benchmark skips with a message when it holds no audio.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import opensmile
import soundfile as sf
import torch
from common import (
    Timing,
    audio_files,
    best_of,
    command_line,
    frames_of,
    load_average,
    parser,
    shared_data,
    skip_without,
    write_result,
)

from mmfa.features.audio import CONFIG_PATH, FEATURE_LEVEL, MFCCExtractor
from mmfa.features.frontend import AudioJob
from mmfa.features.torch_mfcc import TorchMFCCExtractor


def time_methods(files: list[Path], threads: int, device: str, repeats: int) -> list[Timing]:
    """(i)-(iii), best of ``repeats`` each: wall and CPU seconds, and the frames they made."""
    jobs = [AudioJob(i, p.stem, p) for i, p in enumerate(files)]
    smile = opensmile.Smile(feature_set=str(CONFIG_PATH), feature_level=FEATURE_LEVEL)
    smile.process_file(str(files[0]))  # warm-up: library load, page cache

    def baseline() -> int:
        return sum(len(smile.process_file(str(p))) for p in files)

    def opensmile_pool() -> int:
        return frames_of(MFCCExtractor().extract_many(jobs, num_workers=threads, progress=False))

    def torch_mfcc(torch_threads: int, readers: int) -> int:
        torch.set_num_threads(torch_threads)
        ext = TorchMFCCExtractor(device=device)
        frames = frames_of(ext.extract_many(jobs, num_workers=readers, progress=False))
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return frames

    torch_mfcc(threads, 1)  # warm-up: torch kernels, FFT plans
    return [
        best_of(repeats, baseline),
        best_of(repeats, opensmile_pool),
        # 2 CPU threads in all: torch computes on one while a reader thread decodes files
        best_of(repeats, lambda: torch_mfcc(1, 1)),
        best_of(repeats, lambda: torch_mfcc(threads, 1)),
    ]


def parities(files: list[Path], device: str) -> tuple[dict, dict]:
    """Parity on every file, normalised (what the model sees) and unnormalised."""
    reference, ours, ref_raw, ours_raw = [], [], [], []
    o_norm, o_raw = MFCCExtractor(), MFCCExtractor(normalise=False)
    t_norm = TorchMFCCExtractor(device=device)
    t_raw = TorchMFCCExtractor(normalise=False, device=device)
    for p in files:
        reference.append(o_norm.from_file(p, utterance_id=p.stem))
        ours.append(t_norm.from_file(p, utterance_id=p.stem))
        ref_raw.append(o_raw.from_file(p, utterance_id=p.stem))
        ours_raw.append(t_raw.from_file(p, utterance_id=p.stem))
    assert all(a.shape == b.shape for a, b in zip(ours, reference, strict=True)), "shape mismatch"
    return parity(ours, reference), parity(ours_raw, ref_raw)


def parity(ours: list, ref: list) -> dict:
    """Per-coefficient correlation and max |diff| over all frames and over non-silent frames."""
    a, b = np.concatenate(ours).astype(np.float64), np.concatenate(ref).astype(np.float64)
    # Non-silent: log-energy (column 0, before normalisation it is log sum x^2 in int16 units)
    # within 60 dB (ln 10^6 = 13.8) of the utterance's loudest frame. Normalisation subtracts
    # the mean, which does not move differences between frames of one utterance.
    keep = np.concatenate(
        [r[:, 0] > r[:, 0].max() - np.log(1e6) for r in ref]  # the column is mean-shifted only
    )
    out = {}
    for name, mask in (("all_frames", np.ones(len(a), bool)), ("non_silent", keep)):
        x, y = a[mask], b[mask]
        corr = [float(np.corrcoef(x[:, j], y[:, j])[0, 1]) for j in range(a.shape[1])]
        diff = np.abs(x - y).max(axis=0)
        out[name] = {
            "frames": int(mask.sum()),
            "min_correlation": min(corr),
            "min_correlation_coefficient": int(np.argmin(corr)),
            "max_abs_diff": float(diff.max()),
            "max_abs_diff_coefficient": int(np.argmax(diff)),
            "max_abs_diff_per_block": {
                "static": float(diff[:13].max()),
                "delta": float(diff[13:26].max()),
                "acceleration": float(diff[26:].max()),
            },
            "correlation": corr,
        }
    return out


def main() -> None:
    cli = parser(__doc__, "torch_mfcc.json")
    cli.add_argument("--root", type=Path, default=shared_data("ravdess"), help="wav/flac folder")
    cli.add_argument("--corpus", default="ravdess", help="name recorded in the results")
    cli.add_argument("--threads", type=int, default=2, help="torch threads / openSMILE procs")
    cli.add_argument("--limit", type=int, default=None, help="use the first N files only")
    cli.add_argument("--repeats", type=int, default=3, help="best of N timings")
    cli.add_argument("--device", default="cpu")
    args = cli.parse_args()
    root = args.root.resolve()
    files = audio_files(root)[: args.limit or None]
    if skip_without(files, "wav/flac files", args.root, "--root"):
        return

    torch.set_num_threads(args.threads)
    audio_s = sum(sf.info(str(p)).duration for p in files)
    load = load_average()
    names = [
        "opensmile process_file loop (1 process)",
        f"MFCCExtractor.extract_many ({args.threads} processes)",
        "TorchMFCCExtractor.extract_many (1 torch + 1 reader thread)",
        f"TorchMFCCExtractor.extract_many ({args.threads} torch + 1 reader, {args.device})",
    ]
    rows = []
    for name, timing in zip(
        names, time_methods(files, args.threads, args.device, args.repeats), strict=True
    ):
        rows.append(
            {
                "method": name,
                "seconds": timing.seconds,
                "frames": timing.value,
                "audio_s_per_s": audio_s / timing.seconds,
                # CPU time of this process and its children: what the work costs whatever the
                # machine's load (a busy machine slows wall time, not this)
                "cpu_seconds": timing.cpu_seconds,
                "audio_s_per_cpu_s": audio_s / timing.cpu_seconds,
            }
        )
        rate = rows[-1]["audio_s_per_s"]
        print(f"{name}: {timing.seconds:.3f} s, {rate:.0f} s of audio / s", file=sys.stderr)
    par, par_raw = parities(files, args.device)

    base = rows[0]["audio_s_per_s"]
    ratio_torch = rows[3]["audio_s_per_s"] / base
    ratio_torch_1 = rows[2]["audio_s_per_s"] / base
    ratio_pool = rows[3]["audio_s_per_s"] / rows[1]["audio_s_per_s"]
    ratio_cpu = rows[2]["audio_s_per_cpu_s"] / rows[0]["audio_s_per_cpu_s"]
    print(f"\n{len(files)} files, {audio_s:.0f} s of audio ({args.corpus}), best of {args.repeats}")
    print(f"load average at start: {load}\n")
    print("| method | wall (s) | audio s / s | CPU (s) | audio s / CPU s | frames |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['method']} | {r['seconds']:.3f} | {r['audio_s_per_s']:.0f} | "
            f"{r['cpu_seconds']:.3f} | {r['audio_s_per_cpu_s']:.0f} | {r['frames']} |"
        )
    print(
        f"\ntorch ({args.threads}+1 threads) / openSMILE loop: {ratio_torch:.2f}x; 1+1 threads: "
        f"{ratio_torch_1:.2f}x; torch / openSMILE pool ({args.threads} procs): {ratio_pool:.2f}x"
    )
    print(f"audio per CPU second, torch (1+1 threads) / openSMILE loop: {ratio_cpu:.2f}x")
    for label, p in (("normalised", par), ("unnormalised", par_raw)):
        for subset in ("all_frames", "non_silent"):
            s = p[subset]
            print(
                f"parity {label} {subset} ({s['frames']} frames): min corr "
                f"{s['min_correlation']:.6f} (coef {s['min_correlation_coefficient']}), max |diff| "
                f"{s['max_abs_diff']:.2e} (coef {s['max_abs_diff_coefficient']}); "
                f"{s['max_abs_diff_per_block']}"
            )

    result = {
        "benchmark": "torch_mfcc",
        "command": command_line(),
        "corpus": args.corpus,
        "files": len(files),
        "first_file": str(files[0].relative_to(root)),
        "audio_seconds": audio_s,
        "threads": args.threads,
        "device": args.device,
        "repeats": args.repeats,
        "load_average_at_start": load,
        "rows": rows,
        "ratio_torch_over_opensmile_loop": ratio_torch,
        "ratio_torch_1_torch_1_reader_thread_over_opensmile_loop": ratio_torch_1,
        "ratio_per_cpu_second_torch_over_opensmile_loop": ratio_cpu,
        "ratio_torch_over_opensmile_pool": ratio_pool,
        "parity_normalised": par,
        "parity_unnormalised": par_raw,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
