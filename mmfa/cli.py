"""``mmfa``: the command line. Thin on purpose.

``mmfa --version`` and ``mmfa plugins`` answer without importing torch or lightning; every other
command loads the plugins and hands over to LightningCLI (:mod:`mmfa.lightning_cli`).
"""

from __future__ import annotations

import sys

from mmfa import __version__

USAGE_EXTRA = """
mmfa-specific commands:
  mmfa cv --config FILE   cross-validate every fold, then write a report (docs/experiments.md)
  mmfa data check --config FILE   look at the corpus before training (docs/datasets.md)
  mmfa ablate ...         a grid of cross-validations and a comparison table
  mmfa baseline ...       the classical baseline (openSMILE/TF-IDF + scikit-learn), same folds
  mmfa finetune-text --config FILE --out DIR   fine-tune the text encoder (docs/results_meld.md)
  mmfa predict --ckpt_path CKPT --input FOLDER|FILES|MANIFEST [--out preds.csv]
                          a trained model on your own recordings (no config needed;
                          mmfa predict --help lists its options)
  mmfa export --ckpt_path CKPT --out DIR
                          a shareable model folder (safetensors, config.json, model card)
  mmfa plugins            list installed datamodule and fusion plugins (nothing imported)
  mmfa --version          print the version
"""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point.

    On the command line (``argv`` None) mmfa's own errors print as one line, ``mmfa: error:
    <message>``, exit status 2 (``MMFA_DEBUG=1``: the full traceback); called from Python with
    ``argv``, they are raised.
    """
    if argv is None:
        from mmfa.console import report_errors

        with report_errors():
            _main(None)
        return
    _main(argv)


def _main(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["--version"], ["-V"]):
        print(f"mmfa {__version__}")
        return
    if args[:1] == ["plugins"]:
        from mmfa.plugins import format_plugins, list_plugins

        print(format_plugins(list_plugins()))
        return
    if args[:1] == ["cv"]:
        from mmfa.experiments.cv import cv_main

        cv_main(args[1:])
        return
    if args[:2] == ["data", "check"]:
        from mmfa.experiments.data_check import data_check_main

        data_check_main(args[2:])
        return
    if args[:1] == ["finetune-text"]:
        from mmfa.finetune.command import finetune_text_main

        finetune_text_main(args[1:])
        return
    if args[:1] == ["ablate"]:
        from mmfa.experiments.ablate import ablate_main

        ablate_main(args[1:])
        return
    if args[:1] == ["baseline"]:
        from mmfa.experiments.baseline import baseline_main

        baseline_main(args[1:])
        return
    if args[:1] == ["export"]:
        from mmfa.export import export_main

        export_main(args[1:])
        return
    if args[:1] == ["predict"]:
        from mmfa.predict_command import predict_main

        predict_main(args[1:])
        return
    from mmfa.lightning_cli import run_cli

    if args[:1] in (["-h"], ["--help"]):
        print(USAGE_EXTRA)
    run_cli(argv)  # None: LightningCLI reads sys.argv itself


if __name__ == "__main__":
    main()
