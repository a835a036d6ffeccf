"""Prediction on many files: is `mmfa predict` only feature extraction plus a small constant?

Writes N short clips with transcripts, then, in the same run, measures
(i) the baseline: extracting their audio and text features into a fresh cache
    (``FeaturePipeline.run``, what any use of the model must do first);
(ii) ``EmotionRecognizer.predict_utterances`` on the same clips with another fresh cache
     (extraction + batching + the network), the path ``mmfa predict --input`` takes;
(iii) the same prediction again, features now cached.
The model is the paper's MMFA-RNN with random weights: the cost does not depend on the weights.
Prints the split and writes ``benchmarks/results/predict.json``.

    python benchmarks/bench_predict.py [--clips 1000] [--seconds 2.0]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import command_line, parser, write_result

WORDS = "kids are talking by the door dogs are sitting near a quiet window today".split()


def main() -> None:
    cli = parser(__doc__, "predict.json")
    cli.add_argument("--clips", type=int, default=1000)
    cli.add_argument("--seconds", type=float, default=2.0, help="length of each clip")
    args = cli.parse_args()

    import torch

    from mmfa.features.audio import MFCCExtractor
    from mmfa.features.pipeline import FeaturePipeline
    from mmfa.features.text import TextFeatureExtractor
    from mmfa.inference import EmotionRecognizer
    from mmfa.manifest import Utterance
    from mmfa.models.task import EmotionTask
    from mmfa.testing.media import tone, write_wav

    with tempfile.TemporaryDirectory(prefix="mmfa-bench-predict-") as tmp:
        root = Path(tmp)
        utterances = []
        for i in range(args.clips):
            path = write_wav(root / "clips" / f"c{i:05d}.wav", tone(args.seconds, seed=i))
            text = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(6 + i % 5))
            utterances.append(Utterance(f"c{i:05d}", path, text, 0, f"s{i % 10}"))
        audio, text = MFCCExtractor(), TextFeatureExtractor()
        # Load the text encoder and build openSMILE once, outside both timings.
        FeaturePipeline(root / "cache_warm", audio, text, progress=False).run(utterances[:2])

        start = time.perf_counter()
        FeaturePipeline(root / "cache_extract", audio, text, progress=False).run(utterances)
        extract_s = time.perf_counter() - start

        task = EmotionTask(audio_dim=audio.dim, text_dim=text.dim, num_outputs=4)
        recognizer = EmotionRecognizer(task, audio, text, cache_dir=root / "cache_predict")
        start = time.perf_counter()
        run = recognizer.predict_utterances(utterances, progress=False)
        predict_s = time.perf_counter() - start
        start = time.perf_counter()
        recognizer.predict_utterances(utterances, progress=False)
        cached_s = time.perf_counter() - start
    assert len(run.predictions) == args.clips and not run.skipped

    overhead = predict_s - extract_s
    result = {
        "benchmark": "predict",
        "command": command_line(),
        "clips": args.clips,
        "clip_seconds": args.seconds,
        "extract_s": round(extract_s, 2),
        "predict_s": round(predict_s, 2),
        "predict_cached_s": round(cached_s, 2),
        "overhead_s": round(overhead, 2),
        "ratio_predict_over_extract": round(predict_s / extract_s, 3),
        "torch_threads": torch.get_num_threads(),
    }
    print("| step | seconds |\n|---|---:|")
    print(f"| extract features of {args.clips} clips (baseline) | {extract_s:.1f} |")
    print(f"| mmfa predict, fresh cache (extract + model) | {predict_s:.1f} |")
    print(f"| mmfa predict, features cached | {cached_s:.1f} |")
    print(f"| overhead over extraction | {overhead:.1f} ({predict_s / extract_s:.2f}x) |")
    write_result(args.out, result)


if __name__ == "__main__":
    main()
