"""Background exports: request, claim, run and sweep `ExportJob` rows.

The database, not the Celery result backend, is the record of each job (the kobotoolbox/kpi
pattern): a run claims its row with one UPDATE, writes the file under a temporary name, and
finishes the row; a periodic sweep expires old files and re-queues jobs whose worker was lost.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from config.tasks import EXPORT_RUN, TRANSIENT_ERRORS, publish
from surveys.core.access import User, audit_record
from surveys.exports.codebook import codebook_for, export_variables
from surveys.exports.formats import (
    Codebook,
    ExportError,
    WriteReport,
    render_codebook,
    write_csv,
    write_dta,
    write_sav,
    write_xlsx,
)
from surveys.exports.missing import rows_with_reasons
from surveys.exports.requests import (
    _SAFE_NAME,
    WITHDRAWN_MESSAGE,
    ExportOptions,
    ExportTooMany,
    Format,
    Status,
    _require_export,
    _stem,
    export_options,
    export_responses,
)
from surveys.models import AuditEntry, ExportJob, Survey
from surveys.variables.reader import variable_rows

logger = logging.getLogger(__name__)


class _ClaimLost(Exception):
    """Another run took the job over (the sweep re-queued it): stop without touching the row."""


@transaction.atomic
def export_request(
    *,
    user: User,
    survey: Survey,
    format: str,
    labels: bool | str = False,
    language: str | None = None,
    status: str = "complete",
) -> ExportJob:
    """Record an export job, audit it and queue its task on commit; returns the pending job.

    An identical request while the user's earlier one is still pending or running returns that
    job. Raises ExportForbidden, ExportInvalid (unknown format, language not offered, ...) or
    ExportTooMany (EXPORT_MAX_PENDING of the user's exports are unfinished).
    """
    _require_export(user, survey)
    options = export_options(
        survey=survey, format=format, labels=labels, language=language, status=status
    )
    same = _unfinished_twin(user=user, survey=survey, options=options)
    if same is not None:
        return same
    rows = export_responses(survey=survey, responses=options.responses).count()
    job = ExportJob.objects.create(
        survey=survey,
        requested_by_id=user.pk if user.is_authenticated else None,
        format=options.format,
        values=options.values,
        language=options.language,
        responses=options.responses,
        rows_total=rows,
    )
    _audit_request(user=user, job=job, options=options)
    transaction.on_commit(functools.partial(publish, EXPORT_RUN, job.pk))
    return job


def _unfinished_twin(*, user: User, survey: Survey, options: ExportOptions) -> ExportJob | None:
    """The user's identical unfinished job; raises ExportTooMany when the user has enough."""
    unfinished = _unfinished_for(user)
    same = unfinished.filter(
        survey=survey,
        format=options.format,
        values=options.values,
        language=options.language,
        responses=options.responses,
    ).first()
    if same is not None:
        return same
    limit = settings.EXPORT_MAX_PENDING
    if unfinished.count() >= limit:
        raise ExportTooMany(
            f"You already have {limit} exports being prepared: wait until one is ready "
            "(or has failed), then request this one."
        )
    return None


def _audit_request(*, user: User, job: ExportJob, options: ExportOptions) -> None:
    """Write the audit entry of a requested export."""
    audit_record(
        actor=user,
        action=AuditEntry.Action.EXPORT,
        survey=job.survey,
        summary=(
            f"Requested a {options.format.upper()} export of {job.rows_total} responses "
            f"({options.values}, {options.language})"
        ),
        details={
            "event": "request",
            "job": job.pk,
            "format": options.format,
            "values": options.values,
            "language": options.language,
            "responses": options.responses,
            "rows": job.rows_total,
        },
    )


def _unfinished_for(user: User) -> QuerySet[ExportJob]:
    """The user's pending and running exports, the user's row locked while they are counted."""
    if not user.is_authenticated:
        return ExportJob.objects.none()
    # Serialises one user's requests, so that two at once cannot both pass the checks.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    return ExportJob.objects.filter(
        requested_by_id=user.pk, status__in=[Status.PENDING, Status.RUNNING]
    )


