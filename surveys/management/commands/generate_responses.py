"""Generate many complete, realistic synthetic responses to a survey, fast (for benchmarks).

    python manage.py generate_responses --survey SLUG --count N [--seed 0] [--batch 5000]

Occupations follow a skewed distribution over the reference list, countries lean towards the
largest creative-labour markets, the response language follows the country, Likert and matrix
answers correlate with a per-occupation exposure score, skip logic is honoured, and free text comes
from the seed corpus (classifier/data/displacement-risk/*.csv, read as plain CSV). Responses are
complete, submitted over the past year, and hold no resume or receipt link anyone could use.

On PostgreSQL rows are streamed with COPY while they are drawn (ids reserved from the sequence
first); elsewhere with bulk_create. Each batch is its own transaction, so memory stays flat for any
--count. A large load on PostgreSQL (see generate) runs as one transaction that rebuilds the plain
indexes once at the end instead of maintaining them row by row; --keep-indexes turns that off.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from surveys.analytics.services import analytics_rebuild
from surveys.management.commands._generate import Generated, ResponseFactory
from surveys.models import Answer, Response, Survey

NULL = "\\N"  # COPY text format
# Answer lines handed to COPY at a time: small enough to overlap drawing with the server's work.
COPY_CHUNK_LINES = 20_000
# Fewest responses for which a COPY load drops and rebuilds the plain indexes (see generate).
DEFER_INDEXES_MIN = 50_000
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
    # A generated response was never posted page by page: no page version, no last post.
    "page_version",
    "page_post",
    # Generated responses are data, not the builder's test responses.
    "is_test",
)


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


class _CopyWriter:
    """Streams batches of responses into PostgreSQL with COPY while they are being drawn.

    The answers' COPY is opened first and fed every few hundred responses, so the server parses
    and indexes one chunk while Python draws the next (the two overlap on two cores); the
    responses follow in a second COPY of the same transaction. The foreign keys are deferred
    (Django creates them DEFERRABLE INITIALLY DEFERRED), so answers may precede their response.
    """

    def __init__(self, survey: Survey, factory: ResponseFactory, rng: random.Random) -> None:
        self.survey = survey
        self.factory = factory
        self.rng = rng
        with connection.cursor() as cursor:
            self.superuser = _is_superuser(cursor)

    def write(self, size: int) -> int:
        """Draw and COPY `size` responses in the current transaction; returns the answers."""
        factory, rng, escape, dumps = self.factory, self.rng, _copy_escape, json.dumps
        now = timezone.now().isoformat()
        survey_id = self.survey.pk
        written = 0
        responses: list[str] = []
        with connection.cursor() as cursor:
            # A lost batch is simply generated again, so it need not wait for the WAL flush.
            cursor.execute("SET LOCAL synchronous_commit = off")
            if self.superuser:
                # Rows are valid by construction (ids reserved here, questions of this survey):
                # skip the per-row foreign-key triggers.
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('surveys_response', 'id')) "
                "FROM generate_series(1, %s)",
                [size],
            )
            ids = [row[0] for row in cursor.fetchall()]
            raw = cursor.cursor
            with raw.copy(f"COPY surveys_answer ({', '.join(ANSWER_COLUMNS)}) FROM STDIN") as copy:
                lines: list[str] = []
                tail = f"\t{now}\n"
                for pk in ids:
                    item = factory.response()
                    head = f"{pk}\t"
                    for qid, row, choice, choices, number, boolean, text in item.answers:
                        lines.append(
                            f"{head}{qid}\t{row}\t{choice}\t"
                            f"{escape(dumps(choices, ensure_ascii=False)) if choices else '[]'}"
                            f"\t{NULL if number is None else number}"
                            f"\t{NULL if boolean is None else ('t' if boolean else 'f')}"
                            f"\t{escape(text) if text else ''}{tail}"
                        )
                    written += len(item.answers)
                    responses.append(
                        f"{pk}\t{_public_id(rng)}\t{survey_id}\t{item.language}\tcomplete\t"
                        f"{item.started_at.isoformat()}\t{item.submitted_at.isoformat()}\t{now}\t"
                        f"{item.current_page}\t{escape(json.dumps(item.page_seconds))}\t0\t\tf\n"
                    )
                    if len(lines) >= COPY_CHUNK_LINES:
                        copy.write("".join(lines))
                        lines.clear()
                copy.write("".join(lines))
            with raw.copy(
                f"COPY surveys_response ({', '.join(RESPONSE_COLUMNS)}) FROM STDIN"
            ) as copy:
                copy.write("".join(responses))
        return written


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


def _drop_secondary_indexes(cursor: Any) -> list[str]:
    """Drop the plain indexes of the response and answer tables; returns their definitions.

    Only indexes that back no constraint (not primary keys, unique or exclusion constraints)
    are dropped, so every constraint is checked row by row during the load as usual.
    """
    cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid IN ('surveys_answer'::regclass, 'surveys_response'::regclass)
          AND i.indisvalid AND NOT i.indisprimary AND NOT i.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname
        """
    )
    found = cursor.fetchall()
    for name, _definition in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def _should_defer_indexes(count: int, writer: _CopyWriter | None) -> bool:
    """Rebuilding pays when the load is large against what is already stored."""
    if writer is None or not writer.superuser or count < DEFER_INDEXES_MIN:
        return False
    return count * 2 >= Response.objects.count()


