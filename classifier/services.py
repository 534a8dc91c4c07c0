"""Services that change classifier state: classification rows, model versions, coding, jobs."""

from __future__ import annotations

import functools
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from classifier import pipeline, selectors
from classifier.errors import ClassifierError, CodingError, NoActiveModel
from classifier.models import (
    Classification,
    Codebook,
    CodingAssignment,
    HumanLabel,
    Job,
    ModelVersion,
)
from surveys.models import Answer, Response

logger = logging.getLogger(__name__)

# Publishing to a broker that is down must not fail the request that caused it: the row is in
# the database, and the sweep queues it once the broker is back. RedisError also covers a broker
# that answers but refuses writes (out of memory, MISCONF after a failed AOF write, READONLY
# replica after a failover, LOADING after a restart): the row waits for the sweep all the same.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kombu.exceptions.OperationalError,
    redis.exceptions.RedisError,
    ConnectionError,
    TimeoutError,
)
SWEEP_LIMIT = 10_000  # rows one sweep queues; the next sweep picks up the rest
CREATE_CHUNK = 2_000  # answers written and queued per transaction by classifications_create


def _send(task_name: str, *args: Any) -> bool:
    """Publish a classifier task; log and return False when the broker cannot be reached."""
    from classifier import tasks  # tasks import services: import at call time

    try:
        getattr(tasks, task_name).apply_async(args=args)
    except BROKER_ERRORS:
        logger.warning("broker unreachable: %s not queued; the sweep will retry", task_name)
        return False
    return True


def classifications_enqueue(*, ids: Sequence[int]) -> None:
    """Queue classify_batch tasks for `ids` (in settings.EXPOSURE_CLASSIFY_BATCH) on commit."""
    size = max(1, settings.EXPOSURE_CLASSIFY_BATCH)
    ids = list(ids)
    for start in range(0, len(ids), size):
        transaction.on_commit(functools.partial(_send, "classify_batch", ids[start : start + size]))


def _classifiable_answers() -> Any:
    return Answer.objects.filter(question__classify=True).exclude(text="")


def _pending_rows_insert(*, pairs: Sequence[tuple[int, int]]) -> None:
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
    columns = [meta.get_field(name).column for name in fixed] + [f.column for f in fields]
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


def classifications_create(*, answer_ids: Iterable[int]) -> list[int]:
    """Create pending rows for each answer x each codebook with an active model; queue them.

    Idempotent: existing rows are kept. Returns the ids of the pending rows queued. Many answers
    are written and queued CREATE_CHUNK at a time, each chunk in its own transaction, so workers
    start on the first rows while the later ones are written.
    """
    answer_ids = list(answer_ids)
    if not answer_ids:
        return []
    codebooks = selectors.codebooks_with_active_version()
    if not codebooks:
        return []
    ids: list[int] = []
    for start in range(0, len(answer_ids), CREATE_CHUNK):
        ids += _classifications_create_chunk(
            answer_ids=answer_ids[start : start + CREATE_CHUNK], codebooks=codebooks
        )
    return ids


