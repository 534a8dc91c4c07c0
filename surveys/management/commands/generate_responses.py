"""Generate many complete, realistic synthetic responses to a survey, fast (for benchmarks).

    python manage.py generate_responses --survey SLUG --count N [--seed 0] [--batch 5000]

Occupations follow a skewed distribution over the reference list, countries lean towards the
largest creative-labour markets, the response language follows the country, Likert and matrix
answers correlate with a per-occupation exposure score, skip logic is honoured, and free text comes
from the seed corpus (classifier/data/displacement-risk/*.csv, read as plain CSV). Responses are
complete, submitted over the past year, and hold no resume or receipt link anyone could use.

On PostgreSQL rows are written with COPY (ids reserved from the sequences first); elsewhere with
bulk_create. Each batch is its own transaction, so memory stays flat for any --count.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from itertools import accumulate
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from surveys import conditions, reference
from surveys.models import Answer, Page, Question, Response, Survey

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
NULL = "\\N"  # COPY text format
TEXT_QUESTIONS_ANSWERED = 0.55  # optional free-text questions are often skipped
OPTIONAL_ANSWERED = 0.88
ANSWER_COLUMNS = (
    "response_id",
    "question_id",
    "row",
    "choice",
    "choices",
    "number",
    "boolean",
    "text",
    "updated_at",
)
RESPONSE_COLUMNS = (
    "id",
    "public_id",
    "survey_id",
    "language",
    "status",
    "started_at",
    "submitted_at",
    "updated_at",
    "current_page",
    "page_seconds",
)


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
    model: Question
    choices: list[str]
    other: set[str]
    exclusive: set[str]
    rows: list[str]
    cumulative: list[float] = field(default_factory=list)


@dataclass
class _Page:
    model: Page
    questions: list[_Question]


@dataclass
class Generated:
    """One response's values: response fields and its answers as column tuples."""

    language: str
    submitted_at: datetime
    started_at: datetime
    current_page: int
    page_seconds: dict[str, int]
    answers: list[tuple[int, str, str, list[str], Decimal | None, bool | None, str]]


