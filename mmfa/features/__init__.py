"""Feature extractors (audio MFCC, text embeddings), the feature store and the pipeline."""
