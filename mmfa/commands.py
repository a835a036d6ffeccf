"""Every ``mmfa`` command beside LightningCLI's, in one table: what it does and where it lives.

:mod:`mmfa.cli` dispatches through it, ``mmfa --help`` lists it, and :mod:`mmfa.completion`
builds the shell completion from it. Importing this module imports nothing heavy: each command's
module is imported only when it runs, so ``mmfa --help`` answers without torch or Lightning.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One command.

    Attributes:
        summary: one line for ``mmfa --help``.
        run: ``module:function`` called with the remaining arguments.
        parser: ``module:function`` that builds the command's parser: either a builder without
            required arguments that returns it, or the entry point that builds and parses it
            (:func:`mmfa.completion.captured_parser`); None: nothing to complete.
    """

    summary: str
    run: str
    parser: str | None = None


#: LightningCLI's subcommands (one config, one run): ``mmfa fit --help`` lists their options.
LIGHTNING_COMMANDS = ("fit", "validate", "test")

COMMANDS: dict[str, Command] = {
    "cv": Command(
        "cross-validate every fold of a config, then write a report",
        "mmfa.experiments.cv:cv_main",
        "mmfa.experiments.cv:parse_args",
    ),
    "ablate": Command(
        "a grid of cross-validations and a comparison table",
        "mmfa.experiments.ablate:ablate_main",
        "mmfa.experiments.ablate:ablate_main",
    ),
    "baseline": Command(
        "the classical baseline (openSMILE/TF-IDF + scikit-learn) on a config's folds",
        "mmfa.experiments.baseline:baseline_main",
        "mmfa.experiments.baseline:parse_args",
    ),
    "data check": Command(
        "look at a corpus through its config before training",
        "mmfa.experiments.data_check:data_check_main",
        "mmfa.experiments.data_check:parse_args",
    ),
    "finetune-text": Command(
        "fine-tune a config's text encoder on its train split",
        "mmfa.finetune.command:finetune_text_main",
        "mmfa.finetune.command:build_parser",
    ),
    "predict": Command(
        "a trained model on your recordings, a manifest or a config's split",
        "mmfa.predict_command:predict_main",
        "mmfa.predict_command:build_parser",
    ),
    "export": Command(
        "a shareable model folder (safetensors, config.json, model card)",
        "mmfa.export:export_main",
        "mmfa.export:export_main",
    ),
    "plugins": Command(
        "list installed datamodule, fusion and front-end plugins (nothing imported)",
        "mmfa.plugins:plugins_main",
    ),
    "completion": Command(
        "print a bash or zsh completion script", "mmfa.completion:completion_main"
    ),
}


def find(args: list[str]) -> tuple[str, Command] | None:
    """The command the arguments start with (two words for ``data check``), or None."""
    for words in (2, 1):
        name = " ".join(args[:words])
        if len(args) >= words and name in COMMANDS:
            return name, COMMANDS[name]
    return None


def overview(version: str) -> str:
    """``mmfa --help``: every command, without importing the training stack."""
    width = max(len(n) for n in (*COMMANDS, *LIGHTNING_COMMANDS))
    lines = [
        f"mmfa {version}: multimodal (speech + transcript) emotion recognition",
        "",
        "usage: mmfa COMMAND [options]     (mmfa COMMAND --help: the command's options)",
        "",
        "training and evaluation (LightningCLI; a config: mmfa fit --config configs/demo.yaml):",
        *(
            f"  {n:<{width}}  {s}"
            for n, s in (
                ("fit", "train, select on validation, test the best checkpoint"),
                ("validate", "validate a checkpoint on a config's validation split"),
                ("test", "test a checkpoint on a config's test split"),
            )
        ),  # fmt: skip
        "",
        "mmfa's commands:",
        *(f"  {n:<{width}}  {c.summary}" for n, c in COMMANDS.items()),
        "",
        "  --version, -V  print the version",
        "",
        "Documentation: docs/ (or the site: mkdocs serve).",
    ]
    return "\n".join(lines)