@transaction.atomic
def _classifications_create_chunk(*, answer_ids: list[int], codebooks: list[Codebook]) -> list[int]:
    answers = list(
        _classifiable_answers().filter(pk__in=answer_ids).values_list("pk", "question__code")
    )
    # Codebook by codebook, so consecutive ids (one task's batch) share one model.
    pairs = [
        (answer_id, codebook.pk)
        for codebook in codebooks
        for answer_id, question_code in answers
        if not codebook.question_codes or question_code in codebook.question_codes
    ]
    if not pairs:
        return []
    _pending_rows_insert(pairs=pairs)
    ids = list(
        Classification.objects.filter(
            answer_id__in=[pk for pk, _ in answers],
            status=Classification.Status.PENDING,
            source=Classification.Source.MODEL,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    classifications_enqueue(ids=ids)
    return ids


@transaction.atomic
def classifications_create_missing(*, codebook: Codebook | None = None) -> list[int]:
    """Create and queue rows for submitted classify answers that have none; returns their ids."""
    codebooks = [codebook] if codebook else selectors.codebooks_with_active_version()
    created: list[int] = []
    for book in codebooks:
        answers = _classifiable_answers().filter(response__status=Response.Status.COMPLETE)
        if book.question_codes:
            answers = answers.filter(question__code__in=book.question_codes)
        answer_ids = list(
            answers.exclude(classifications__codebook=book).values_list("pk", flat=True)[
                :SWEEP_LIMIT
            ]
        )
        if not answer_ids:
            continue
        _pending_rows_insert(pairs=[(pk, book.pk) for pk in answer_ids])
        created += Classification.objects.filter(
            codebook=book, answer_id__in=answer_ids, status=Classification.Status.PENDING
        ).values_list("pk", flat=True)
    classifications_enqueue(ids=created)
    return created


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    done: int
    failed: int


@dataclass(frozen=True)
class _Claimed:
    """A row claimed for classification: what the prediction needs, and no more."""

    pk: int
    codebook_id: int
    text: str


def _claim(*, ids: Sequence[int], token: str) -> list[_Claimed]:
    """Mark the claimable rows among `ids` running under `token` and return them (by pk).

    Claimable: pending; failed with attempts left; running under a claim older than the task
    time limit (its worker died); or running under this same token (a retry of this task).
    One UPDATE ... WHERE makes the claim atomic, so a task delivered twice classifies once.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EXPOSURE_CLASSIFY_STALE_SECONDS)
    if connection.vendor == "postgresql":
        return _claim_returning(ids=ids, token=token, now=now, stale=stale)
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
        _Claimed(*row)
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


def _claim_returning(
    *, ids: Sequence[int], token: str, now: datetime, stale: datetime
) -> list[_Claimed]:
    """PostgreSQL: _claim as one UPDATE ... RETURNING with the answer texts (the same conditions).

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
        return [_Claimed(*row) for row in sorted(cursor.fetchall())]


def _predict(
    model: pipeline.TextClassifier, texts: list[str]
) -> list[pipeline.Prediction | Exception]:
    """Predict the batch at once; if that raises, text by text so one bad text fails alone."""
    try:
        return list(model.predict(texts))
    except Exception:  # prediction is pure computation: any error is about the texts, not transient
        logger.warning("batch prediction failed; predicting %d texts one by one", len(texts))
    outcomes: list[pipeline.Prediction | Exception] = []
    for text in texts:
        try:
            outcomes.append(model.predict([text])[0])
        except Exception as exc:  # recorded on the row as its error
            outcomes.append(exc)
    return outcomes


@dataclass(frozen=True)
class _Done:
    """One row's prediction, ready to be stored."""

    pk: int
    labels: list[str]
    confidence: float
    auto_coded: bool

    @property
    def review_status(self) -> str:
        if self.auto_coded:
            return Classification.ReviewStatus.AUTO_CODED
        return Classification.ReviewStatus.NEEDS_REVIEW


def _finishable(*, ids: Sequence[int], token: str) -> Any:
    # Token, status and source guards: a coder's label, a newer claim or a row another delivery
    # already finished is never overwritten.
    return Classification.objects.filter(
        pk__in=list(ids),
        claim_token=token,
        status=Classification.Status.RUNNING,
        source=Classification.Source.MODEL,
    )


def _finish_done(*, rows: Sequence[_Done], version: ModelVersion, token: str) -> int:
    """Store the predictions of `rows` (still claimed under `token`); returns rows updated."""
    if not rows:
        return 0
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _finish_done_values(rows=rows, version=version, token=token, now=now)
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
            claim_token="",
            updated_at=now,
        )
    return updated


def _finish_done_values(
    *, rows: Sequence[_Done], version: ModelVersion, token: str, now: datetime
) -> int:
    """PostgreSQL: one UPDATE ... FROM unnest(arrays) for `rows`, with _finishable's guards."""
    table = connection.ops.quote_name(Classification._meta.db_table)
    # Only the quoted table name goes into the text; every value is a parameter (five arrays).
    sql = (
        f"UPDATE {table} AS c SET status = %s, error = '', model_version_id = %s, "  # noqa: S608  # nosec B608  quoted identifiers, values as parameters
        "labels = v.labels, model_labels = v.labels, confidence = v.confidence, "
        "auto_coded = v.auto_coded, review_status = v.review_status, claim_token = '', "
        "updated_at = %s FROM unnest(%s::bigint[], %s::jsonb[], %s::double precision[], "
        "%s::boolean[], %s::varchar[]) AS v(id, labels, confidence, auto_coded, review_status) "
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
                token,
                Classification.Status.RUNNING,
                Classification.Source.MODEL,
            ],
        )
        return cursor.rowcount


