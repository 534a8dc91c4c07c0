"""Classifying answers: status rows created and queued, batches classified, lost work swept up."""

from __future__ import annotations

import functools
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from classifier import pipeline
from classifier.audit.services import classifications_route, survey_audit_refresh
from classifier.errors import NoActiveModel
from classifier.models import (
    Classification,
    Codebook,
    Job,
    ModelVersion,
    SurveyAudit,
    codebooks_coding,
)
from classifier.runs.rows import (
    Claimed,
    Done,
    pending_rows_insert,
    rows_claim,
    rows_finish_done,
    rows_finish_failed,
    rows_survey_ids,
)
from classifier.training.jobs import job_update, jobs_fail_stale
from classifier.training.selectors import (
    codebook_active_version,
    codebook_model,
    codebooks_with_active_version,
)
from config.tasks import CLASSIFY_BATCH, publish
from surveys.analytics.services import statistics_version_bump
from surveys.models import Answer, Question, Response
from surveys.reference import OTHER

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 10_000  # rows one sweep queues; the next sweep picks up the rest
CREATE_CHUNK = 2_000  # answers written and queued per transaction by classifications_create


def classifications_enqueue(*, ids: Sequence[int]) -> None:
    """Queue classify_batch tasks for `ids` (in settings.EXPOSURE_CLASSIFY_BATCH) on commit."""
    size = max(1, settings.EXPOSURE_CLASSIFY_BATCH)
    ids = list(ids)
    for start in range(0, len(ids), size):
        transaction.on_commit(functools.partial(publish, CLASSIFY_BATCH, ids[start : start + size]))


def _classifiable_answers() -> Any:
    """Texts of classify questions, and the "other, please specify" texts of occupations.

    The latter are coded only by codebooks that name their question (occupation-isco), never by
    a codebook naming none (`codebooks_coding`). Not a researcher's test responses
    (surveys.respondent.testing): nothing about them is coded.
    """
    specified = Q(question__type=Question.Type.OCCUPATION, choice=OTHER)
    return Answer.objects.filter(
        Q(question__classify=True) | specified, response__is_test=False
    ).exclude(text="")


