"""Classification rows at the SQL level: pending rows inserted, claimed, finished in batches.

Each statement is guarded (status, source, claim token), so a batch delivered twice finishes
once and a coder's label is never overwritten. PostgreSQL gets one set-based statement where
the ORM would cost a round trip or a model instance per row.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, Field, ForeignObjectRel, Q
from django.utils import timezone

from classifier.models import Classification, ModelVersion
from surveys.models import Answer
from surveys.respondent.services import responses_touch


def _db_column(field: Field[Any, Any] | ForeignObjectRel) -> str:
    """The column of a concrete field (the model meta's types also admit relations)."""
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{field!r} has no database column")
    return field.column


def pending_rows_insert(*, pairs: Sequence[tuple[int, int]]) -> None:
    """Insert a pending row per (answer id, codebook id) pair; pairs that have one are skipped."""
    if connection.vendor != "postgresql":
        Classification.objects.bulk_create(
            [Classification(answer_id=answer, codebook_id=book) for answer, book in pairs],
            ignore_conflicts=True,
        )
        return
    # PostgreSQL: one INSERT ... SELECT over two arrays. bulk_create would prepare every field of
    # every row in Python (seconds for 100,000 answers) where the values are the same constants.
    meta = Classification._meta
    quote = connection.ops.quote_name
    template = Classification()
    fixed = ("answer", "codebook")
    fields = [f for f in meta.concrete_fields if not f.primary_key and f.name not in fixed]
    columns = [_db_column(meta.get_field(name)) for name in fixed] + [_db_column(f) for f in fields]
    constants = [f"%s::{f.cast_db_type(connection)}" for f in fields]
    params = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in fields]
    # Only quoted identifiers and type names from the model's meta go into the text.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608  # nosec B608  quoted identifiers, values as parameters
        f"SELECT p.answer, p.book, {', '.join(constants)} "
        "FROM unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS p(answer, book, n) "
        "ORDER BY p.n ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, [a for a, _ in pairs], [b for _, b in pairs]])


@dataclass(frozen=True)
class Claimed:
    """A row claimed for classification: what the prediction needs, and no more."""

    pk: int
    codebook_id: int
    text: str


def rows_claim(*, ids: Sequence[int], token: str) -> list[Claimed]:
    """Mark the claimable rows among `ids` running under `token` and return them (by pk).

    Claimable: pending; failed with attempts left; running under a claim older than the task
    time limit (its worker died); or running under this same token (a retry of this task).
    One UPDATE ... WHERE makes the claim atomic, so a task delivered twice classifies once.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EXPOSURE_CLASSIFY_STALE_SECONDS)
    if connection.vendor == "postgresql":
        return _rows_claim_returning(ids=ids, token=token, now=now, stale=stale)
    running = Classification.Status.RUNNING
    claimable = (
        Q(status=Classification.Status.PENDING)
        | Q(
            status=Classification.Status.FAILED,
            attempts__lt=settings.EXPOSURE_CLASSIFY_MAX_ATTEMPTS,
        )
        | Q(status=running, claimed_at__lt=stale)
        | Q(status=running, claim_token=token)
    )
    Classification.objects.filter(
        claimable, pk__in=list(ids), source=Classification.Source.MODEL
    ).update(
        status=running,
        attempts=F("attempts") + 1,
        claimed_at=now,
        claim_token=token,
        updated_at=now,
    )
    return [
        Claimed(*row)
        for row in Classification.objects.filter(
            pk__in=list(ids), status=running, claim_token=token
        )
        .order_by("pk")
        .values_list("pk", "codebook_id", "answer__text")
    ]


# PostgreSQL would otherwise scan the (status, updated_at) index for the batch's rows: it holds an
# entry for every version of every row since the last vacuum, so each claim and finish would cost
# more the more rows were classified before it. Written as an expression, the status is checked
# on the rows the primary key finds (a handful of index probes per batch, whatever the backlog).
_STATUS_NO_INDEX = "(c.status || '')"


def _rows_claim_returning(
    *, ids: Sequence[int], token: str, now: datetime, stale: datetime
) -> list[Claimed]:
    """PostgreSQL: rows_claim as one UPDATE ... RETURNING the answer texts (same conditions).

    A second statement and 200 model instances per batch cost more than the prediction's
    database work; this returns plain tuples in one round trip.
    """
    table = connection.ops.quote_name(Classification._meta.db_table)
    answers = connection.ops.quote_name(Answer._meta.db_table)
    # Only quoted table names go into the text; every value is a parameter. The status is
    # compared as an expression (STATUS_NO_INDEX) so the rows are found by primary key.
    sql = (
        f"UPDATE {table} AS c SET status = %s, attempts = c.attempts + 1, "  # noqa: S608  # nosec B608  quoted identifiers, values as parameters
        "claimed_at = %s, claim_token = %s, updated_at = %s "
        f"FROM {answers} AS a "
        "WHERE a.id = c.answer_id AND c.id = ANY(%s) AND c.source = %s AND ("
        f"  {_STATUS_NO_INDEX} = %s"
        f"  OR ({_STATUS_NO_INDEX} = %s AND c.attempts < %s)"
        f"  OR ({_STATUS_NO_INDEX} = %s AND (c.claimed_at < %s OR c.claim_token = %s))"
        ") RETURNING c.id, c.codebook_id, a.text"
    )
    status = Classification.Status
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                status.RUNNING,
                now,
                token,
                now,
                list(ids),
                Classification.Source.MODEL,
                status.PENDING,
                status.FAILED,
                settings.EXPOSURE_CLASSIFY_MAX_ATTEMPTS,
                status.RUNNING,
                stale,
                token,
            ],
        )
        return [Claimed(*row) for row in sorted(cursor.fetchall())]


@dataclass(frozen=True)
class Done:
    """One row's prediction, ready to be stored."""

    pk: int
    labels: list[str]
    confidence: float
    auto_coded: bool
    reason: str = ""  # the guard's reason the text is never auto-coded; empty when it may be

    @property
    def review_status(self) -> str:
        if self.auto_coded:
            return Classification.ReviewStatus.AUTO_CODED
        return Classification.ReviewStatus.NEEDS_REVIEW


