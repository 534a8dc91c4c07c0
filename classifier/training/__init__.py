"""Model versions: training data, training, activation, loading, shipped codebooks, jobs."""
