"""The synthetic respondent behind `generate_responses`: what one realistic response answers.

Occupations follow a skewed distribution over the reference list, countries lean towards the
largest creative-labour markets, the response language follows the country, Likert and matrix
answers correlate with a per-occupation exposure score, skip logic is honoured, and free text comes
from the seed corpus (classifier/data/displacement-risk/*.csv, read as plain CSV). Not a command
module (its name starts with an underscore, so Django does not list it).
"""

from __future__ import annotations

import csv
import math
import random
from bisect import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path
from typing import Any

from django.conf import settings

from surveys import reference
from surveys.definitions import conditions
from surveys.models import Page, Question, Survey

# Shares of respondents by country (the rest is spread over every other ISO 3166 country).
COUNTRY_WEIGHTS = {
    "US": 22, "CN": 17, "GB": 8, "IN": 7, "FR": 5, "DE": 5, "CA": 4, "JP": 3, "KR": 3,
    "BR": 3, "AU": 2.5, "ES": 2, "IT": 2, "MX": 1.5, "NL": 1.5, "PL": 1.2, "SE": 1, "TW": 1,
    "HK": 1, "SG": 0.8,
}  # fmt: skip
OTHER_COUNTRIES_SHARE = 0.08
# Chance that a respondent from this country answers in Simplified Chinese (else 2%).
CHINESE_SHARE = {"CN": 0.95, "SG": 0.35, "TW": 0.3, "HK": 0.4, "MO": 0.5}
# Exposure of an occupation to generative video AI (0..1); unknown ones get a seeded draw.
OCCUPATION_EXPOSURE = {
    "2655": 0.75, "2656": 0.85, "2651": 0.8, "2166": 0.8, "3431": 0.75, "2654": 0.65,
    "3521": 0.6, "2641": 0.6, "2643": 0.85, "2431": 0.6, "5241": 0.7, "2652": 0.55,
    "2653": 0.4, "2513": 0.5, "7314": 0.15, "7313": 0.15, "5141": 0.1, "5142": 0.1,
}  # fmt: skip
# Matrix rows that agree *less* when exposure is high.
REVERSED_ROWS = {"tools_help", "new_opportunities"}
SEED_CORPUS = "displacement-risk"
TEXT_QUESTIONS_ANSWERED = 0.55  # optional free-text questions are often skipped
OPTIONAL_ANSWERED = 0.88


Row = tuple[int, str, str, list[str], Decimal | None, bool | None, str]


def _weighted(rng: random.Random, cumulative: Sequence[float], items: Sequence[Any]) -> Any:
    return items[bisect(cumulative, rng.random() * cumulative[-1])]


def _corpus(language: str) -> dict[str, list[str]]:
    """{label: [texts]} of the seed corpus in `language` (English when it has none)."""
    folder = Path(getattr(settings, "EXPOSURE_SEED_DIR", "classifier/data"))
    if not folder.is_absolute():
        folder = Path(settings.BASE_DIR) / folder
    path = folder / SEED_CORPUS / f"{language}.csv"
    if not path.exists():
        path = folder / SEED_CORPUS / "en.csv"
    texts: dict[str, list[str]] = {}
    if path.exists():
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                text = (row.get("text") or "").strip()
                if text:
                    texts.setdefault(row.get("label") or "", []).append(text)
    return texts or {"": ["Nothing has changed for me so far."]}


@dataclass
class _Question:
    """One question, reduced once to what drawing an answer needs (no model access per draw)."""

    pk: int
    code: str
    kind: str
    condition: dict[str, Any] | None
    share: float  # chance of answering: 1 when required
    choices: list[str]
    other: frozenset[str]
    exclusive: list[str]
    ordinary: list[str]
    rows: list[tuple[str, bool]]  # (code, agrees less when exposure is high)
    cumulative: list[float]
    points: list[str]  # Likert scale points (digit codes) in order
    not_applicable: str | None
    max_length: int
    low: float
    high: float
    integer: bool


@dataclass
class _Page:
    position: int
    code: str
    condition: dict[str, Any] | None
    questions: list[_Question]


@dataclass
class Generated:
    """One response's values: response fields and its answers as column tuples."""

    language: str
    submitted_at: datetime
    started_at: datetime
    current_page: int
    page_seconds: dict[str, int]
    answers: list[Row]


