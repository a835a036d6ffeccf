"""Lightning callbacks mmfa adds to every run (the CLI wires them in; configs can tune them).

- :class:`mmfa.callbacks.predictions.PredictionWriter`: ``predictions.csv`` after test and
  predict, gathered across DDP ranks.
- :class:`mmfa.callbacks.skipped.SkippedWriter`: ``skipped.csv``, every utterance left out.
- :class:`mmfa.callbacks.collapse.CollapseWarning`: a warning when validation predictions sit at
  chance.
- :class:`mmfa.callbacks.selection.BestCheckpoint`: the best validation epoch as ``best.ckpt``, on
  the problem's metric; :class:`mmfa.callbacks.selection.ProblemEarlyStopping` (added by configs)
  stops on the same metric.
"""
