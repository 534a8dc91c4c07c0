"""Exports from the admin: a CSV now, background jobs with a status list for their requester."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.models import AuditEntry, ExportJob
from tests.admin.conftest import make_responses

pytestmark = pytest.mark.django_db


def test_request_a_background_export_and_see_it_listed(survey, accounts):
    make_responses(survey, 2)
    url = reverse("admin:surveys_export", args=[survey.pk])
    client = accounts.client("viewer")
    response = client.post(
        url, {"format": "sav", "values": "labels", "language": "zh-hans", "responses": "all"}
    )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.format, job.values, job.language, job.responses) == (
        "sav",
        "labels",
        "zh-hans",
        "all",
    )
    assert job.requested_by == accounts.users["viewer"]
    assert AuditEntry.objects.filter(survey=survey, action="export").exists()
    page = client.get(url)
    assert page.status_code == 200
    assert len(page.context["jobs"]) == 1
    # Someone else's exports are not listed.
    assert accounts.client("owner").get(url).context["jobs"] == []
    ExportJob.objects.filter(pk=job.pk).update(status="done", file="x.zip")
    body = client.get(url).content.decode()
    assert reverse("surveys:export-download", args=[job.pk]) in body


def test_invalid_export_request_is_a_message(survey, accounts):
    url = reverse("admin:surveys_export", args=[survey.pk])
    page = accounts.client("editor").post(url, {"format": "pdf"})
    assert page.status_code == 400
    assert "Unknown export format" in page.content.decode()
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("who", ["coder", "stranger"])
def test_export_refused_without_export_role(survey, accounts, who):
    url = reverse("admin:surveys_export", args=[survey.pk])
    assert accounts.client(who).post(url, {"format": "xlsx"}).status_code == 403
    assert not ExportJob.objects.exists()


def test_csv_link_streams_the_data(survey, accounts):
    make_responses(survey, 2)
    page = accounts.client("viewer").get(reverse("admin:surveys_export", args=[survey.pk]))
    stream_url = page.context["stream_url"]
    response = accounts.client("viewer").get(stream_url, {"values": "codes"})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).count(b"\n") >= 3