def _compile(q: Question) -> _Question:
    choices = list(q.choices.all())
    codes = [c.code for c in choices]
    exclusive = sorted(c.code for c in choices if c.exclusive)
    points = [c for c in codes if c.isdigit()]
    kind = str(q.type)
    if q.required:
        share = 1.0
    elif kind in {str(t) for t in Question.TEXT_TYPES}:
        share = TEXT_QUESTIONS_ANSWERED
    else:
        share = OPTIONAL_ANSWERED
    low = float(q.min_value) if q.min_value is not None else 0.0
    return _Question(
        pk=q.pk,
        code=q.code,
        kind=kind,
        condition=q.condition or None,
        share=share,
        choices=codes,
        other=frozenset(c.code for c in choices if c.is_other),
        exclusive=exclusive,
        ordinary=[c for c in codes if c not in exclusive],
        rows=[(r.code, r.code in REVERSED_ROWS) for r in q.rows.all()],
        # Single choices: a skewed but not degenerate preference for the first options.
        cumulative=list(accumulate(0.75**i + 0.15 for i in range(len(codes)))),
        points=points,
        not_applicable=next((c for c in codes if not c.isdigit()), None)
        if len(points) < len(codes)
        else None,
        max_length=q.effective_max_length,
        low=low,
        high=float(q.max_value) if q.max_value is not None else max(low, 0) + 100.0,
        integer=q.integer,
    )


