"""Experiments: cross-validation (``mmfa cv``), saved predictions and paper-style reports.

- :mod:`mmfa.experiments.cv`: fit, select on validation and test every fold; resumable.
- :mod:`mmfa.experiments.ablate`: a grid of cross-validations and one table comparing them.
- per-fold ``predictions.csv``: written by :class:`mmfa.callbacks.predictions.PredictionWriter`.
- :mod:`mmfa.experiments.run_config`: the configuration hash that guards resuming; safe names.
- :mod:`mmfa.experiments.report`: ``build_report`` / ``compare_runs``, recomputed from the saved
  predictions (read by :mod:`mmfa.experiments.run_folder`) with scikit-learn
  (:mod:`mmfa.experiments.fold_metrics`); Markdown in :mod:`mmfa.experiments.report_markdown`,
  figures in :mod:`mmfa.experiments.plots`.
- :mod:`mmfa.experiments.wandb_summary`: what a run sends to Weights & Biases.
"""
