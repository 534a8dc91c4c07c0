"""Probability calibration of linear decision scores, fitted on out-of-fold scores.

Single-label models use temperature scaling: ``p = softmax(scores / T)`` with one scalar ``T``
chosen to minimise the log-loss of the cross-validated (out-of-fold) decision scores. A single
parameter cannot overfit small data and never changes the arg-max, so accuracy is untouched.
Multi-label models use Platt scaling per label, ``p = sigmoid(a * score + b)``, fitted on the
same out-of-fold scores with Platt's smoothed targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_softmax, softmax


def as_score_matrix(scores: np.ndarray) -> np.ndarray:
    """Return decision scores as an (n, K) matrix; a binary 1-D score becomes ``[0, s]``."""
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        return np.column_stack([np.zeros_like(s), s])
    return s


@dataclass(frozen=True)
class TemperatureScaling:
    """Softmax calibration ``softmax(scores / temperature)`` for single-label models."""

    temperature: float

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Return calibrated class probabilities for decision scores."""
        probabilities: np.ndarray = softmax(as_score_matrix(scores) / self.temperature, axis=1)
        return probabilities


@dataclass(frozen=True)
class PlattScaling:
    """Per-label sigmoid calibration ``sigmoid(a * score + b)`` for multi-label models."""

    slopes: tuple[float, ...]
    intercepts: tuple[float, ...]

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Return calibrated per-label probabilities for an (n, L) score matrix."""
        s = np.asarray(scores, dtype=float).reshape(len(scores), -1)
        probabilities: np.ndarray = expit(s * np.asarray(self.slopes) + np.asarray(self.intercepts))
        return probabilities


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> TemperatureScaling:
    """Fit a temperature minimising the mean log-loss of ``softmax(scores / T)`` for class ids y."""
    s = as_score_matrix(scores)
    y = np.asarray(y, dtype=np.int64)
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-log_softmax(s / np.exp(log_t), axis=1)[rows, y].mean())

    result = minimize_scalar(
        nll, bounds=(np.log(1e-3), np.log(1e3)), method="bounded", options={"xatol": 1e-6}
    )
    return TemperatureScaling(float(np.exp(result.x)))


def _fit_platt_column(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit Platt's sigmoid to one label's scores with smoothed targets."""
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    if np.ptp(s) == 0:
        prior = (n_pos + 1.0) / (len(y) + 2.0)
        return 0.0, float(np.log(prior / (1 - prior)))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * s + ab[1]
        p = expit(z)
        # log(1 + e^z) - t*z, computed stably
        value = float(np.sum(np.logaddexp(0.0, z) - t * z))
        g = p - t
        return value, np.array([np.sum(g * s), np.sum(g)])

    result = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


def fit_platt(scores: np.ndarray, y: np.ndarray) -> PlattScaling:
    """Fit per-label Platt scaling on an (n, L) score matrix and (n, L) 0/1 indicator matrix."""
    s = np.asarray(scores, dtype=float).reshape(len(scores), -1)
    y = np.asarray(y).reshape(len(y), -1)
    params = [_fit_platt_column(s[:, j], y[:, j]) for j in range(s.shape[1])]
    return PlattScaling(tuple(a for a, _ in params), tuple(b for _, b in params))
