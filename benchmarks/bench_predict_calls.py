"""Many `EmotionRecognizer.predict(array)` calls: is the latency of a call flat over time?

Arrays are computed in memory and never written to the feature cache, so call 1,000 must cost
what call 10 costs. Measures, in one run, the median latency of the first and the last
``--window`` calls of ``--calls`` calls on 2-second arrays (a text-free model with random
weights: the cost does not depend on the weights), and the size of the feature cache before and
after. Prints the ratio last/first and writes ``benchmarks/results/predict_calls.json``.

    python benchmarks/bench_predict_calls.py [--calls 1000] [--window 50]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from common import command_line, parser, write_result


def folder_bytes(root: Path) -> int:
    """Bytes of every file under ``root``."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> None:
    cli = parser(__doc__, "predict_calls.json")
    cli.add_argument("--calls", type=int, default=1000)
    cli.add_argument("--window", type=int, default=50, help="calls in each median")
    cli.add_argument("--seconds", type=float, default=2.0, help="length of each array")
    args = cli.parse_args()

    import functools

    import torch

    from mmfa.features.audio import MFCCExtractor
    from mmfa.fusion.single import AudioOnly
    from mmfa.inference import EmotionRecognizer
    from mmfa.models.task import EmotionTask
    from mmfa.testing.media import tone

    torch.set_num_threads(1)
    audio = MFCCExtractor()
    task = EmotionTask(
        fusion=functools.partial(AudioOnly), audio_dim=audio.dim, text_dim=0, num_outputs=4
    )
    with tempfile.TemporaryDirectory(prefix="mmfa-bench-calls-") as tmp:
        cache = Path(tmp) / "cache"
        recognizer = EmotionRecognizer(task, audio, None, cache_dir=cache)
        recognizer.predict(tone(args.seconds, seed=0), sample_rate=16000)  # builds openSMILE
        before = folder_bytes(cache) if cache.exists() else 0
        latencies = []
        for i in range(args.calls):
            signal = tone(args.seconds, seed=i)
            start = time.perf_counter()
            recognizer.predict(signal, sample_rate=16000)
            latencies.append(time.perf_counter() - start)
        after = folder_bytes(cache) if cache.exists() else 0
    first = statistics.median(latencies[: args.window])
    last = statistics.median(latencies[-args.window :])
    result = {
        "benchmark": "predict_calls",
        "command": command_line(),
        "calls": args.calls,
        "array_seconds": args.seconds,
        "median_first_ms": round(1000 * first, 1),
        "median_last_ms": round(1000 * last, 1),
        "ratio_last_over_first": round(last / first, 3),
        "cache_bytes_before": before,
        "cache_bytes_after": after,
    }
    print("| calls | median latency (ms) |\n|---|---:|")
    print(f"| first {args.window} | {1000 * first:.1f} |")
    print(f"| last {args.window} of {args.calls} | {1000 * last:.1f} ({last / first:.2f}x) |")
    print(f"feature cache: {before} bytes before, {after} after")
    write_result(args.out, result)


if __name__ == "__main__":
    main()
