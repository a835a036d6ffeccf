"""A recording of hours through `mmfa predict --window`: does memory stay that of one window?

Writes a long 16 kHz wav (``--hours``, default 3) and a 10-minute one made of the same sound,
trains a one-epoch AudioOnly model on the demo corpus, and predicts both in windows of
``--window`` seconds with ``mmfa predict``, each in its own process. The baseline is the
10-minute recording measured in the same run: the peak resident memory of the long one over the
baseline's should stay near 1 (windows are read one by one; the recording is never loaded
whole). Writes ``benchmarks/results/long_recording.json``.

    python benchmarks/bench_long_recording.py [--hours 3] [--window 10]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, command_line, parser, run_mmfa, write_result

#: Runs a command and prints its peak resident memory (KiB on Linux) as the last line.
PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def write_long(path: Path, seconds: float, clip: Path) -> None:
    """``seconds`` of audio made by repeating ``clip``, written block by block."""
    import numpy as np
    import soundfile

    sound, rate = soundfile.read(clip, dtype="float32")
    block = np.tile(sound, max(1, int(60 * rate) // len(sound) + 1))[: 60 * rate]
    with soundfile.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        left = int(seconds * rate)
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)


def predict(ckpt: Path, recording: Path, window: float, out: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (MiB) of `mmfa predict --window` in a fresh process."""
    command = [
        sys.executable, "-m", "mmfa", "predict", "--ckpt_path", str(ckpt),
        "--input", str(recording), "--window", str(window), "--out", str(out),
        "--cache_dir", str(out.parent / "cache"),
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *command],
        capture_output=True,
        text=True,
        check=True,
        env={"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        cwd=REPO,
    )
    return time.perf_counter() - start, int(done.stdout.strip().splitlines()[-1]) // 1024


def main() -> None:
    cli = parser(__doc__, "long_recording.json")
    cli.add_argument("--hours", type=float, default=3.0)
    cli.add_argument("--window", type=float, default=10.0)
    args = cli.parse_args()

    with tempfile.TemporaryDirectory(prefix="mmfa-bench-long-") as tmp:
        root = Path(tmp)
        run_mmfa(
            ["mmfa", "fit", "--config", "configs/demo.yaml", "--model.fusion=AudioOnly",
             "--trainer.max_epochs=1", f"--trainer.logger.init_args.save_dir={root / 'fit'}",
             f"--data.init_args.cache_dir={root / 'demo_cache'}"]
        )  # fmt: skip
        ckpt = next((root / "fit").rglob("best.ckpt"))
        from mmfa.datamodules.synthetic import SyntheticDataModule

        clip = next(
            u.audio_path
            for u in SyntheticDataModule(cache_dir=str(root / "demo_cache")).load_manifest()
        )
        rows = {}
        for name, seconds in (("baseline_10min", 600.0), ("long", args.hours * 3600)):
            recording = root / f"{name}.wav"
            write_long(recording, seconds, Path(clip))
            (root / name).mkdir()
            wall, peak = predict(ckpt, recording, args.window, root / name / "preds.csv")
            summary = _summary(root / name / "preds.summary.csv")
            rows[name] = {"seconds": seconds, "wall_s": round(wall, 1), "peak_rss_mib": peak,
                          "windows": summary["segments"]}  # fmt: skip
            print(f"{name}: {seconds / 3600:.2f} h, {summary['segments']} windows, "
                  f"{wall:.0f} s, peak RSS {peak} MiB", flush=True)  # fmt: skip
    ratio = rows["long"]["peak_rss_mib"] / rows["baseline_10min"]["peak_rss_mib"]
    print(f"peak memory, {args.hours:g} h over 10 min: {ratio:.2f}x")
    write_result(
        args.out,
        {
            "benchmark": "long_recording",
            "command": command_line(),
            "window_s": args.window,
            "rows": rows,
            "ratio_peak_rss_long_over_baseline": round(ratio, 3),
        },
    )


def _summary(path: Path) -> dict[str, str]:
    import csv

    with path.open(newline="") as handle:
        return next(csv.DictReader(handle))


if __name__ == "__main__":
    main()