def generate(
    *,
    survey: Survey,
    count: int,
    seed: int = 0,
    batch: int = 5000,
    copy: bool | None = None,
    defer_indexes: bool | None = None,
) -> Iterator[tuple[int, int]]:
    """Write `count` responses in batches; yields (responses, answers) written after each batch.

    Each batch commits on its own, except for a large COPY load (`defer_indexes`, by default
    when PostgreSQL runs as a superuser, `count` >= DEFER_INDEXES_MIN and at least half the
    responses stored): then the whole load is one transaction that drops the plain indexes of
    the two tables, copies every batch and builds the indexes again before committing, so a
    failure or interruption at any point leaves the database exactly as it was.
    """
    factory = ResponseFactory(survey, seed, timezone.now())
    ids = random.Random(f"{seed}-{time.time_ns()}")  # public ids differ between runs
    if copy is None:
        copy = connection.vendor == "postgresql"
    writer = _CopyWriter(survey, factory, ids) if copy else None
    if defer_indexes is None:
        defer_indexes = _should_defer_indexes(count, writer)
    if writer is not None and defer_indexes:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Sorting once at the end is about three times cheaper than maintaining these
                # indexes row by row; the drop stays invisible to others until the commit.
                definitions = _drop_secondary_indexes(cursor)
            done = 0
            while done < count:
                size = min(batch, count - done)
                answers = writer.write(size)
                done += size
                yield size, answers
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                for definition in definitions:
                    cursor.execute(definition)
        return
    done = 0
    while done < count:
        size = min(batch, count - done)
        with transaction.atomic():
            if writer is not None:
                answers = writer.write(size)
            else:
                answers = _write_orm(survey, [factory.response() for _ in range(size)], ids)
        done += size
        yield size, answers


def _analyse() -> None:
    """Refresh the planner's statistics of the two loaded tables (PostgreSQL only).

    Autovacuum gets to a bulk load only after a while; until then the planner's row estimates
    are those of the empty tables, and the statistics queries choose plans many times slower.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_response, surveys_answer")


class Command(BaseCommand):
    help = "Generate N complete synthetic responses to a survey (benchmarks and demos)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--survey", required=True, help="the survey's slug")
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--batch", type=int, default=5000, help="responses per transaction")
        parser.add_argument("--orm", action="store_true", help="use bulk_create even on PostgreSQL")
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="commit batch by batch and never rebuild indexes (slower for large loads)",
        )
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
            defer_indexes=False if options["keep_indexes"] else None,
        ):
            responses += size
            answers += written
            if options["verbosity"] > 1:
                self.stdout.write(f"  {responses} responses")
        _analyse()
        # The analytics store is built once from what was loaded (COPY bypasses the services
        # that keep it row by row).
        analytics_rebuild(survey=survey)
        seconds = max(time.perf_counter() - started, 1e-9)
        self.stdout.write(
            f"Generated {responses} responses ({answers} answers) for {survey.slug} in "
            f"{seconds:.1f} s: {responses / seconds:,.0f} responses/s, "
            f"{answers / seconds:,.0f} answers/s "
            f"({'COPY' if copy is not False and connection.vendor == 'postgresql' else 'ORM'})."
        )
