"""Feature extraction: word and character TF-IDF n-grams over normalised text."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from .text import normalise_all, tokenize


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of the word + character TF-IDF feature union."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (1, 4)
    char_min_df: int = 2
    word_min_df: int = 1
    max_df: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-able dict."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def build_features(config: FeatureConfig | None = None) -> Pipeline:
    """Return an unfitted transformer: normalise, then union of word and char_wb TF-IDF."""
    cfg = config or FeatureConfig()
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
