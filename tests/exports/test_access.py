"""Who may download what: only the requester, while they may still export, until expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.core import access
from surveys.models import AuditEntry, ExportJob, SurveyRole
from tests.exports.conftest import client_for, downloaded, unzip


def _url(job: ExportJob) -> str:
    return f"/exports/{job.pk}/download/"


@pytest.fixture
def job(population, people, run_export):  # type: ignore[no-untyped-def]
    """A finished CSV export requested by a viewer."""
    done = run_export(people.viewer, population.survey, format="csv", labels=True)
    assert done.status == ExportJob.Status.DONE, done.error
    return done


def test_the_requester_downloads_the_file(job, people, export_dir):  # type: ignore[no-untyped-def]
    result = client_for(people.viewer).get(_url(job))
    assert result.status_code == 200
    assert result["Content-Type"] == "application/zip"
    assert result["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in result["Cache-Control"]
    expected = f"{job.survey.slug}_{job.created_at:%Y-%m-%d}_labels_csv.zip"
    assert result["Content-Disposition"] == f'attachment; filename="{expected}"'
    content = downloaded(result)
    assert content == (export_dir / job.file).read_bytes()
    assert len(unzip(content)) == 3
    entry = AuditEntry.objects.get(details__event="download")
    assert entry.actor == people.viewer and entry.action == AuditEntry.Action.EXPORT
    assert entry.details == {
        "event": "download",
        "job": job.pk,
        "format": "csv",
        "values": "labels",
        "language": "en",
        "rows": 2,
    }


@pytest.mark.parametrize("name", ["owner", "editor", "viewer2", "coder", "other", "superuser"])
def test_anyone_else_gets_404(job, people, name):  # type: ignore[no-untyped-def]
    result = client_for(getattr(people, name)).get(_url(job))
    assert result.status_code == 404
    assert not AuditEntry.objects.filter(details__event="download").exists()


def test_anonymous_is_sent_to_log_in(job):  # type: ignore[no-untyped-def]
    result = client_for().get(_url(job))
    assert result.status_code == 302
    assert result["Location"].startswith("/admin/login/?next=")


def test_an_unknown_job_is_404(job, people):  # type: ignore[no-untyped-def]
    assert client_for(people.viewer).get(f"/exports/{job.pk + 1000}/download/").status_code == 404


def test_the_requester_without_the_permission_any_more_gets_404(job, people, population):  # type: ignore[no-untyped-def]
    SurveyRole.objects.filter(user=people.viewer).update(role="coder")
    assert client_for(people.viewer).get(_url(job)).status_code == 404
    access.role_set(actor=people.owner, survey=population.survey, user=people.viewer, role=None)
    assert client_for(people.viewer).get(_url(job)).status_code == 404


def test_an_expired_export_is_gone(job, people):  # type: ignore[no-untyped-def]
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    result = client_for(people.viewer).get(_url(job))
    assert result.status_code == 410
    assert "expired" in result.content.decode()
    ExportJob.objects.filter(pk=job.pk).update(status="expired", file="")
    assert client_for(people.viewer).get(_url(job)).status_code == 410
    # Expiry is no hint for others either.
    assert client_for(people.owner).get(_url(job)).status_code == 404


def test_a_missing_file_is_gone(job, people, export_dir):  # type: ignore[no-untyped-def]
    (export_dir / job.file).unlink()
    assert client_for(people.viewer).get(_url(job)).status_code == 410


def test_pending_and_failed_exports_say_so(population, people):  # type: ignore[no-untyped-def]
    from surveys.exports import services as export_services

    pending = export_services.export_request(
        user=people.viewer, survey=population.survey, format="xlsx"
    )  # its task waits for a commit that never comes in this test
    result = client_for(people.viewer).get(_url(pending))
    assert result.status_code == 409
    assert "still being prepared (0 of 2 rows written)" in result.content.decode()
    ExportJob.objects.filter(pk=pending.pk).update(status="failed", error="disk full")
    result = client_for(people.viewer).get(_url(pending))
    assert result.status_code == 409
    assert result.content.decode() == "This export failed: disk full."


def test_downloads_are_get_only(job, people):  # type: ignore[no-untyped-def]
    assert client_for(people.viewer).post(_url(job)).status_code == 405


# --- the streamed CSV and codebook views ---------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "status"),
    [("owner", 200), ("editor", 200), ("viewer", 200), ("coder", 403), ("other", 403)],
)
def test_streamed_csv_permissions(population, people, name, status):  # type: ignore[no-untyped-def]
    url = f"/exports/survey/{population.survey.slug}/data.csv"
    result = client_for(getattr(people, name)).get(url)
    assert result.status_code == status
    if status == 403:
        assert "permission to export" in result.content.decode()
        assert not AuditEntry.objects.filter(action="export").exists()
    else:
        entry = AuditEntry.objects.get(action="export")
        assert entry.details["event"] == "stream" and entry.details["rows"] == 2
        assert entry.details["format"] == "csv"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"language": "fr"}, "This survey is not offered in 'fr': choose one of en, zh-hans."),
        ({"values": "both"}, "Unknown choice 'both' for the values: choose labels or codes."),
        ({"responses": "x"}, "Unknown response status 'x': choose complete, in_progress or all."),
    ],
)
def test_streamed_csv_bad_options(population, people, query, message):  # type: ignore[no-untyped-def]
    result = client_for(people.viewer).get(
        f"/exports/survey/{population.survey.slug}/data.csv", query
    )
    assert result.status_code == 400
    assert result.content.decode() == message


def test_export_views_for_anonymous_and_unknown_surveys(population, people):  # type: ignore[no-untyped-def]
    for path in ["data.csv", "codebook/"]:
        url = f"/exports/survey/{population.survey.slug}/{path}"
        assert client_for().get(url).status_code == 302
        assert client_for(people.viewer).get(f"/exports/survey/nope/{path}").status_code == 404
    result = client_for(people.viewer).get(
        f"/exports/survey/{population.survey.slug}/codebook/", {"format": "pdf"}
    )
    assert result.status_code == 400
    assert "choose html, csv, json or md" in result.content.decode()
    coder = client_for(people.coder).get(f"/exports/survey/{population.survey.slug}/codebook/")
    assert coder.status_code == 403
