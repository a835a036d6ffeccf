"""Feature store: the first extraction of a corpus vs a cached rerun of the same corpus.

Runs ``FeaturePipeline.run`` (what every datamodule calls in ``prepare_data``/``setup``) twice
over the same real speech files with a fresh cache folder: the first run hashes the files and
extracts every utterance; the second, a new pipeline as a new ``mmfa fit`` would build it, opens
the store, finds every content key and extracts nothing. Audio only by default (``--text`` adds
the packaged MiniLM text features). Writes ``benchmarks/results/cache.json``.

    python benchmarks/bench_cache.py [--root ../shared/data/ravdess] [--frontend torch]

Skips with a message when the corpus folder is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cache.json"
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ravdess"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="folder of wav/flac")
    parser.add_argument("--corpus", default="ravdess", help="name recorded in the results")
    parser.add_argument("--frontend", choices=["opensmile", "torch"], default="opensmile")
    parser.add_argument("--text", action="store_true", help="also extract MiniLM text features")
    parser.add_argument("--workers", type=int, default=None, help="extraction processes")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    root = args.root.resolve()
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    if not files:
        print(f"SKIP: no wav/flac files under {args.root} (pass --root)")
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from mmfa.features.audio import MFCCExtractor
    from mmfa.features.pipeline import FeaturePipeline
    from mmfa.features.text import TextFeatureExtractor
    from mmfa.features.torch_mfcc import TorchMFCCExtractor
    from mmfa.manifest import Utterance

    utts = [
        Utterance(p.stem, p, f"sentence {i % 2}", 0, p.parent.name) for i, p in enumerate(files)
    ]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

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
        "command": "python benchmarks/bench_cache.py " + " ".join(sys.argv[1:]),
        "corpus": args.corpus,
        "utterances": len(utts),
        "frontend": args.frontend,
        "text": args.text,
        "seconds": timings,
        "ratio_first_over_rerun": ratio,
        "load_average_at_start": load,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
