"""Exception hierarchy for the text-classification pipeline."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class for every error raised by ``classifier.pipeline``."""


class CsvError(PipelineError):
    """A labelled CSV file could not be read; ``row`` names the offending data row or line."""

    def __init__(self, message: str, row: int | None = None, *, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.row = row
        self.line = line


class ArtifactError(PipelineError):
    """A saved model artifact is missing, corrupt, tampered with or incompatible."""


class TrainingError(PipelineError):
    """Training data cannot be used to fit or cross-validate a model."""
