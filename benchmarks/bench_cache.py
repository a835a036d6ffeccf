"""Feature store: the first extraction of a corpus vs a cached rerun of the same corpus.

Runs ``FeaturePipeline.run`` (what every datamodule calls in ``prepare_data``/``setup``) twice
over the same real speech files with a fresh cache folder: the first run hashes the files and
extracts every utterance; the second, a new pipeline as a new ``mmfa fit`` would build it, opens
the store, finds every content key and extracts nothing. Audio only by default (``--text`` adds
the packaged MiniLM text features). Writes ``benchmarks/results/cache.json``.

    python benchmarks/bench_cache.py [--root DIR] [--frontend torch]

``--root`` defaults to ``$MMFA_SHARED/data/ravdess`` (``MMFA_SHARED``: the ``shared`` folder
beside the repository); the benchmark skips with a message when it holds no audio.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import (
    audio_files,
    command_line,
    load_average,
    parser,
    shared_data,
    skip_without,
    write_result,
)


def main() -> None:
    cli = parser(__doc__, "cache.json")
    cli.add_argument("--root", type=Path, default=shared_data("ravdess"), help="wav/flac folder")
    cli.add_argument("--corpus", default="ravdess", help="name recorded in the results")
    cli.add_argument("--frontend", choices=["opensmile", "torch"], default="opensmile")
    cli.add_argument("--text", action="store_true", help="also extract MiniLM text features")
    cli.add_argument("--workers", type=int, default=None, help="extraction processes")
    args = cli.parse_args()

    files = audio_files(args.root.resolve())
    if skip_without(files, "wav/flac files", args.root, "--root"):
        return

    from mmfa.features.audio import MFCCExtractor
    from mmfa.features.pipeline import FeaturePipeline
    from mmfa.features.text import TextFeatureExtractor
    from mmfa.features.torch_mfcc import TorchMFCCExtractor
    from mmfa.manifest import Utterance

    utts = [
        Utterance(p.stem, p, f"sentence {i % 2}", 0, p.parent.name) for i, p in enumerate(files)
    ]
    load = load_average()

    def pipeline(cache: Path) -> FeaturePipeline:
        audio = MFCCExtractor() if args.frontend == "opensmile" else TorchMFCCExtractor()
        text = TextFeatureExtractor() if args.text else None
        return FeaturePipeline(cache, audio, text, num_workers=args.workers, progress=False)

    timings = {}
    with tempfile.TemporaryDirectory(prefix="mmfa-cache-bench-") as tmp:
        for run in ("first", "rerun", "rerun_2"):
            start = time.perf_counter()
            refs, report = pipeline(Path(tmp)).run(utts)
            timings[run] = time.perf_counter() - start
            print(f"{run}: {timings[run]:.3f} s; {report.summary()}", file=sys.stderr)
            assert len(refs) == len(utts), report.summary()
            if run == "first":
                assert report.extracted["audio"] == len(utts)
            else:
                assert report.reused["audio"] == len(utts) and not report.extracted["audio"]
    rerun = min(timings["rerun"], timings["rerun_2"])
    ratio = timings["first"] / rerun
    print(f"\n{len(utts)} utterances ({args.corpus}), {args.frontend} front-end")
    print("| run | seconds |\n|---|---:|")
    print(f"| first extraction | {timings['first']:.2f} |")
    print(f"| cached rerun (best of 2) | {rerun:.3f} |")
    print(f"| ratio | {ratio:.0f}x |")
    result = {
        "benchmark": "cache",
        "command": command_line(),
        "corpus": args.corpus,
        "utterances": len(utts),
        "frontend": args.frontend,
        "text": args.text,
        "seconds": timings,
        "ratio_first_over_rerun": ratio,
        "load_average_at_start": load,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
