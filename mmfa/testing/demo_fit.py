"""A tiny ``mmfa fit`` of the demo corpus: the trained model prediction tests start from.

For a source checkout (the tests): the config is ``configs/demo.yaml`` beside the package.
"""

from __future__ import annotations

from pathlib import Path

from mmfa.cli import main

REPO = Path(__file__).resolve().parents[2]  # mmfa/testing/ -> the repository
#: A small demo corpus: 6 speakers x 12 utterances, so a fit takes seconds.
SMALL = [
    "--data.init_args.num_speakers=6",
    "--data.init_args.utterances_per_speaker=12",
    "--data.init_args.batch_size=8",
]


def fit_demo(root: Path, *overrides: str, epochs: int = 1) -> tuple[Path, Path]:
    """Fit the small demo into ``root``; return (best.ckpt, its test predictions.csv)."""
    main(
        [
            "fit",
            "--config",
            str(REPO / "configs/demo.yaml"),
            f"--trainer.max_epochs={epochs}",
            "--trainer.enable_progress_bar=false",
            f"--trainer.logger.init_args.save_dir={root}",
            *SMALL,
            *overrides,
        ]
    )
    return next(root.rglob("best.ckpt")), next(root.rglob("predictions.csv"))
