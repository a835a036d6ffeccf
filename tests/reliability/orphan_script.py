"""Run by test_orphans.py: start a pooled extraction, print the worker pids, then wait to be killed.

Usage: python orphan_script.py FOLDER [--no-prctl]
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

from mmfa.features import workers
from mmfa.features.audio import AudioJob, MFCCExtractor
from mmfa.testing.media import tone, write_wav

if __name__ == "__main__":
    folder = Path(sys.argv[1])
    if "--no-prctl" in sys.argv:
        workers.USE_PRCTL = False  # exercise the portable watchdog alone
    jobs = [
        AudioJob(i, f"u{i}", write_wav(folder / f"u{i}.wav", tone(0.5, seed=i))) for i in range(40)
    ]
    results = MFCCExtractor().extract_many(jobs, num_workers=2, progress=False)
    next(results)  # the pool is up and working
    pids = [p.pid for p in multiprocessing.active_children()]
    print(" ".join(map(str, pids)), flush=True)
    time.sleep(600)  # killed here, with the pool open
