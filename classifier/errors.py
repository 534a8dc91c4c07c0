"""Domain errors raised by classifier services; callers turn them into messages, never 500s."""

from __future__ import annotations


class ClassifierError(Exception):
    """Base class of the classifier app's domain errors."""


class TrainingDataError(ClassifierError):
    """Training data for a codebook is unusable (unknown code, missing corpus, too little data)."""


class CodingError(ClassifierError):
    """A coder's labels do not fit the codebook (unknown code, wrong number of labels)."""


class NoActiveModel(ClassifierError):
    """The codebook has no active model version to classify with."""


class ModelReferenceError(ClassifierError):
    """A model path or version reference names nothing that can be loaded."""