def classifications_create(*, answer_ids: Iterable[int]) -> list[int]:
    """Create pending rows for each answer x each codebook with an active model; queue them.

    Idempotent: existing rows are kept. Returns the ids of the pending rows queued. Many answers
    are written and queued CREATE_CHUNK at a time, each chunk in its own transaction, so workers
    start on the first rows while the later ones are written.
    """
    answer_ids = list(answer_ids)
    if not answer_ids:
        return []
    codebooks = codebooks_with_active_version()
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
        _classifiable_answers()
        .filter(pk__in=answer_ids)
        .values_list("pk", "question__code", "question__classify")
    )
    # Codebook by codebook, so consecutive ids (one task's batch) share one model.
    coding = {
        (code, cls): codebooks_coding(code, codebooks, classify=cls) for _pk, code, cls in answers
    }
    pairs = [
        (answer_id, codebook.pk)
        for codebook in codebooks
        for answer_id, question_code, classify in answers
        if codebook in coding[(question_code, classify)]
    ]
    if not pairs:
        return []
    pending_rows_insert(pairs=pairs)
    ids = list(
        Classification.objects.filter(
            answer_id__in=[pk for pk, _code, _cls in answers],
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
    codebooks = [codebook] if codebook else codebooks_with_active_version()
    created: list[int] = []
    for book in codebooks:
        answers = _classifiable_answers().filter(response__status=Response.Status.COMPLETE)
        if book.question_codes:
            answers = answers.filter(question__code__in=book.question_codes)
        else:  # not the questions another codebook names (codebooks_coding)
            answers = answers.filter(question__classify=True).exclude(
                question__code__in=_claimed_codes()
            )
        answer_ids = list(
            answers.exclude(classifications__codebook=book).values_list("pk", flat=True)[
                :SWEEP_LIMIT
            ]
        )
        if not answer_ids:
            continue
        pending_rows_insert(pairs=[(pk, book.pk) for pk in answer_ids])
        created += Classification.objects.filter(
            codebook=book, answer_id__in=answer_ids, status=Classification.Status.PENDING
        ).values_list("pk", flat=True)
    classifications_enqueue(ids=created)
    return created


def _claimed_codes() -> set[str]:
    return {
        code
        for codes in Codebook.objects.exclude(question_codes=[]).values_list(
            "question_codes", flat=True
        )
        for code in codes
    }


@dataclass(frozen=True)
class BatchResult:
    claimed: int
    done: int
    failed: int


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


def _classify_group(
    group: list[Claimed], *, model: pipeline.TextClassifier, version: ModelVersion
) -> tuple[list[Done], dict[int, str]]:
    """Predict one codebook's rows: the predictions to store, and the errors by row."""
    outcomes = _predict(model, [row.text for row in group])
    done: list[Done] = []
    errors: dict[int, str] = {}
    for row, outcome in zip(group, outcomes, strict=True):
        if isinstance(outcome, Exception):
            errors[row.pk] = f"{type(outcome).__name__}: {outcome}"
            continue
        confidence = min(max(float(outcome.confidence), 0.0), 1.0)
        # The guard's reasons hold whatever the threshold (the survey's may differ from the
        # model's); the threshold's own reasons are re-decided by the survey's routing.
        reason = outcome.reason if outcome.reason in pipeline.UNREADABLE else ""
        done.append(
            Done(
                pk=row.pk,
                labels=list(outcome.labels),
                confidence=confidence,
                auto_coded=not reason and confidence >= version.threshold,
                reason=reason or "",
            )
        )
    return done, errors


def classification_run_batch(*, ids: Sequence[int], token: str | None = None) -> BatchResult:
    """Claim the classifiable rows among `ids`, classify them with the active model, store results.

    Rows coded by a person are never touched. A text whose prediction raises ends `failed` with
    its error (re-queued by the sweep until EXPOSURE_CLASSIFY_MAX_ATTEMPTS) while the rest finish.
    The results are stored in one transaction per batch with a few set-based UPDATEs, each
    guarded by the claim, so a batch delivered twice finishes once.
    """
    token = token or uuid.uuid4().hex
    rows = rows_claim(ids=ids, token=token)
    by_codebook: dict[int, list[Claimed]] = defaultdict(list)
    for row in rows:
        by_codebook[row.codebook_id].append(row)
    codebooks = Codebook.objects.in_bulk(list(by_codebook))
    finished: list[tuple[list[Done], ModelVersion]] = []
    errors: dict[int, str] = {}
    for codebook_id, group in by_codebook.items():
        if codebook_id not in codebooks:
            continue  # deleted since the claim, and its rows with it
        try:
            model, version = codebook_model(codebook=codebooks[codebook_id])
        except (NoActiveModel, pipeline.ArtifactError) as exc:
            errors.update((row.pk, str(exc)) for row in group)
            continue
        done, failed = _classify_group(group, model=model, version=version)
        errors.update(failed)
        finished.append((done, version))
    with transaction.atomic():
        for done, version in finished:
            rows_finish_done(rows=done, version=version, token=token)
        # The audit sample is drawn and the survey's routing applied in the same commit.
        classifications_route(ids=[row.pk for done, _ in finished for row in done])
        rows_finish_failed(errors=errors, token=token)
        # Last: the surveys' cached statistics (their categories) are computed again.
        statistics_version_bump(survey_ids=rows_survey_ids(ids=[row.pk for row in rows]))
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


def _lost_rows(*, now: datetime) -> tuple[list[int], list[int], list[int]]:
    """Model rows to send again: pending past the grace, stuck in a dead claim, retryable."""
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
    return pending, stuck, retried


def classifications_sweep() -> SweepResult:
    """Queue what was lost: rows never created or queued, stuck claims, retryable failures."""
    now = timezone.now()
    missing = classifications_create_missing()
    pending, stuck, retried = _lost_rows(now=now)
    with transaction.atomic():
        # Sent again now: the pending grace counts from this send, so while a backlog lasts the
        # next sweeps leave these rows to the queue instead of sending them every interval. Were
        # this send lost too, the rows are found again one grace later.
        Classification.objects.filter(pk__in=pending, status=Classification.Status.PENDING).update(
            updated_at=now
        )
        classifications_enqueue(ids=pending + stuck + retried)
    jobs_failed = jobs_fail_stale(now=now)
    return SweepResult(len(missing), len(pending), len(stuck), len(retried), jobs_failed)


def audit_items_rescore(*, codebook: Codebook) -> int:
    """Score the coded audit items again with the active model; refresh each survey's audit.

    Their human labels stay; the model's labels and confidence are the active version's, so
    realised precision and the survey's threshold describe the model that codes from now on.
    """
    model, version = codebook_model(codebook=codebook)
    rows = list(
        Classification.objects.filter(
            codebook=codebook, audit=True, source=Classification.Source.CODER
        ).select_related("answer")
    )
    for row, outcome in zip(rows, _predict(model, [r.answer.text for r in rows]), strict=True):
        if isinstance(outcome, Exception):
            continue  # keeps its previous scores; the audit row still counts its human code
        row.model_labels = list(outcome.labels)
        row.confidence = min(max(float(outcome.confidence), 0.0), 1.0)
        row.model_version = version
    Classification.objects.bulk_update(rows, ["model_labels", "confidence", "model_version"])
    for survey_id in SurveyAudit.objects.filter(codebook=codebook).values_list(
        "survey_id", flat=True
    ):
        survey_audit_refresh(survey_id=survey_id, codebook_id=codebook.pk)
    return len(rows)


def job_reclassify(job: Job, token: str) -> None:
    """A re-classify job's work: every model-sourced row of the codebook, batch by batch."""
    version = codebook_active_version(codebook=job.codebook)
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
        job_update(job, progress=round(min(1.0, (start + len(chunk)) / len(ids)), 4))
    audit_items_rescore(codebook=job.codebook)
    job_update(
        job,
        status=Job.Status.DONE,
        progress=1.0,
        model_version=version,
        message=f"re-classified {done} answers with {version}; {failed} failed",
    )