def _responses_touch(*, ids: Sequence[int]) -> None:
    # A finished row changes what the API shows of its response (a re-classified one may lose
    # its values when it fails): sync clients must fetch the response again. Called after the
    # rows' own UPDATE: classification rows, then responses, the order withdrawal and coders
    # lock them in too.
    if not ids:
        return
    responses_touch(
        ids=Classification.objects.filter(pk__in=list(ids)).values_list(
            "answer__response_id", flat=True
        )
    )


def rows_survey_ids(*, ids: Sequence[int]) -> list[int]:
    """The surveys whose answers the classification rows `ids` code."""
    return list(
        Classification.objects.filter(pk__in=list(ids))
        .values_list("answer__response__survey_id", flat=True)
        .distinct()
        .order_by()
    )


def _finishable(*, ids: Sequence[int], token: str) -> Any:
    # Token, status and source guards: a coder's label, a newer claim or a row another delivery
    # already finished is never overwritten.
    return Classification.objects.filter(
        pk__in=list(ids),
        claim_token=token,
        status=Classification.Status.RUNNING,
        source=Classification.Source.MODEL,
    )


def rows_finish_done(*, rows: Sequence[Done], version: ModelVersion, token: str) -> int:
    """Store the predictions of `rows` (still claimed under `token`); returns rows updated."""
    if not rows:
        return 0
    now = timezone.now()
    if connection.vendor == "postgresql":
        updated = _rows_finish_done_values(rows=rows, version=version, token=token, now=now)
        _responses_touch(ids=[row.pk for row in rows])
        return updated
    # Elsewhere (SQLite) one UPDATE a row, all in the caller's transaction: one commit a batch.
    updated = 0
    for row in rows:
        updated += _finishable(ids=[row.pk], token=token).update(
            status=Classification.Status.DONE,
            error="",
            model_version=version,
            labels=row.labels,
            model_labels=row.labels,
            confidence=row.confidence,
            auto_coded=row.auto_coded,
            review_status=row.review_status,
            review_reason=row.reason,
            claim_token="",
            updated_at=now,
        )
    _responses_touch(ids=[row.pk for row in rows])
    return updated


def _rows_finish_done_values(
    *, rows: Sequence[Done], version: ModelVersion, token: str, now: datetime
) -> int:
    """PostgreSQL: one UPDATE ... FROM unnest(arrays) for `rows`, with _finishable's guards."""
    table = connection.ops.quote_name(Classification._meta.db_table)
    # Only the quoted table name goes into the text; every value is a parameter (five arrays).
    sql = (
        f"UPDATE {table} AS c SET status = %s, error = '', model_version_id = %s, "  # noqa: S608  # nosec B608  quoted identifiers, values as parameters
        "labels = v.labels, model_labels = v.labels, confidence = v.confidence, "
        "auto_coded = v.auto_coded, review_status = v.review_status, "
        "review_reason = v.review_reason, claim_token = '', "
        "updated_at = %s FROM unnest(%s::bigint[], %s::jsonb[], %s::double precision[], "
        "%s::boolean[], %s::varchar[], %s::varchar[]) "
        "AS v(id, labels, confidence, auto_coded, review_status, review_reason) "
        f"WHERE c.id = v.id AND c.claim_token = %s AND {_STATUS_NO_INDEX} = %s AND c.source = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                Classification.Status.DONE,
                version.pk,
                now,
                [row.pk for row in rows],
                [json.dumps(row.labels) for row in rows],
                [row.confidence for row in rows],
                [row.auto_coded for row in rows],
                [str(row.review_status) for row in rows],
                [row.reason for row in rows],
                token,
                Classification.Status.RUNNING,
                Classification.Source.MODEL,
            ],
        )
        return cursor.rowcount


def rows_finish_failed(*, errors: dict[int, str], token: str) -> int:
    """Mark `errors` (pk -> message) failed; one UPDATE per distinct message (usually one)."""
    by_error: dict[str, list[int]] = defaultdict(list)
    for pk, error in errors.items():
        by_error[error[:4000]].append(pk)
    now = timezone.now()
    failed = sum(
        _finishable(ids=ids, token=token).update(
            status=Classification.Status.FAILED, error=error, claim_token="", updated_at=now
        )
        for error, ids in by_error.items()
    )
    _responses_touch(ids=list(errors))
    return failed
