"""The periodic sweep: expired files go, lost and stuck jobs are queued again, strays removed."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.exports import jobs as export_jobs
from surveys.exports import services as export_services
from surveys.exports import tasks
from surveys.models import ExportJob
from tests.exports.conftest import client_for


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Run the sweep task as beat would, with its on-commit sends executed (tasks run eagerly)."""

    def _sweep() -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            return tasks.exports_sweep.apply().get()

    return _sweep


def test_expiry_deletes_the_file(population, people, run_export, export_dir, sweep):  # type: ignore[no-untyped-def]
    old = run_export(people.viewer, population.survey, format="xlsx")
    fresh = run_export(people.viewer, population.survey, format="csv")
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert sweep() == {"expired": 1, "requeued": 0, "failed": 0, "files_removed": 0}
    old.refresh_from_db()
    assert old.status == ExportJob.Status.EXPIRED and old.file == ""
    assert sorted(p.name for p in export_dir.iterdir()) == [fresh.file]
    assert client_for(people.viewer).get(f"/exports/{old.pk}/download/").status_code == 410
    assert client_for(people.viewer).get(f"/exports/{fresh.pk}/download/").status_code == 200
    assert sweep()["expired"] == 0


def test_a_job_stuck_running_is_queued_again_and_finishes(  # type: ignore[no-untyped-def]
    population, people, export_dir, sweep, settings
):
    job = export_services.export_request(user=people.viewer, survey=population.survey, format="sav")
    # A worker claimed it and died: its claim is older than the stale limit.
    assert export_jobs._claim(job_id=job.pk, token="dead-worker") is not None
    long_ago = timezone.now() - timedelta(seconds=settings.EXPORT_STALE_SECONDS + 5)
    ExportJob.objects.filter(pk=job.pk).update(claimed_at=long_ago)
    result = sweep()
    assert result["requeued"] == 1 and result["failed"] == 0
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    assert job.attempts == 2 and job.rows_done == 2
    assert (export_dir / job.file).is_file()


def test_a_recent_claim_is_left_alone(population, people, sweep):  # type: ignore[no-untyped-def]
    job = export_services.export_request(user=people.viewer, survey=population.survey, format="csv")
    export_jobs._claim(job_id=job.pk, token="busy-worker")
    assert sweep()["requeued"] == 0
    job.refresh_from_db()
    assert job.status == ExportJob.Status.RUNNING and job.claim_token == "busy-worker"


def test_a_lost_pending_job_is_sent_again(population, people, sweep, settings):  # type: ignore[no-untyped-def]
    # Requested while the broker was down: the row exists, its task never arrived.
    job = export_services.export_request(user=people.viewer, survey=population.survey, format="dta")
    assert sweep()["requeued"] == 0  # still within the grace period
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.EXPORT_PENDING_GRACE + 5)
    )
    assert sweep()["requeued"] == 1
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error


def test_a_job_that_keeps_dying_fails(population, people, sweep, settings):  # type: ignore[no-untyped-def]
    job = export_services.export_request(user=people.viewer, survey=population.survey, format="csv")
    export_jobs._claim(job_id=job.pk, token="dead-worker")
    long_ago = timezone.now() - timedelta(seconds=settings.EXPORT_STALE_SECONDS + 5)
    ExportJob.objects.filter(pk=job.pk).update(
        claimed_at=long_ago, attempts=settings.EXPORT_MAX_ATTEMPTS
    )
    assert sweep() == {"expired": 0, "requeued": 0, "failed": 1, "files_removed": 0}
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert "stopped 3 time(s)" in job.error
    result = client_for(people.viewer).get(f"/exports/{job.pk}/download/")
    assert result.status_code == 409 and "This export failed" in result.content.decode()


def test_stray_files_are_removed(population, people, run_export, export_dir, sweep, settings):  # type: ignore[no-untyped-def]
    job = run_export(people.viewer, population.survey, format="xlsx")
    part = export_dir / ".99-deadbeef.part"
    part.write_bytes(b"half a file")
    scratch = export_dir / ".99-scratch"
    scratch.mkdir()
    (scratch / "data.sav").write_bytes(b"half")
    orphan = export_dir / "98-0123456789abcdef.zip"
    orphan.write_bytes(b"a file no job refers to")
    fresh = export_dir / ".100-recent.part"
    fresh.write_bytes(b"being written right now")
    old = time.time() - settings.EXPORT_STALE_SECONDS - 5
    for path in [part, scratch, orphan, export_dir / job.file]:
        os.utime(path, (old, old))
    assert sweep()["files_removed"] == 3
    assert sorted(p.name for p in export_dir.iterdir()) == sorted([job.file, fresh.name])
