"""Services that change classifier state: classification rows, model versions, coding, jobs."""

from __future__ import annotations

import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import kombu.exceptions
import redis.exceptions
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
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


@transaction.atomic
def classifications_create(*, answer_ids: Iterable[int]) -> list[int]:
    """Create pending rows for each answer x each codebook with an active model; queue them.

    Idempotent: existing rows are kept. Returns the ids of the pending rows queued.
    """
    answer_ids = list(answer_ids)
    if not answer_ids:
        return []
    answers = list(
        _classifiable_answers().filter(pk__in=answer_ids).values_list("pk", "question__code")
    )
    rows = [
        Classification(answer_id=answer_id, codebook=codebook)
        for codebook in selectors.codebooks_with_active_version()
        for answer_id, question_code in answers
        if not codebook.question_codes or question_code in codebook.question_codes
    ]
    if not rows:
        return []
    Classification.objects.bulk_create(rows, ignore_conflicts=True)
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
        Classification.objects.bulk_create(
            [Classification(answer_id=pk, codebook=book) for pk in answer_ids],
            ignore_conflicts=True,
        )
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


def _claim(*, ids: Sequence[int], token: str) -> list[Classification]:
    """Mark the claimable rows among `ids` running under `token` and return them.

    Claimable: pending; failed with attempts left; running under a claim older than the task
    time limit (its worker died); or running under this same token (a retry of this task).
    One UPDATE ... WHERE makes the claim atomic, so a task delivered twice classifies once.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EXPOSURE_CLASSIFY_STALE_SECONDS)
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
    return list(
        Classification.objects.filter(pk__in=list(ids), status=running, claim_token=token)
        .select_related("answer", "codebook")
        .order_by("pk")
    )


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


def _finish(*, row: Classification, token: str, **fields: Any) -> None:
    # Token and source conditions: a coder's label (or a newer claim) is never overwritten.
    Classification.objects.filter(
        pk=row.pk,
        claim_token=token,
        status=Classification.Status.RUNNING,
        source=Classification.Source.MODEL,
    ).update(claim_token="", updated_at=timezone.now(), **fields)


def _fail(*, row: Classification, token: str, error: str) -> None:
    _finish(row=row, token=token, status=Classification.Status.FAILED, error=error[:4000])


def classification_run_batch(*, ids: Sequence[int], token: str | None = None) -> BatchResult:
    """Claim the classifiable rows among `ids`, classify them with the active model, store results.

    Rows coded by a person are never touched. A text whose prediction raises ends `failed` with
    its error (re-queued by the sweep until EXPOSURE_CLASSIFY_MAX_ATTEMPTS) while the rest finish.
    """
    token = token or uuid.uuid4().hex
    rows = _claim(ids=ids, token=token)
    by_codebook: dict[int, list[Classification]] = defaultdict(list)
    for row in rows:
        by_codebook[row.codebook_id].append(row)
    done = failed = 0
    for group in by_codebook.values():
        try:
            model, version = selectors.codebook_model(codebook=group[0].codebook)
        except (NoActiveModel, pipeline.ArtifactError) as exc:
            for row in group:
                _fail(row=row, token=token, error=str(exc))
            failed += len(group)
            continue
        outcomes = _predict(model, [row.answer.text for row in group])
        for row, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Exception):
                _fail(row=row, token=token, error=f"{type(outcome).__name__}: {outcome}")
                failed += 1
                continue
            confidence = min(max(float(outcome.confidence), 0.0), 1.0)
            auto = confidence >= version.threshold
            _finish(
                row=row,
                token=token,
                status=Classification.Status.DONE,
                error="",
                model_version=version,
                labels=list(outcome.labels),
                model_labels=list(outcome.labels),
                confidence=confidence,
                auto_coded=auto,
                review_status=(
                    Classification.ReviewStatus.AUTO_CODED
                    if auto
                    else Classification.ReviewStatus.NEEDS_REVIEW
                ),
            )
            done += 1
    return BatchResult(claimed=len(rows), done=done, failed=failed)


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
