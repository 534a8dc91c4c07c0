"""A user's queue of exports is bounded: no duplicate pending job, at most N unfinished."""

from __future__ import annotations

from django.urls import reverse

from surveys.models import ExportJob
from tests.exports.conftest import client_for


def _request(user, survey, client=None, **data):  # type: ignore[no-untyped-def]
    if not user.is_staff:  # researchers reach the workbench
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    url = reverse("admin:surveys_export", args=[survey.pk])
    client = client or client_for(user)
    return client.post(url, {"values": "codes", "responses": "complete", **data})


def test_the_same_request_twice_queues_one_job(default_survey, people):  # type: ignore[no-untyped-def]
    first = _request(people.viewer, default_survey, format="sav")
    browser = client_for(people.viewer)
    second = _request(people.viewer, default_survey, browser, format="sav")
    assert first.status_code == second.status_code == 302
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.PENDING
    page = browser.get(second["Location"])
    assert f"Export {job.pk}" in page.content.decode()
    assert "already queued" in page.content.decode()
    # Other options are another export; another user's identical request is their own.
    assert _request(people.viewer, default_survey, format="sav", values="labels").status_code == 302
    assert _request(people.viewer2, default_survey, format="sav").status_code == 302
    assert ExportJob.objects.count() == 3


def test_at_most_max_pending_exports_per_user(default_survey, people, settings):  # type: ignore[no-untyped-def]
    settings.EXPORT_MAX_PENDING = 3
    for fmt in ("sav", "dta", "xlsx"):
        assert _request(people.viewer, default_survey, format=fmt).status_code == 302
    refused = _request(people.viewer, default_survey, format="csv")
    assert refused.status_code == 429
    assert "3 exports" in refused.content.decode()
    assert ExportJob.objects.filter(requested_by=people.viewer).count() == 3
    # Once one is finished, there is room again; other users are not affected.
    ExportJob.objects.filter(format="sav").update(status="done", file="x.zip")
    assert _request(people.viewer, default_survey, format="csv").status_code == 302
    assert _request(people.viewer2, default_survey, format="csv").status_code == 302
