"""Public test helpers (synthetic media writers, fakes, contract tests) for mmfa and its plugins."""