class ResponseFactory:
    """Draws realistic responses to one survey from a seeded random generator."""

    def __init__(self, survey: Survey, seed: int, now: datetime) -> None:
        self.survey = survey
        self.rng = random.Random(seed)
        self.end = now.replace(second=0, microsecond=0)
        questions = (
            Question.objects.filter(survey=survey)
            .order_by("page__position", "position")
            .prefetch_related("choices", "rows")
        )
        by_page: dict[int, list[_Question]] = {}
        for q in questions:
            by_page.setdefault(q.page_id, []).append(_compile(q))
        self.pages = [
            _Page(p.position, p.code, p.condition or None, by_page.get(p.pk, []))
            for p in Page.objects.filter(survey=survey).order_by("position")
        ]
        self.languages = list(survey.languages) or [survey.default_language]
        # Occupations: Zipf-like over the reference list (file order puts the creative ones first).
        rng = random.Random(seed + 1)
        self.occupations = [o.isco for o in reference.occupations()] + [reference.OTHER]
        self.occupation_cumulative = list(
            accumulate(1 / (i + 1) ** 1.1 for i in range(len(self.occupations)))
        )
        self.exposure = {
            code: OCCUPATION_EXPOSURE.get(code, rng.uniform(0.2, 0.6)) for code in self.occupations
        }
        all_countries = sorted(reference.country_codes())
        rest = [c for c in all_countries if c not in COUNTRY_WEIGHTS]
        spread = OTHER_COUNTRIES_SHARE * sum(COUNTRY_WEIGHTS.values()) / max(len(rest), 1)
        countries = [*COUNTRY_WEIGHTS, *rest]
        weights = [*COUNTRY_WEIGHTS.values(), *([spread] * len(rest))]
        self.countries = countries
        self.country_cumulative = list(accumulate(weights))
        self.corpus = {language: _corpus(language) for language in self.languages}
        # Labels in a fixed order per language, so a seed always draws the same texts.
        self.corpus_labels = {language: sorted(texts) for language, texts in self.corpus.items()}
        self.draw: dict[str, Callable[[_Question, dict[str, Any], list[Row]], None]] = {
            str(Question.Type.OCCUPATION): self._occupation,
            str(Question.Type.COUNTRY): self._country,
            str(Question.Type.LIKERT_MATRIX): self._matrix,
            str(Question.Type.LIKERT): self._likert_item,
            str(Question.Type.SINGLE_CHOICE): self._single,
            str(Question.Type.MULTIPLE_CHOICE): self._multiple,
            str(Question.Type.NUMBER): self._number_item,
            str(Question.Type.YES_NO): self._yes_no,
            str(Question.Type.MULTIPLE_SHORT_TEXT): self._lines_item,
        }
        # The respondent being drawn (set by response()).
        self.occupation = self.country = self.language = ""
        self.latent = 0.0

    # --- one response -------------------------------------------------------------------------
    def response(self) -> Generated:
        """Draw one complete response (skip logic honoured)."""
        rng = self.rng
        chance = rng.random
        self.occupation = occupation = _weighted(rng, self.occupation_cumulative, self.occupations)
        self.country = country = _weighted(rng, self.country_cumulative, self.countries)
        chinese = chance() < CHINESE_SHARE.get(country, 0.02)
        language = "zh-hans" if chinese and "zh-hans" in self.languages else "en"
        if language not in self.languages:
            language = self.survey.default_language
        self.language = language
        self.latent = min(1.0, max(0.0, self.exposure[occupation] + rng.gauss(0, 0.18)))
        values: dict[str, Any] = {}
        answers: list[Row] = []
        page_seconds: dict[str, int] = {}
        last_page = 0
        draw = self.draw
        text = self._text_item
        lognormal = rng.lognormvariate
        for page in self.pages:
            if page.condition and not conditions.evaluate(page.condition, values):
                continue
            last_page = page.position
            page_seconds[page.code] = min(3600, int(lognormal(3.4, 0.7)) + 3)
            for item in page.questions:
                if item.condition and not conditions.evaluate(item.condition, values):
                    continue
                if item.share < 1.0 and chance() >= item.share:
                    continue
                draw.get(item.kind, text)(item, values, answers)
        # Minutes, as the services store them.
        offset = chance() ** 0.8 * 365 * 24 * 60  # a little busier recently
        submitted = self.end - timedelta(minutes=int(offset))
        started = submitted - timedelta(minutes=max(1, sum(page_seconds.values()) // 60))
        return Generated(language, submitted, started, last_page, page_seconds, answers)

    def _occupation(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        occupation = self.occupation
        other = self._text(60) if occupation == reference.OTHER else ""
        values[item.code] = occupation
        out.append((item.pk, "", occupation, [], None, None, other))

    def _country(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        values[item.code] = self.country
        out.append((item.pk, "", self.country, [], None, None, ""))

    def _matrix(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        given = {}
        qid = item.pk
        for row, reverse in item.rows:
            code = self._likert(item, reverse)
            given[row] = code
            out.append((qid, row, code, [], None, None, ""))
        values[item.code] = given

    def _likert_item(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        code = self._likert(item, False)
        values[item.code] = code
        out.append((item.pk, "", code, [], None, None, ""))

    def _single(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        if not item.choices:
            return
        code = _weighted(self.rng, item.cumulative, item.choices)
        other = "freelance and staff, depends on the year" if code in item.other else ""
        values[item.code] = code
        out.append((item.pk, "", code, [], None, None, other))

    def _multiple(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        if not item.choices:
            return
        rng = self.rng
        latent = self.latent
        ordinary = item.ordinary
        if item.exclusive and rng.random() < 0.12 * (1.2 - latent):
            chosen = [rng.choice(item.exclusive)]
        else:
            p = 0.15 + 0.3 * latent
            chance = rng.random
            chosen = [c for c in ordinary if chance() < p] or [rng.choice(ordinary)]
        other = "a tool from my own studio" if item.other.intersection(chosen) else ""
        values[item.code] = chosen
        out.append((item.pk, "", "", chosen, None, None, other))

    def _number_item(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        number = self._number(item)
        values[item.code] = number
        out.append((item.pk, "", "", [], number, None, ""))

    def _yes_no(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        share = 0.15 + 0.6 * self.latent if "lost" in item.code else 0.35
        answer = self.rng.random() < share
        values[item.code] = answer
        out.append((item.pk, "", "", [], None, answer, ""))

    def _text_item(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        text = self._text(item.max_length)
        values[item.code] = text
        out.append((item.pk, "", "", [], None, None, text))

    def _lines_item(self, item: _Question, values: dict[str, Any], out: list[Row]) -> None:
        """One to four lines, each its own answer row "1".."n", as the form stores them."""
        lines = [self._text(item.max_length) for _ in range(self.rng.randint(1, 4))]
        values[item.code] = lines
        out += [(item.pk, str(n), "", [], None, None, line) for n, line in enumerate(lines, 1)]

    def _likert(self, item: _Question, reverse: bool) -> str:
        rng = self.rng
        points = item.points
        if not points:
            return rng.choice(item.choices)
        if item.not_applicable is not None and rng.random() < 0.04:
            return item.not_applicable
        level = 1 - self.latent if reverse else self.latent
        position = level * (len(points) - 1) + rng.gauss(0, 0.9)
        return points[min(len(points) - 1, max(0, round(position)))]

    def _number(self, item: _Question) -> Decimal:
        low, high = item.low, item.high
        # Right-skewed (most people have fewer years, hours, clients than the maximum).
        value = low + (high - low) * min(1.0, self.rng.gammavariate(2.0, 0.07))
        if item.integer:
            return Decimal(min(math.floor(high), max(math.ceil(low), round(value))))
        return Decimal(f"{value:.2f}")

    def _text(self, limit: int) -> str:
        rng = self.rng
        language = self.language
        corpus = self.corpus.get(language)
        if corpus is None:
            language = next(iter(self.corpus))
            corpus = self.corpus[language]
        label = "displaced" if self.latent > 0.6 and rng.random() < 0.5 else None
        pool = corpus.get(label) if label else None
        if not pool:
            pool = corpus[rng.choice(self.corpus_labels[language])]
        return rng.choice(pool)[:limit]


# --- writers ---------------------------------------------------------------------------------
