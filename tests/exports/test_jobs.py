"""Background exports: the job's life (pending, running, done or failed), idempotency, errors."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from surveys.exports import codebook as export_codebook
from surveys.exports import jobs as export_jobs
from surveys.exports import services as export_services
from surveys.exports import tasks
from surveys.exports.formats import ExportError
from surveys.models import AuditEntry, ExportJob
from surveys.variables.catalogue import SurveyVariable


def _files(export_dir):  # type: ignore[no-untyped-def]
    return sorted(p.name for p in export_dir.iterdir()) if export_dir.exists() else []


def test_job_runs_end_to_end(population, people, run_export, export_dir):  # type: ignore[no-untyped-def]
    job = run_export(people.viewer, population.survey, format="xlsx", labels=True, language="en")
    assert job.status == ExportJob.Status.DONE, job.error
    assert job.rows_done == job.rows_total == 2
    assert job.progress == 1.0
    assert job.attempts == 1 and job.claim_token == ""
    assert job.started_at <= job.finished_at < job.expires_at
    assert _files(export_dir) == [job.file]  # nothing temporary left behind
    assert (export_dir / job.file).stat().st_size == job.size
    entry = AuditEntry.objects.get(details__event="request")
    assert entry.action == AuditEntry.Action.EXPORT
    assert entry.actor == people.viewer and entry.survey == population.survey
    assert entry.details["format"] == "xlsx" and entry.details["rows"] == 2
    assert entry.details["job"] == job.pk


def test_a_job_run_twice_writes_once(population, people, run_export, export_dir):  # type: ignore[no-untyped-def]
    job = run_export(people.viewer, population.survey, format="csv")
    before = (export_dir / job.file).stat()
    # A second delivery of the same message, and a new task for the same job: both do nothing.
    assert tasks.export_run.apply(args=[job.pk]).get() is None
    assert tasks.export_run.apply(args=[job.pk], task_id="another-delivery").get() is None
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE and job.attempts == 1
    assert _files(export_dir) == [job.file]
    assert (export_dir / job.file).stat().st_mtime_ns == before.st_mtime_ns


def test_a_running_claim_is_not_taken_by_another_delivery(population, people, export_dir):  # type: ignore[no-untyped-def]
    job = export_services.export_request(user=people.viewer, survey=population.survey, format="csv")
    assert export_jobs._claim(job_id=job.pk, token="first") is not None
    # Another worker receives the same job while the first is writing: it must keep out.
    assert export_services.export_run(job_id=job.pk, token="second") is None
    job.refresh_from_db()
    assert job.status == ExportJob.Status.RUNNING and job.claim_token == "first"
    # The first worker's own retry (same task id, same token) may carry on.
    finished = export_services.export_run(job_id=job.pk, token="first")
    assert finished is not None and finished.status == ExportJob.Status.DONE
    assert _files(export_dir) == [finished.file]


@pytest.mark.parametrize(
    ("fmt", "writer", "error", "message"),
    [
        ("xlsx", "write_xlsx", ExportError("row 3: cannot be written"), "row 3: cannot be written"),
        ("sav", "write_sav", RuntimeError("disk on fire"), "RuntimeError: disk on fire"),
    ],
)
def test_a_writer_error_fails_the_job_with_its_message(  # type: ignore[no-untyped-def]
    population, people, run_export, export_dir, monkeypatch, fmt, writer, error, message
):
    def broken(rows, variables, path, **kwargs):  # type: ignore[no-untyped-def]
        with open(path, "wb") as handle:  # half a file, as a real failure would leave
            handle.write(b"partial")
        next(iter(rows))
        raise error

    monkeypatch.setattr(export_jobs, writer, broken)
    job = run_export(people.viewer, population.survey, format=fmt)
    assert job.status == ExportJob.Status.FAILED
    assert message in job.error
    assert job.file == "" and job.finished_at is not None and job.claim_token == ""
    assert _files(export_dir) == []  # neither the partial file nor a temporary directory


def test_a_transient_database_error_is_retried(population, people, monkeypatch):  # type: ignore[no-untyped-def]
    from config.celery import app as celery_app

    real = export_jobs.write_dta
    calls = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(export_jobs, "write_dta", flaky)
    # Eagerly applied tasks run their retries in place unless errors propagate at once.
    job = export_services.export_request(user=people.viewer, survey=population.survey, format="dta")
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    try:
        assert tasks.export_run.apply(args=[job.pk]).get() == "done"
    finally:
        celery_app.conf.task_eager_propagates = previous
    job.refresh_from_db()
    assert len(calls) == 2
    assert job.status == ExportJob.Status.DONE, job.error
    assert job.attempts == 2  # the retry re-claimed its own job under the same token


def test_progress_is_recorded_while_writing(  # type: ignore[no-untyped-def]
    population, people, run_export, monkeypatch, settings
):
    settings.EXPORT_PROGRESS_EVERY = 1
    real = export_jobs.write_csv
    seen = []

    def watching(rows, variables, out, **kwargs):  # type: ignore[no-untyped-def]
        collected = []
        for row in rows:
            collected.append(row)
            seen.append(ExportJob.objects.get().rows_done)
        seen.append(ExportJob.objects.get().rows_done)
        return real(collected, variables, out, **kwargs)

    monkeypatch.setattr(export_jobs, "write_csv", watching)
    job = run_export(people.viewer, population.survey, format="csv")
    assert job.status == ExportJob.Status.DONE
    assert seen == [0, 1, 2]
    assert ExportJob.objects.get().rows_total == 2


def test_private_fields_never_become_columns(population, people, monkeypatch):  # type: ignore[no-untyped-def]
    """Even a provider that declared the receipt hash as a variable would not get it exported."""
    from surveys.variables import catalogue as variables

    real = variables.survey_variables

    def leaky(**kwargs):  # type: ignore[no-untyped-def]
        return [
            *real(**kwargs),
            SurveyVariable(
                "receipt", {"en": "Receipt"}, "text", source=("response", "receipt_hash")
            ),
        ]

    monkeypatch.setattr(export_codebook, "survey_variables", leaky)
    stream = export_services.export_stream_csv(user=people.viewer, survey=population.survey)
    header = b"".join(stream.chunks).decode("utf-8-sig").splitlines()[0]
    assert "receipt" not in header and "response_id" in header


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "pdf"}, "Unknown export format 'pdf': choose csv, xlsx (Excel), sav (SPSS)"),
        ({"format": "csv", "language": "fr"}, "not offered in 'fr': choose one of en, zh-hans"),
        ({"format": "csv", "labels": "maybe"}, "choose labels or codes"),
        ({"format": "csv", "status": "deleted"}, "choose complete, in_progress or all"),
    ],
)
def test_invalid_requests_get_a_clear_message(population, people, options, message):  # type: ignore[no-untyped-def]
    with pytest.raises(
        export_services.ExportInvalid, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        export_services.export_request(user=people.viewer, survey=population.survey, **options)
    assert not ExportJob.objects.exists()
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.parametrize("name", ["coder", "other"])
def test_no_export_without_the_permission(population, people, name):  # type: ignore[no-untyped-def]
    user = getattr(people, name)
    with pytest.raises(export_services.ExportForbidden, match="permission to export"):
        export_services.export_request(user=user, survey=population.survey, format="csv")
    with pytest.raises(export_services.ExportForbidden):
        export_services.export_stream_csv(user=user, survey=population.survey)
    assert not ExportJob.objects.exists()


def test_aliases_and_defaults(population, people):  # type: ignore[no-untyped-def]
    job = export_services.export_request(
        user=people.viewer, survey=population.survey, format=".SPSS"
    )
    assert (job.format, job.values, job.language, job.responses) == (
        "sav",
        "codes",
        "en",
        "complete",
    )


def test_too_many_rows_to_stream(population, people, settings):  # type: ignore[no-untyped-def]
    settings.EXPORT_STREAM_MAX_ROWS = 1
    with pytest.raises(export_services.ExportTooLarge, match="request a background export"):
        export_services.export_stream_csv(user=people.viewer, survey=population.survey)
