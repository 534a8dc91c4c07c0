"""Classifying answers: status rows, batches, the sweep, their tasks, the variables provider."""