class ResponseFactory:
    """Draws realistic responses to one survey from a seeded random generator."""

    def __init__(self, survey: Survey, seed: int, now: datetime) -> None:
        self.survey = survey
        self.rng = random.Random(seed)
        self.end = now.replace(second=0, microsecond=0)
        self.pages: list[_Page] = []
        pages = Page.objects.filter(survey=survey).order_by("position")
        questions = (
            Question.objects.filter(survey=survey)
            .order_by("page__position", "position")
            .prefetch_related("choices", "rows")
        )
        by_page: dict[int, list[_Question]] = {}
        for q in questions:
            choices = [c.code for c in q.choices.all()]
            item = _Question(
                model=q,
                choices=choices,
                other={c.code for c in q.choices.all() if c.is_other},
                exclusive={c.code for c in q.choices.all() if c.exclusive},
                rows=[r.code for r in q.rows.all()],
            )
            # Single choices: a skewed but not degenerate preference for the first options.
            item.cumulative = list(accumulate(0.75**i + 0.15 for i in range(len(choices))))
            by_page.setdefault(q.page_id, []).append(item)
        self.pages = [_Page(p, by_page.get(p.pk, [])) for p in pages]
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

    # --- one response -------------------------------------------------------------------------
    def response(self) -> Generated:
        rng = self.rng
        occupation = _weighted(rng, self.occupation_cumulative, self.occupations)
        country = _weighted(rng, self.country_cumulative, self.countries)
        chinese = rng.random() < CHINESE_SHARE.get(country, 0.02)
        language = "zh-hans" if chinese and "zh-hans" in self.languages else "en"
        if language not in self.languages:
            language = self.survey.default_language
        latent = min(1.0, max(0.0, self.exposure[occupation] + rng.gauss(0, 0.18)))
        values: dict[str, Any] = {}
        answers: list[tuple[int, str, str, list[str], Decimal | None, bool | None, str]] = []
        page_seconds: dict[str, int] = {}
        last_page = 0
        for page in self.pages:
            if not conditions.evaluate(page.model.condition, values):
                continue
            last_page = page.model.position
            page_seconds[page.model.code] = min(3600, int(rng.lognormvariate(3.4, 0.7)) + 3)
            for item in page.questions:
                q = item.model
                if not conditions.evaluate(q.condition, values):
                    continue
                if not q.required:
                    share = (
                        TEXT_QUESTIONS_ANSWERED
                        if q.type in Question.TEXT_TYPES
                        else OPTIONAL_ANSWERED
                    )
                    if rng.random() >= share:
                        continue
                self._answer(item, occupation, country, language, latent, values, answers)
        # Minutes, as the services store them.
        offset = rng.random() ** 0.8 * 365 * 24 * 60  # a little busier recently
        submitted = self.end - timedelta(minutes=int(offset))
        started = submitted - timedelta(minutes=max(1, sum(page_seconds.values()) // 60))
        return Generated(language, submitted, started, last_page, page_seconds, answers)

    def _answer(
        self,
        item: _Question,
        occupation: str,
        country: str,
        language: str,
        latent: float,
        values: dict[str, Any],
        out: list[tuple[int, str, str, list[str], Decimal | None, bool | None, str]],
    ) -> None:
        rng = self.rng
        q = item.model
        kind = q.type
        qid = q.pk
        if kind == Question.Type.OCCUPATION:
            other = self._text(language, latent, 60) if occupation == reference.OTHER else ""
            values[q.code] = occupation
            out.append((qid, "", occupation, [], None, None, other))
        elif kind == Question.Type.COUNTRY:
            values[q.code] = country
            out.append((qid, "", country, [], None, None, ""))
        elif kind == Question.Type.LIKERT_MATRIX:
            given = {}
            for row in item.rows:
                code = self._likert(item, latent, row in REVERSED_ROWS)
                given[row] = code
                out.append((qid, row, code, [], None, None, ""))
            values[q.code] = given
        elif kind == Question.Type.LIKERT:
            code = self._likert(item, latent, False)
            values[q.code] = code
            out.append((qid, "", code, [], None, None, ""))
        elif kind == Question.Type.SINGLE_CHOICE:
            if not item.choices:
                return
            code = _weighted(rng, item.cumulative, item.choices)
            other = "freelance and staff, depends on the year" if code in item.other else ""
            values[q.code] = code
            out.append((qid, "", code, [], None, None, other))
        elif kind == Question.Type.MULTIPLE_CHOICE:
            if not item.choices:
                return
            ordinary = [c for c in item.choices if c not in item.exclusive]
            if item.exclusive and rng.random() < 0.12 * (1.2 - latent):
                chosen = [rng.choice(sorted(item.exclusive))]
            else:
                p = 0.15 + 0.3 * latent
                chosen = [c for c in ordinary if rng.random() < p] or [rng.choice(ordinary)]
            other = "a tool from my own studio" if item.other.intersection(chosen) else ""
            values[q.code] = chosen
            out.append((qid, "", "", chosen, None, None, other))
        elif kind == Question.Type.NUMBER:
            number = self._number(q)
            values[q.code] = number
            out.append((qid, "", "", [], number, None, ""))
        elif kind == Question.Type.YES_NO:
            share = 0.15 + 0.6 * latent if "lost" in q.code else 0.35
            answer = rng.random() < share
            values[q.code] = answer
            out.append((qid, "", "", [], None, answer, ""))
        else:
            text = self._text(language, latent, q.effective_max_length)
            values[q.code] = text
            out.append((qid, "", "", [], None, None, text))

    def _likert(self, item: _Question, latent: float, reverse: bool) -> str:
        rng = self.rng
        points = [c for c in item.choices if c.isdigit()]
        if not points:
            return rng.choice(item.choices)
        if len(points) < len(item.choices) and rng.random() < 0.04:
            return next(c for c in item.choices if not c.isdigit())  # "not applicable"
        level = 1 - latent if reverse else latent
        position = level * (len(points) - 1) + rng.gauss(0, 0.9)
        return points[min(len(points) - 1, max(0, round(position)))]

    def _number(self, q: Question) -> Decimal:
        rng = self.rng
        low = float(q.min_value) if q.min_value is not None else 0.0
        high = float(q.max_value) if q.max_value is not None else max(low, 0) + 100.0
        # Right-skewed (most people have fewer years, hours, clients than the maximum).
        value = low + (high - low) * min(1.0, rng.gammavariate(2.0, 0.07))
        if q.integer:
            return Decimal(min(math.floor(high), max(math.ceil(low), round(value))))
        return Decimal(f"{value:.2f}")

    def _text(self, language: str, latent: float, limit: int) -> str:
        corpus = self.corpus.get(language) or next(iter(self.corpus.values()))
        label = "displaced" if latent > 0.6 and self.rng.random() < 0.5 else None
        pool = corpus.get(label) if label else None
        if not pool:
            pool = corpus[self.rng.choice(sorted(corpus))]
        return self.rng.choice(pool)[:limit]


# --- writers ---------------------------------------------------------------------------------
def _public_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"[:22]


def _copy_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _is_superuser(cursor: Any) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def _write_postgresql(survey: Survey, batch: list[Generated], rng: random.Random) -> int:
    """COPY one batch of responses and answers; returns the number of answers."""
    now = timezone.now().isoformat()
    with connection.cursor() as cursor:
        # Generated rows are valid by construction (ids reserved here, questions of this survey),
        # so a superuser skips the per-row foreign-key triggers; the batch need not wait for fsync.
        cursor.execute("SET LOCAL synchronous_commit = off")
        if _is_superuser(cursor):
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('surveys_response', 'id')) "
            "FROM generate_series(1, %s)",
            [len(batch)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        responses = StringIO()
        answers = StringIO()
        escape = _copy_escape
        for pk, item in zip(ids, batch, strict=True):
            responses.write(
                f"{pk}\t{_public_id(rng)}\t{survey.pk}\t{item.language}\tcomplete\t"
                f"{item.started_at.isoformat()}\t{item.submitted_at.isoformat()}\t{now}\t"
                f"{item.current_page}\t{escape(json.dumps(item.page_seconds))}\n"
            )
            for qid, row, choice, choices, number, boolean, text in item.answers:
                answers.write(
                    f"{pk}\t{qid}\t{row}\t{choice}\t"
                    f"{escape(json.dumps(choices, ensure_ascii=False)) if choices else '[]'}\t"
                    f"{NULL if number is None else number}\t"
                    f"{NULL if boolean is None else ('t' if boolean else 'f')}\t"
                    f"{escape(text) if text else ''}\t{now}\n"
                )
        raw = cursor.cursor
        with raw.copy(f"COPY surveys_response ({', '.join(RESPONSE_COLUMNS)}) FROM STDIN") as copy:
            copy.write(responses.getvalue())
        with raw.copy(f"COPY surveys_answer ({', '.join(ANSWER_COLUMNS)}) FROM STDIN") as copy:
            copy.write(answers.getvalue())
    return sum(len(item.answers) for item in batch)


def _write_orm(survey: Survey, batch: list[Generated], rng: random.Random) -> int:
    """bulk_create one batch (any database); returns the number of answers."""
    responses = Response.objects.bulk_create(
        Response(
            public_id=_public_id(rng),
            survey=survey,
            language=item.language,
            status=Response.Status.COMPLETE,
            started_at=item.started_at,
            submitted_at=item.submitted_at,
            current_page=item.current_page,
            page_seconds=item.page_seconds,
        )
        for item in batch
    )
    answers = [
        Answer(
            response_id=response.pk,
            question_id=qid,
            row=row,
            choice=choice,
            choices=choices,
            number=number,
            boolean=boolean,
            text=text,
        )
        for response, item in zip(responses, batch, strict=True)
        for qid, row, choice, choices, number, boolean, text in item.answers
    ]
    Answer.objects.bulk_create(answers, batch_size=2000)
    return len(answers)


def generate(
    *, survey: Survey, count: int, seed: int = 0, batch: int = 5000, copy: bool | None = None
) -> Iterator[tuple[int, int]]:
    """Write `count` responses in batches; yields (responses, answers) written after each batch."""
    factory = ResponseFactory(survey, seed, timezone.now())
    ids = random.Random(f"{seed}-{time.time_ns()}")  # public ids differ between runs
    if copy is None:
        copy = connection.vendor == "postgresql"
    write = _write_postgresql if copy else _write_orm
    done = 0
    while done < count:
        size = min(batch, count - done)
        items = [factory.response() for _ in range(size)]
        with transaction.atomic():
            answers = write(survey, items, ids)
        done += size
        yield size, answers


class Command(BaseCommand):
    help = "Generate N complete synthetic responses to a survey (benchmarks and demos)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--survey", required=True, help="the survey's slug")
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--batch", type=int, default=5000, help="responses per transaction")
        parser.add_argument("--orm", action="store_true", help="use bulk_create even on PostgreSQL")
        parser.add_argument(
            "--classified",
            action="store_true",
            help="not available here: the classifier app owns classifications",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        survey = Survey.objects.filter(slug=options["survey"]).first()
        if survey is None:
            raise CommandError(f"No survey with slug {options['survey']!r}.")
        if options["count"] < 1 or options["batch"] < 1:
            raise CommandError("--count and --batch must be at least 1.")
        if options["classified"]:
            self.stderr.write(
                "Note: --classified is ignored; surveys does not create classifications (the "
                "classifier app does, from its own commands or tasks)."
            )
        started = time.perf_counter()
        responses = answers = 0
        copy = False if options["orm"] else None
        for size, written in generate(
            survey=survey,
            count=options["count"],
            seed=options["seed"],
            batch=options["batch"],
            copy=copy,
        ):
            responses += size
            answers += written
            if options["verbosity"] > 1:
                self.stdout.write(f"  {responses} responses")
        seconds = max(time.perf_counter() - started, 1e-9)
        self.stdout.write(
            f"Generated {responses} responses ({answers} answers) for {survey.slug} in "
            f"{seconds:.1f} s: {responses / seconds:,.0f} responses/s, "
            f"{answers / seconds:,.0f} answers/s "
            f"({'COPY' if copy is not False and connection.vendor == 'postgresql' else 'ORM'})."
        )