def _finish_failed(*, errors: dict[int, str], token: str) -> int:
    """Mark `errors` (pk -> message) failed; one UPDATE per distinct message (usually one)."""
    by_error: dict[str, list[int]] = defaultdict(list)
    for pk, error in errors.items():
        by_error[error[:4000]].append(pk)
    now = timezone.now()
    return sum(
        _finishable(ids=ids, token=token).update(
            status=Classification.Status.FAILED, error=error, claim_token="", updated_at=now
        )
        for error, ids in by_error.items()
    )


def classification_run_batch(*, ids: Sequence[int], token: str | None = None) -> BatchResult:
    """Claim the classifiable rows among `ids`, classify them with the active model, store results.

    Rows coded by a person are never touched. A text whose prediction raises ends `failed` with
    its error (re-queued by the sweep until EXPOSURE_CLASSIFY_MAX_ATTEMPTS) while the rest finish.
    The results are stored in one transaction per batch with a few set-based UPDATEs, each
    guarded by the claim, so a batch delivered twice finishes once.
    """
    token = token or uuid.uuid4().hex
    rows = _claim(ids=ids, token=token)
    by_codebook: dict[int, list[_Claimed]] = defaultdict(list)
    for row in rows:
        by_codebook[row.codebook_id].append(row)
    codebooks = Codebook.objects.in_bulk(list(by_codebook))
    finished: list[tuple[list[_Done], ModelVersion]] = []
    errors: dict[int, str] = {}
    for codebook_id, group in by_codebook.items():
        if codebook_id not in codebooks:
            continue  # deleted since the claim, and its rows with it
        try:
            model, version = selectors.codebook_model(codebook=codebooks[codebook_id])
        except (NoActiveModel, pipeline.ArtifactError) as exc:
            errors.update((row.pk, str(exc)) for row in group)
            continue
        outcomes = _predict(model, [row.text for row in group])
        done: list[_Done] = []
        for row, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Exception):
                errors[row.pk] = f"{type(outcome).__name__}: {outcome}"
                continue
            confidence = min(max(float(outcome.confidence), 0.0), 1.0)
            done.append(
                _Done(
                    pk=row.pk,
                    labels=list(outcome.labels),
                    confidence=confidence,
                    auto_coded=confidence >= version.threshold,
                )
            )
        finished.append((done, version))
    with transaction.atomic():
        for done, version in finished:
            _finish_done(rows=done, version=version, token=token)
        _finish_failed(errors=errors, token=token)
    return BatchResult(
        claimed=len(rows), done=sum(len(done) for done, _ in finished), failed=len(errors)
    )


@dataclass(frozen=True)
class SweepResult:
    missing: int
    pending: int
    stuck: int
    retried: int
    jobs_failed: int


