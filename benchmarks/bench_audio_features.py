"""Audio feature throughput: mmfa's parallel MFCC extraction against a plain openSMILE loop.

Writes synthetic wav files (``mmfa.testing.media.tone``), then, in the same run, measures
(i) the baseline: one ``opensmile.Smile(mfcc.conf).process_file`` call per file, one process;
(ii) ``MFCCExtractor.extract_many`` with its default workers (all cores).
Prints a Markdown table and writes ``benchmarks/results/audio_features.json``.

    python benchmarks/bench_audio_features.py [--seconds 60] [--clip 2.0] [--workers N]
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from common import best_of, command_line, frames_of, parser, write_result


def main() -> None:
    cli = parser(__doc__, "audio_features.json")
    cli.add_argument("--seconds", type=float, default=60.0, help="total audio (s)")
    cli.add_argument("--clip", type=float, default=2.0, help="length of each file (s)")
    cli.add_argument("--workers", type=int, default=None, help="default: os.cpu_count()")
    cli.add_argument("--repeats", type=int, default=3, help="best of N timings")
    args = cli.parse_args()

    import opensmile

    from mmfa.features.audio import CONFIG_PATH, FEATURE_LEVEL, AudioJob, MFCCExtractor
    from mmfa.testing.media import tone, write_wav

    count = max(1, round(args.seconds / args.clip))
    audio_s = count * args.clip
    with tempfile.TemporaryDirectory(prefix="mmfa-bench-") as tmp:
        paths = [
            write_wav(Path(tmp) / f"utt{i:04d}.wav", tone(args.clip, freq=120.0 + i, seed=i))
            for i in range(count)
        ]
        jobs = [AudioJob(index=i, utterance_id=p.stem, path=p) for i, p in enumerate(paths)]

        # (i) Baseline: the obvious loop; the Smile is built once, outside the timing.
        smile = opensmile.Smile(feature_set=str(CONFIG_PATH), feature_level=FEATURE_LEVEL)
        smile.process_file(str(paths[0]))  # warm-up: library load, page cache

        def baseline() -> int:
            return sum(len(smile.process_file(str(p))) for p in paths)

        # (ii) mmfa: a fresh extractor each repeat, so pool start-up and Smile build count.
        def mmfa_parallel() -> int:
            extracted = MFCCExtractor().extract_many(jobs, num_workers=args.workers, progress=False)
            return frames_of(extracted)

        rows = []
        for name, fn in [
            ("opensmile process_file loop", baseline),
            ("MFCCExtractor.extract_many", mmfa_parallel),
        ]:
            timing = best_of(args.repeats, fn)
            rows.append(
                {
                    "method": name,
                    "seconds": timing.seconds,
                    "frames": timing.value,
                    "audio_s_per_s": audio_s / timing.seconds,
                }
            )

    ratio = rows[1]["audio_s_per_s"] / rows[0]["audio_s_per_s"]
    workers = args.workers or os.cpu_count()
    print(
        f"\n{count} files x {args.clip:g} s = {audio_s:g} s of audio, "
        f"{workers} workers, best of {args.repeats}\n"
    )
    print("| method | wall (s) | audio s / s | frames |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['method']} | {r['seconds']:.3f} | {r['audio_s_per_s']:.0f} | {r['frames']} |")
    print(f"\nratio (ii)/(i): {ratio:.2f}x")
    write_result(
        args.out,
        {
            "benchmark": "audio_features",
            "command": command_line(),
            "audio_seconds": audio_s,
            "files": count,
            "clip_seconds": args.clip,
            "workers": workers,
            "repeats": args.repeats,
            "rows": rows,
            "ratio_parallel_over_baseline": ratio,
        },
    )


if __name__ == "__main__":
    main()
