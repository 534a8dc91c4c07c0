"""Test mode: the preview follows skip logic, saves test responses, and they count nowhere."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from surveys.models import Answer, AuditEntry, Response, Survey, SurveyRole
from surveys.statistics.dashboard import survey_dashboard

pytestmark = pytest.mark.django_db

START = {"q_pet": "cat", "q_media": ["image"], "q_grid__r1": "3", "q_grid__r2": "4"}


def _client(survey: Survey, role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}-t", password="pw", is_staff=True)
    SurveyRole.objects.create(survey=survey, user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, survey: Survey, page: Any, data: dict[str, Any], action: str = "next"):  # type: ignore[no-untyped-def]
    url = reverse("admin:surveys_preview", args=[survey.pk]) + f"?page={page}&lang=en"
    return client.post(url, {**data, "action": action})


def _page_number(location: str) -> str:
    return location.split("page=")[1].split("&")[0]


def test_the_preview_follows_each_branch_and_saves_a_test_response(skip_logic_survey):
    survey = skip_logic_survey
    client = _client(survey, "editor")
    codes = [p.code for p in survey.pages.order_by("position")]
    # Paid: the pay page comes next.
    paid = _post(client, survey, 1, {**START, "q_paid": "yes"})
    assert paid.status_code == 302
    assert codes[int(_page_number(paid["Location"])) - 1] == "paid_page"
    # Back on page 1 and not paid: skip logic passes over the pay page (and the video page).
    client.post(reverse("admin:surveys_preview", args=[survey.pk]) + "?page=1", {"action": "x"})
    unpaid = _post(client, survey, 1, {**START, "q_paid": "no"})
    following = codes[int(_page_number(unpaid["Location"])) - 1]
    assert following not in ("paid_page", "video_page")
    test = Response.all_objects.get(survey=survey)
    assert test.is_test and test.status == Response.Status.IN_PROGRESS
    assert Answer.objects.get(response=test, question__code="pet").choice == "cat"
    # The banner says so, and the skipped pages are marked.
    body = client.get(unpaid["Location"]).content.decode()
    assert "Test mode" in body and test.public_id in body
    assert "skipped by skip logic" in body


def test_validation_is_the_respondents(skip_logic_survey):
    client = _client(skip_logic_survey, "owner")
    result = _post(client, skip_logic_survey, 1, {**START, "q_pet": "hamster"})
    assert result.status_code == 400
    assert not Response.all_objects.exists()


def _finish(client: Client, survey: Survey) -> Response:
    location = _post(client, survey, 1, {**START, "q_paid": "no"})["Location"]
    for _ in range(10):
        number = _page_number(location)
        if number == "end":
            break
        location = _post(client, survey, number, {}, action="next")["Location"]
    return Response.all_objects.get(survey=survey, status=Response.Status.COMPLETE)


def test_test_responses_stay_out_of_counts_api_and_exports(skip_logic_survey, settings):
    survey = skip_logic_survey
    client = _client(survey, "owner")
    test = _finish(client, survey)
    assert test.is_test
    assert not Response.objects.exists() and survey.responses.count() == 0
    completion = survey_dashboard(survey=survey, language="en", risk=None, concerns=None).completion
    assert (completion.started, completion.complete) == (0, 0)
    owner = get_user_model().objects.get(username="owner-t")
    api = Client()
    api.force_login(owner)
    listed = api.get(f"/api/v1/surveys/{survey.slug}/responses/", {"status": "complete"})
    assert listed.status_code == 200 and test.public_id not in listed.content.decode()
    streamed = api.get(f"/exports/survey/{survey.slug}/data.csv")
    assert streamed.status_code == 200
    rows = b"".join(streamed.streaming_content).decode().strip().splitlines()
    assert len(rows) == 1 and test.public_id not in rows[0]  # the header alone


def test_test_responses_are_deleted_in_one_audited_action(skip_logic_survey):
    survey = skip_logic_survey
    owner = _client(survey, "owner")
    _finish(owner, survey)
    viewer = _client(survey, "viewer")
    url = reverse("admin:surveys_delete_tests", args=[survey.pk])
    assert viewer.post(url).status_code == 403
    change = owner.get(reverse("admin:surveys_survey_change", args=[survey.pk])).content.decode()
    assert "Delete 1 test response(s)" in change
    assert owner.post(url).status_code == 302
    assert not Response.all_objects.filter(survey=survey).exists()
    entry = AuditEntry.objects.get(survey=survey, summary__startswith="Deleted 1 test")
    assert entry.actor_name == "owner-t" and entry.details == {"test_responses": 1}


def test_the_survey_list_action_deletes_test_responses(skip_logic_survey):
    survey = skip_logic_survey
    owner = _client(survey, "owner")
    _finish(owner, survey)
    result = owner.post(
        reverse("admin:surveys_survey_changelist"),
        {"action": "delete_test_responses", "_selected_action": [survey.pk]},
    )
    assert result.status_code == 302
    assert not Response.all_objects.filter(survey=survey).exists()
    assert AuditEntry.objects.filter(survey=survey, summary__startswith="Deleted 1 test").exists()


def test_viewers_preview_without_storing(skip_logic_survey):
    viewer = _client(skip_logic_survey, "viewer")
    result = _post(viewer, skip_logic_survey, 1, {**START, "q_paid": "yes"})
    assert result.status_code == 302
    assert not Response.all_objects.exists()


def test_a_survey_with_only_test_responses_says_why_it_cannot_be_deleted(skip_logic_survey):
    survey = skip_logic_survey
    owner = _client(survey, "owner")
    _finish(owner, survey)
    page = owner.get(reverse("admin:surveys_survey_delete", args=[survey.pk]))
    assert "has 1 test response(s): delete them on the survey" in page.content.decode()
