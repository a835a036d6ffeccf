"""Experiments: cross-validation (``mmfa cv``), saved predictions and paper-style reports.

- :mod:`mmfa.experiments.cv`: fit, select on validation and test every fold; resumable.
- :mod:`mmfa.experiments.ablate`: a grid of cross-validations and one table comparing them.
- :mod:`mmfa.experiments.predictions`: per-fold ``predictions.csv``.
- :mod:`mmfa.experiments.report`: ``build_report`` / ``compare_runs``, recomputed from the saved
  predictions (read by :mod:`mmfa.experiments.run_folder`) with scikit-learn
  (:mod:`mmfa.experiments.fold_metrics`); Markdown in :mod:`mmfa.experiments.report_markdown`,
  figures in :mod:`mmfa.experiments.plots`.
- :mod:`mmfa.experiments.wandb_summary`: what a run sends to Weights & Biases.
"""
