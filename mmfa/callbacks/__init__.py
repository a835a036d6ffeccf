"""Lightning callbacks mmfa adds to every run (the CLI wires them in; configs can tune them).

- :class:`mmfa.callbacks.predictions.PredictionWriter`: ``predictions.csv`` after test and
  predict, gathered across DDP ranks.
"""
