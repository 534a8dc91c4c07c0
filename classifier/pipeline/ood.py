"""Out-of-distribution guard: never auto-code a text the model cannot read.

A linear model on TF-IDF features turns a text in an unseen script, or made of words it never
saw, into an all-zero vector and still returns a confident-looking class (its intercepts). The
guard looks at the text before trusting the confidence and names why a text goes to review:

- ``empty``: no letters at all after normalisation (blank, digits or punctuation only);
- ``language-not-trained``: most of its letters are in a script that made up less than
  :data:`MIN_SCRIPT_SHARE` of the training texts' letters (e.g. Chinese for a model trained on
  English). A cross-lingual encoder may still give a useful label, but the threshold was never
  checked on that language, so the text is not auto-coded;
- ``unknown-vocabulary``: less than ``min_known_share`` of its word tokens occur in the training
  vocabulary (gibberish, another language in the same script, heavy jargon).

The training-data profile (letter share per script, the thresholds) is stored in the artifact's
metadata; the vocabulary is the fitted word vectorizer's own.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .text import normalise, tokenize

EMPTY = "empty"
LANGUAGE = "language-not-trained"
VOCABULARY = "unknown-vocabulary"
BELOW_THRESHOLD = "below-threshold"
NO_VERIFIED_THRESHOLD = "no-threshold"
#: The reasons that hold whatever the threshold: the model cannot read the text.
UNREADABLE = frozenset({EMPTY, LANGUAGE, VOCABULARY})

#: A script under this share of the training letters counts as not trained.
MIN_SCRIPT_SHARE = 0.01
#: A text goes to review when this share (or more) of its letters are in untrained scripts.
MAX_FOREIGN_SHARE = 0.5
#: A text goes to review when fewer of its word tokens than this share are known.
MIN_KNOWN_SHARE = 0.5

_RANGES: tuple[tuple[str, int, int], ...] = (
    ("latin", 0x0041, 0x024F),
    ("greek", 0x0370, 0x03FF),
    ("cyrillic", 0x0400, 0x052F),
    ("hebrew", 0x0590, 0x05FF),
    ("arabic", 0x0600, 0x06FF),
    ("devanagari", 0x0900, 0x097F),
    ("thai", 0x0E00, 0x0E7F),
    ("hangul", 0x1100, 0x11FF),
    ("cjk", 0x2E80, 0x2FDF),
    ("cjk", 0x3040, 0x30FF),  # kana: shares the CJK bucket, as Japanese mixes both
    ("cjk", 0x3400, 0x4DBF),
    ("cjk", 0x4E00, 0x9FFF),
    ("hangul", 0xAC00, 0xD7AF),
    ("cjk", 0xF900, 0xFAFF),
    ("cjk", 0x20000, 0x2FA1F),
)


def script_of(ch: str) -> str:
    """Return the script bucket of one letter (``other`` for scripts without a bucket)."""
    code = ord(ch)
    for name, low, high in _RANGES:
        if low <= code <= high:
            return name
    return "other"


def script_counts(text: str) -> Counter[str]:
    """Count the letters of ``text`` per script (NFKC first, so full-width Latin is Latin)."""
    return Counter(script_of(ch) for ch in unicodedata.normalize("NFKC", text) if ch.isalpha())


@dataclass(frozen=True)
class DomainProfile:
    """What the model was trained on: letter share per script, and the guard's limits."""

    scripts: dict[str, float] = field(default_factory=dict)
    min_script_share: float = MIN_SCRIPT_SHARE
    max_foreign_share: float = MAX_FOREIGN_SHARE
    min_known_share: float = MIN_KNOWN_SHARE

    @property
    def trained_scripts(self) -> frozenset[str]:
        return frozenset(s for s, v in self.scripts.items() if v >= self.min_script_share)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DomainProfile:
        return cls(
            scripts={str(k): float(v) for k, v in dict(data.get("scripts") or {}).items()},
            min_script_share=float(data.get("min_script_share", MIN_SCRIPT_SHARE)),
            max_foreign_share=float(data.get("max_foreign_share", MAX_FOREIGN_SHARE)),
            min_known_share=float(data.get("min_known_share", MIN_KNOWN_SHARE)),
        )


def build_profile(texts: Iterable[str]) -> DomainProfile:
    """Return the letter share per script of the training texts."""
    total: Counter[str] = Counter()
    for text in texts:
        total.update(script_counts(text))
    letters = sum(total.values()) or 1
    return DomainProfile(scripts={s: round(k / letters, 6) for s, k in sorted(total.items())})


def profile_from_vocabulary(vocabulary: Iterable[str]) -> DomainProfile:
    """A profile for artifacts saved without one: every script in the vocabulary counts."""
    counts: Counter[str] = Counter()
    for term in vocabulary:
        counts.update(script_counts(term))
    letters = sum(counts.values()) or 1
    return DomainProfile(scripts={s: max(k / letters, MIN_SCRIPT_SHARE) for s, k in counts.items()})


def word_vocabulary(features: Any) -> frozenset[str] | None:
    """Return the unigram vocabulary of a fitted feature pipeline's word vectorizer, if any."""
    stack = [features]
    while stack:
        step = stack.pop()
        if hasattr(step, "vocabulary_") and getattr(step, "analyzer", None) == "word":
            return frozenset(t for t in step.vocabulary_ if " " not in t)
        stack.extend(getattr(step, "named_steps", {}).values())
        stack.extend(t for _, t in getattr(step, "transformer_list", []))
    return None


def known_share(text: str, vocabulary: frozenset[str]) -> float:
    """Share of the text's word tokens found in ``vocabulary`` (1.0 for a text without tokens)."""
    tokens = tokenize(normalise(text))
    if not tokens:
        return 1.0
    return sum(t in vocabulary for t in tokens) / len(tokens)


def unreadable_reason(
    text: str, profile: DomainProfile, vocabulary: frozenset[str] | None
) -> str | None:
    """Return why ``text`` must not be auto-coded whatever its confidence, or None."""
    counts = script_counts(text)
    letters = sum(counts.values())
    if letters == 0:
        return EMPTY
    trained = profile.trained_scripts
    foreign = sum(k for s, k in counts.items() if s not in trained)
    if foreign / letters >= profile.max_foreign_share:
        return LANGUAGE
    if vocabulary is not None and known_share(text, vocabulary) < profile.min_known_share:
        return VOCABULARY
    return None


def unreadable_reasons(
    texts: Sequence[str], profile: DomainProfile, vocabulary: frozenset[str] | None
) -> list[str | None]:
    """:func:`unreadable_reason` for each text."""
    return [unreadable_reason(t, profile, vocabulary) for t in texts]
