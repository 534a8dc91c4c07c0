"""Text normalisation and tokenisation for mixed English / Simplified Chinese input.

Chinese runs are segmented with jieba, which is imported and initialised lazily on first use
(its dictionary ships inside the package) with logging silenced; segmentation is deterministic.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Any

_WHITESPACE = re.compile(r"\s+")
# Runs of CJK ideographs, or runs of other word characters (letters, digits, underscore).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]")

_segmenter: Any = None
_segmenter_lock = threading.Lock()


def normalise(text: str) -> str:
    """Return ``text`` NFKC-normalised, case-folded, with whitespace collapsed and trimmed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _WHITESPACE.sub(" ", text).strip()


def normalise_all(texts: Iterable[str]) -> list[str]:
    """Normalise every text in ``texts`` (module-level so fitted pipelines pickle by reference)."""
    return [normalise(str(t)) for t in texts]


def _get_segmenter() -> Any:
    """Return a process-wide, lazily initialised and quiet jieba tokenizer."""
    global _segmenter
    if _segmenter is None:
        with _segmenter_lock:
            if _segmenter is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                seg = jieba.Tokenizer()
                seg.initialize()
                _segmenter = seg
    return _segmenter


def tokenize(text: str) -> list[str]:
    """Split normalised text into word tokens: Latin words as-is, Chinese runs segmented."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if _CJK_RUN.match(token):
            if len(token) == 1:
                tokens.append(token)
            else:
                tokens.extend(_get_segmenter().lcut(token, HMM=False))
        else:
            tokens.append(token)
    return tokens
