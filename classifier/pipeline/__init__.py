"""Plain-Python text classification pipeline for coding free-text survey answers.

Public API: :func:`train`, :func:`evaluate`, :func:`save`, :func:`load`, :func:`read_metadata`,
:func:`train_in_domain`, :func:`read_labelled_csv`, :func:`data_fingerprint`,
:class:`TextClassifier`, :class:`Prediction` (with its review ``reason``), :class:`Evaluation`
and the :class:`PipelineError` hierarchy. This package imports neither
Django nor project apps.
"""

from __future__ import annotations

from .artifact import load, read_metadata, save
from .crossfit import InDomain, train_in_domain
from .csvio import read_labelled_csv
from .errors import ArtifactError, CsvError, PipelineError, TrainingError
from .features import FeatureConfig
from .model import Prediction, TextClassifier
from .ood import UNREADABLE, DomainProfile
from .provenance import data_fingerprint
from .thresholds import NO_THRESHOLD, pick_threshold, pick_threshold_lower_bound
from .training import UNVERIFIED, Evaluation, ModelConfig, evaluate, train

__all__ = [
    "NO_THRESHOLD",
    "UNREADABLE",
    "UNVERIFIED",
    "ArtifactError",
    "CsvError",
    "DomainProfile",
    "Evaluation",
    "FeatureConfig",
    "InDomain",
    "ModelConfig",
    "PipelineError",
    "Prediction",
    "TextClassifier",
    "TrainingError",
    "data_fingerprint",
    "evaluate",
    "load",
    "pick_threshold",
    "pick_threshold_lower_bound",
    "read_labelled_csv",
    "read_metadata",
    "save",
    "train",
    "train_in_domain",
]