def _claim(*, job_id: int, token: str) -> ExportJob | None:
    """Mark the job running under `token` if it is claimable, and return it.

    Claimable: pending; running under this same token (a Celery retry of this task); or running
    under a claim older than EXPORT_STALE_SECONDS (its worker died) with attempts left. One
    UPDATE ... WHERE makes the claim atomic, so a task delivered twice writes the file once.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    claimable = (
        Q(status=Status.PENDING)
        | Q(status=Status.RUNNING, claim_token=token)
        | Q(
            status=Status.RUNNING,
            claimed_at__lt=stale,
            attempts__lt=settings.EXPORT_MAX_ATTEMPTS,
        )
    )
    claimed = ExportJob.objects.filter(claimable, pk=job_id).update(
        status=Status.RUNNING,
        claim_token=token,
        claimed_at=now,
        started_at=now,
        attempts=F("attempts") + 1,
        rows_done=0,
        error="",
    )
    if not claimed:
        return None
    return ExportJob.objects.select_related("survey").get(pk=job_id)


def _update(job_id: int, token: str, **fields: Any) -> None:
    """Update the job while this run still holds its claim; raise _ClaimLost otherwise."""
    updated = ExportJob.objects.filter(pk=job_id, claim_token=token, status=Status.RUNNING).update(
        **fields
    )
    if not updated:
        raise _ClaimLost(job_id)


def _with_progress(
    rows: Iterable[list[Any]], *, job_id: int, token: str, every: int
) -> Iterator[list[Any]]:
    for done, row in enumerate(rows, start=1):
        yield row
        if done % every == 0:
            _update(job_id, token, rows_done=done)


def _export_dir() -> Path:
    directory = Path(settings.EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _zip(target: Path, data: Path, stem: str, codebook: Codebook) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        zf.write(data, arcname=data.name)
        zf.writestr(
            f"{stem}_codebook.csv", render_codebook(codebook, format="csv").encode("utf-8-sig")
        )
        zf.writestr(f"{stem}_codebook.html", render_codebook(codebook, format="html"))


def _write(job: ExportJob, token: str) -> None:
    survey = job.survey
    options = ExportOptions(job.format, job.labels, job.language, job.responses)
    responses = export_responses(survey=survey, responses=job.responses)
    total = responses.count()
    _update(job.pk, token, rows_total=total)
    source, variables = export_variables(survey=survey, language=job.language)
    codebook = codebook_for(
        survey, options, variables, rows=total, when=job.created_at, source=source
    )
    rows = _with_progress(
        rows_with_reasons(
            variable_rows(survey=survey, variables=source, status=job.responses),
            survey=survey,
            variables=source,
        ),
        job_id=job.pk,
        token=token,
        every=max(1, settings.EXPORT_PROGRESS_EVERY),
    )
    directory = _export_dir()
    final_name = f"{job.pk}-{os.urandom(8).hex()}.{'xlsx' if job.format == Format.XLSX else 'zip'}"
    # Written under a temporary name in the same directory, then renamed: a download never sees
    # half a file, and a run that dies leaves only a .part file for the sweep to remove.
    part = directory / f".{job.pk}-{_SAFE_NAME.sub('', token)[:40]}.part"
    report = WriteReport()
    stem = _stem(survey, job.created_at, job.values)
    try:
        if job.format == Format.XLSX:
            write_xlsx(rows, variables, part, labels=job.labels, codebook=codebook, report=report)
        else:
            with tempfile.TemporaryDirectory(dir=directory, prefix=f".{job.pk}-") as scratch:
                data = Path(scratch) / f"{stem}.{job.format}"
                if job.format == Format.CSV:
                    with open(data, "wb") as out:
                        write_csv(rows, variables, out, labels=job.labels, bom=True, report=report)
                elif job.format == Format.SAV:
                    write_sav(rows, variables, data, codebook=codebook, report=report)
                else:
                    write_dta(rows, variables, data, codebook=codebook, report=report)
                _zip(part, data, stem, codebook.with_notes(*report.notes(codebook.texts)))
        _fsync(part)
        final = directory / final_name
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    now = timezone.now()
    try:
        _update(
            job.pk,
            token,
            status=Status.DONE,
            file=final_name,
            size=final.stat().st_size,
            rows_done=report.rows,
            rows_total=report.rows,
            finished_at=now,
            expires_at=now + timedelta(hours=settings.EXPORT_EXPIRY_HOURS),
            claim_token="",
        )
    except BaseException:
        final.unlink(missing_ok=True)
        raise


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return (
            f"The export took longer than the time limit ({settings.EXPORT_TIME_LIMIT} s); "
            "try a smaller selection or ask an administrator to raise EXPOSURE_EXPORT_TIME_LIMIT."
        )
    if isinstance(exc, ExportError):
        return f"The data could not be written: {exc}"[:2000]
    return f"The export failed ({type(exc).__name__}: {exc})"[:2000]


def export_run(*, job_id: int, token: str) -> ExportJob | None:
    """Write job `job_id`'s file once, then mark it done (or failed with the error).

    A second delivery finds the job claimed or done and does nothing (returns None). Transient
    database errors propagate, so that the task retries under the same claim token.
    """
    job = _claim(job_id=job_id, token=token)
    if job is None:
        return None
    try:
        _write(job, token)
    except TRANSIENT_ERRORS:
        raise
    except _ClaimLost:
        logger.warning("export %s was taken over by another run; this run stops", job_id)
        return None
    except Exception as exc:  # anything else is not worth a retry: record it on the row
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id, claim_token=token, status=Status.RUNNING).update(
            status=Status.FAILED,
            error=_error_text(exc),
            finished_at=timezone.now(),
            claim_token="",
        )
    return ExportJob.objects.get(pk=job_id)


def exports_withdraw(*, survey_id: int) -> int:
    """Delete the files of the survey's finished and running exports after a withdrawal.

    Each job is marked withdrawn with a message saying to request a new export; a run still
    writing loses its claim, so it removes its own file. Returns how many jobs were withdrawn.
    """
    directory = Path(settings.EXPORT_DIR)
    withdrawn = 0
    jobs = ExportJob.objects.filter(survey_id=survey_id, status__in=[Status.DONE, Status.RUNNING])
    for pk, status, name in jobs.values_list("pk", "status", "file"):
        # The row first, so that no new download starts; one already sending keeps its open file.
        if ExportJob.objects.filter(pk=pk, status=status).update(
            status=Status.WITHDRAWN, file="", error=WITHDRAWN_MESSAGE, claim_token=""
        ):
            withdrawn += 1
            if name:
                (directory / Path(name).name).unlink(missing_ok=True)
    return withdrawn


@dataclass(frozen=True)
class ExportSweepResult:
    expired: int
    requeued: int
    failed: int
    files_removed: int


def _remove(path: Path) -> bool:
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    return True


def _expire_old(now: datetime, directory: Path) -> int:
    expired = 0
    for pk, name in ExportJob.objects.filter(status=Status.DONE, expires_at__lte=now).values_list(
        "pk", "file"
    ):
        # The row first, so that no new download starts; one already sending keeps its open file.
        if ExportJob.objects.filter(pk=pk, status=Status.DONE).update(
            status=Status.EXPIRED, file=""
        ):
            expired += 1
            if name:
                (directory / Path(name).name).unlink(missing_ok=True)
    return expired


def _release_stale(now: datetime, stale: datetime) -> tuple[set[int], int]:
    """(jobs to queue again, jobs failed for good) among those whose worker was lost."""
    requeue: set[int] = set()
    failed = 0
    for pk, attempts, claimed_at in ExportJob.objects.filter(
        status=Status.RUNNING, claimed_at__lt=stale
    ).values_list("pk", "attempts", "claimed_at"):
        unchanged = ExportJob.objects.filter(pk=pk, status=Status.RUNNING, claimed_at=claimed_at)
        if attempts >= settings.EXPORT_MAX_ATTEMPTS:
            failed += unchanged.update(
                status=Status.FAILED,
                claim_token="",
                finished_at=now,
                error=(
                    f"The worker writing this export stopped {attempts} time(s) (lost, or over "
                    f"the time limit of {settings.EXPORT_TIME_LIMIT} s); request a smaller export "
                    "or ask an administrator."
                ),
            )
        elif unchanged.update(status=Status.PENDING, claim_token="", claimed_at=None):
            requeue.add(pk)
    return requeue, failed


def _remove_strays(directory: Path, stale: datetime) -> int:
    """Remove temporary files of runs that died, and finished files no job refers to any more."""
    kept = set(ExportJob.objects.filter(status=Status.DONE).values_list("file", flat=True))
    removed = 0
    for entry in directory.iterdir():
        try:
            old = entry.stat().st_mtime < stale.timestamp()
        except FileNotFoundError:
            continue
        if old and entry.name not in kept and _remove(entry):
            removed += 1
    return removed


def exports_sweep() -> ExportSweepResult:
    """Expire old exports (file deleted), re-queue lost or stuck jobs, remove stray files.

    A job running past EXPORT_STALE_SECONDS lost its worker: it is queued again while it has
    attempts left (EXPORT_MAX_ATTEMPTS), and marked failed after that.
    """
    now = timezone.now()
    directory = _export_dir()
    expired = _expire_old(now, directory)
    stale = now - timedelta(seconds=settings.EXPORT_STALE_SECONDS)
    requeue, failed = _release_stale(now, stale)
    lost_before = now - timedelta(seconds=settings.EXPORT_PENDING_GRACE)
    requeue.update(
        ExportJob.objects.filter(status=Status.PENDING, created_at__lt=lost_before).values_list(
            "pk", flat=True
        )
    )
    for pk in sorted(requeue):
        transaction.on_commit(functools.partial(publish, EXPORT_RUN, pk))
    removed = _remove_strays(directory, stale)
    return ExportSweepResult(expired, len(requeue), failed, removed)