def classifications_sweep() -> SweepResult:
    """Queue what was lost: rows never created or queued, stuck claims, retryable failures."""
    now = timezone.now()
    missing = classifications_create_missing()
    model_rows = Classification.objects.filter(source=Classification.Source.MODEL).order_by("pk")
    pending = list(
        model_rows.filter(
            status=Classification.Status.PENDING,
            updated_at__lt=now - timedelta(seconds=settings.EXPOSURE_CLASSIFY_PENDING_GRACE),
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    stuck = list(
        model_rows.filter(
            status=Classification.Status.RUNNING,
            claimed_at__lt=now - timedelta(seconds=settings.EXPOSURE_CLASSIFY_STALE_SECONDS),
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    retried = list(
        model_rows.filter(
            status=Classification.Status.FAILED,
            attempts__lt=settings.EXPOSURE_CLASSIFY_MAX_ATTEMPTS,
        ).values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    with transaction.atomic():
        # Sent again now: the pending grace counts from this send, so while a backlog lasts the
        # next sweeps leave these rows to the queue instead of sending them every interval. Were
        # this send lost too, the rows are found again one grace later.
        Classification.objects.filter(pk__in=pending, status=Classification.Status.PENDING).update(
            updated_at=now
        )
        classifications_enqueue(ids=pending + stuck + retried)
    jobs_failed = Job.objects.filter(
        status=Job.Status.RUNNING,
        started_at__lt=now - timedelta(seconds=settings.EXPOSURE_CLASSIFY_STALE_SECONDS),
    ).update(
        status=Job.Status.FAILED,
        error="the worker running this job stopped (lost or over its time limit)",
        finished_at=now,
        updated_at=now,
    )
    return SweepResult(len(missing), len(pending), len(stuck), len(retried), jobs_failed)


# --- model versions ------------------------------------------------------------------------------


def _metrics(model: pipeline.TextClassifier, sources: dict[str, int]) -> dict[str, Any]:
    meta = model.metadata
    metrics = dict(meta.get("metrics", {}))
    metrics.update(
        {
            "training_size": meta.get("training_size"),
            "label_counts": meta.get("label_counts", {}),
            "sklearn_version": meta.get("sklearn_version"),
            "jieba_version": meta.get("jieba_version"),
            "training_data": meta.get("training_data"),
            "threshold_note": meta.get("threshold_note", ""),
            "sources": sources,
        }
    )
    return metrics


def model_version_train(
    *,
    codebook: Codebook,
    csv_path: Path | None = None,
    text_column: str = "text",
    label_column: str | None = None,
    activate: bool = False,
    user: AbstractBaseUser | None = None,
) -> ModelVersion:
    """Train, save and record a new version of `codebook`'s model; optionally activate it.

    Trains on `csv_path` if given, else on the seed corpus plus every human label. Raises
    TrainingDataError, pipeline.CsvError or pipeline.TrainingError.
    """
    data = selectors.codebook_training_data(
        codebook=codebook, csv_path=csv_path, text_column=text_column, label_column=label_column
    )
    # Training takes seconds to minutes: it runs outside any transaction and lock.
    model = pipeline.train(
        data.texts,
        data.labels,
        multilabel=codebook.multilabel,
        target_precision=codebook.target_precision,
        codebook=codebook.slug,
    )
    model_dir = Path(settings.EXPOSURE_MODEL_DIR)
    model_dir.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        # The codebook row lock serialises version numbering between concurrent trainings.
        Codebook.objects.select_for_update().get(pk=codebook.pk)
        number = (codebook.versions.aggregate(top=Max("version"))["top"] or 0) + 1
        name = f"{codebook.slug}-v{number}.joblib"
        checksum = pipeline.save(model, model_dir / name)
        version = ModelVersion.objects.create(
            codebook=codebook,
            version=number,
            artifact_path=name,
            checksum=checksum,
            threshold=float(model.threshold),
            metrics=_metrics(model, data.sources),
            training_size=len(data.texts),
            sklearn_version=str(model.metadata.get("sklearn_version", "")),
            trained_from=", ".join(f"{k} ({v})" for k, v in data.sources.items())[:300],
            trained_by=user,
        )
        if activate:
            model_version_activate(version=version)
    return version


@transaction.atomic
def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` its codebook's only active version (the previous one is deactivated)."""
    Codebook.objects.select_for_update().get(pk=version.codebook_id)
    ModelVersion.objects.filter(codebook_id=version.codebook_id, is_active=True).exclude(
        pk=version.pk
    ).update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True
    return version


# --- human coding --------------------------------------------------------------------------------


def _check_codes(*, codebook: Codebook, labels: Sequence[str]) -> list[str]:
    codes = list(codebook.categories.values_list("code", flat=True))
    unknown = [label for label in labels if label not in codes]
    if unknown:
        raise CodingError(f"not a code of {codebook.slug}: {', '.join(unknown)}")
    if not codebook.multilabel and len(labels) != 1:
        raise CodingError(f"{codebook.slug} takes exactly one code")
    chosen = set(labels)
    return [code for code in codes if code in chosen]  # codebook order, no duplicates


@transaction.atomic
def classification_code(
    *,
    classification: Classification,
    coder: AbstractBaseUser,
    labels: Sequence[str],
    note: str = "",
) -> HumanLabel:
    """Record `coder`'s labels for a classification; it becomes coder-sourced and reviewed.

    Raises CodingError when the labels do not fit the codebook.
    """
    row = (
        Classification.objects.select_for_update()
        .select_related("codebook")
        .get(pk=classification.pk)
    )
    labels = _check_codes(codebook=row.codebook, labels=labels)
    human, _ = HumanLabel.objects.update_or_create(
        classification=row, coder=coder, defaults={"labels": labels, "note": note}
    )
    # The final coding is the latest human one; with double coding it equals the agreed one.
    row.labels = labels
    row.source = Classification.Source.CODER
    row.review_status = Classification.ReviewStatus.REVIEWED
    row.status = Classification.Status.DONE
    row.claim_token = ""
    row.error = ""
    row.save()
    return human


def coding_assignments_create(
    *,
    classification_ids: Sequence[int],
    coders: Sequence[AbstractBaseUser],
    assigned_by: AbstractBaseUser | None = None,
) -> int:
    """Assign each classification to each coder (two coders = double coding); returns new count."""
    rows = [
        CodingAssignment(classification_id=pk, coder=coder, assigned_by=assigned_by)
        for pk in classification_ids
        for coder in coders
    ]
    with transaction.atomic():
        before = CodingAssignment.objects.filter(classification_id__in=classification_ids).count()
        CodingAssignment.objects.bulk_create(rows, ignore_conflicts=True)
        after = CodingAssignment.objects.filter(classification_id__in=classification_ids).count()
    return after - before


# --- jobs ----------------------------------------------------------------------------------------

_JOB_TASKS = {Job.Kind.RETRAIN: "retrain", Job.Kind.RECLASSIFY: "reclassify_all"}


@transaction.atomic
def job_start(
    *,
    kind: str,
    codebook: Codebook,
    user: AbstractBaseUser | None = None,
    options: dict[str, Any] | None = None,
) -> Job:
    """Record a retrain / re-classify job and queue its task on commit."""
    job = Job.objects.create(kind=kind, codebook=codebook, requested_by=user, options=options or {})
    transaction.on_commit(functools.partial(_send, _JOB_TASKS[Job.Kind(kind)], job.pk))
    return job


def _job_claim(*, job_id: int, token: str) -> Job | None:
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, task_id=token), pk=job_id
    ).update(status=Job.Status.RUNNING, task_id=token, started_at=now, updated_at=now)
    return (
        Job.objects.select_related("codebook", "requested_by").get(pk=job_id) if claimed else None
    )


def _job_update(job: Job, **fields: Any) -> None:
    fields["updated_at"] = timezone.now()
    if fields.get("status") in (Job.Status.DONE, Job.Status.FAILED):
        fields["finished_at"] = fields["updated_at"]
    Job.objects.filter(pk=job.pk).update(**fields)


def job_run(*, job_id: int, token: str) -> Job | None:
    """Run a queued job once (a second delivery finds it claimed and does nothing).

    Domain and pipeline errors end the job `failed` with their message; others propagate.
    """
    job = _job_claim(job_id=job_id, token=token)
    if job is None:
        return None
    try:
        if job.kind == Job.Kind.RETRAIN:
            _job_retrain(job)
        else:
            _job_reclassify(job, token=token)
    except (ClassifierError, pipeline.PipelineError) as exc:
        _job_update(job, status=Job.Status.FAILED, error=str(exc))
    job.refresh_from_db()
    return job


def _job_retrain(job: Job) -> None:
    _job_update(job, progress=0.1, message="training")
    version = model_version_train(
        codebook=job.codebook,
        activate=bool(job.options.get("activate")),
        user=job.requested_by,
    )
    state = "active" if version.is_active else "not active"
    _job_update(
        job,
        status=Job.Status.DONE,
        progress=1.0,
        model_version=version,
        message=f"trained {version} on {version.training_size} texts ({state})",
    )


def _job_reclassify(job: Job, *, token: str) -> None:
    version = selectors.codebook_active_version(codebook=job.codebook)
    if version is None:
        raise NoActiveModel(f"codebook {job.codebook.slug!r} has no active model version")
    classifications_create_missing(codebook=job.codebook)
    ids = list(
        Classification.objects.filter(codebook=job.codebook, source=Classification.Source.MODEL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    size = max(1, settings.EXPOSURE_CLASSIFY_BATCH)
    done = failed = 0
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        # Coder-sourced rows are excluded here and again by the claim: a person's label stays.
        Classification.objects.filter(pk__in=chunk, source=Classification.Source.MODEL).exclude(
            status=Classification.Status.RUNNING
        ).update(
            status=Classification.Status.PENDING,
            attempts=0,
            error="",
            claim_token="",
            updated_at=timezone.now(),
        )
        result = classification_run_batch(ids=chunk, token=f"{token}:{start}")
        done, failed = done + result.done, failed + result.failed
        _job_update(job, progress=round(min(1.0, (start + len(chunk)) / len(ids)), 4))
    _job_update(
        job,
        status=Job.Status.DONE,
        progress=1.0,
        model_version=version,
        message=f"re-classified {done} answers with {version}; {failed} failed",
    )
