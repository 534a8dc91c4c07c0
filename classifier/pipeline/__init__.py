"""Plain-Python text classification pipeline for coding free-text survey answers.

Public API: :func:`train`, :func:`evaluate`, :func:`save`, :func:`load`, :func:`read_metadata`,
:func:`read_labelled_csv`, :func:`data_fingerprint`, :class:`TextClassifier`, :class:`Prediction`,
:class:`Evaluation` and the :class:`PipelineError` hierarchy. This package imports neither
Django nor project apps.
"""

from __future__ import annotations

from .artifact import load, read_metadata, save
from .csvio import read_labelled_csv
from .errors import ArtifactError, CsvError, PipelineError, TrainingError
from .model import Prediction, TextClassifier
from .provenance import data_fingerprint
from .thresholds import NO_THRESHOLD, pick_threshold
from .training import Evaluation, ModelConfig, evaluate, train

__all__ = [
    "NO_THRESHOLD",
    "ArtifactError",
    "CsvError",
    "Evaluation",
    "ModelConfig",
    "PipelineError",
    "Prediction",
    "TextClassifier",
    "TrainingError",
    "data_fingerprint",
    "evaluate",
    "load",
    "pick_threshold",
    "read_labelled_csv",
    "read_metadata",
    "save",
    "train",
]
