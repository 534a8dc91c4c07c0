"""Survey actions: roles through access.role_set, duplicate, open/close, respondent preview."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.models import Answer, AuditEntry, Response, Survey, SurveyRole
from tests.admin.conftest import ESCAPED, EVIL

pytestmark = pytest.mark.django_db


def test_owner_gives_changes_and_removes_roles_audited(survey, accounts):
    client = accounts.client("owner")
    url = reverse("admin:surveys_roles", args=[survey.pk])
    assert client.post(url, {"username": "stranger", "role": "viewer"}).status_code == 302
    assert SurveyRole.objects.get(survey=survey, user__username="stranger").role == "viewer"
    assert client.post(url, {"username": "stranger", "role": "editor"}).status_code == 302
    assert SurveyRole.objects.get(survey=survey, user__username="stranger").role == "editor"
    assert client.post(url, {"username": "stranger", "role": "none"}).status_code == 302
    assert not SurveyRole.objects.filter(survey=survey, user__username="stranger").exists()
    summaries = list(
        AuditEntry.objects.filter(survey=survey, action="role").values_list("summary", flat=True)
    )
    assert "stranger: none → viewer" in summaries
    assert "stranger: editor → none" in summaries


def test_last_owner_cannot_be_removed(survey, accounts):
    client = accounts.client("owner")
    url = reverse("admin:surveys_roles", args=[survey.pk])
    page = client.post(url, {"username": "owner", "role": "viewer"})
    assert page.status_code == 400
    assert "at least one owner" in page.content.decode()
    assert SurveyRole.objects.get(survey=survey, user__username="owner").role == "owner"


def test_unknown_account_and_role_are_clear_errors(survey, accounts):
    client = accounts.client("owner")
    url = reverse("admin:surveys_roles", args=[survey.pk])
    page = client.post(url, {"username": "<b>nobody</b>", "role": "viewer"})
    assert page.status_code == 400
    assert "&lt;b&gt;nobody&lt;/b&gt;" in page.content.decode()
    assert client.post(url, {"username": "stranger", "role": "king"}).status_code == 400


def test_editor_cannot_change_roles(survey, accounts):
    url = reverse("admin:surveys_roles", args=[survey.pk])
    response = accounts.client("editor").post(url, {"username": "stranger", "role": "owner"})
    assert response.status_code == 403
    assert not SurveyRole.objects.filter(user__username="stranger").exists()


def test_duplicate_copies_the_questionnaire_as_a_draft(survey, accounts):
    client = accounts.client("editor")
    url = reverse("admin:surveys_duplicate", args=[survey.pk])
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 302
    first = Survey.objects.get(slug=f"{survey.slug}-copy")
    second = Survey.objects.get(slug=f"{survey.slug}-copy-2")
    for copy in (first, second):
        assert copy.status == Survey.Status.DRAFT
        assert copy.questions.count() == survey.questions.count()
        assert copy.min_cell_size == survey.min_cell_size
        assert not copy.responses.exists()
        assert SurveyRole.objects.get(survey=copy).role == "owner"
    assert AuditEntry.objects.filter(survey=first, summary__startswith="Duplicated").exists()
    assert client.get(url).status_code == 405


def test_open_refuses_a_survey_with_problems(survey, accounts):
    client = accounts.client("owner")
    url = reverse("admin:surveys_status", args=[survey.pk])
    assert client.post(url, {"action": "close"}).status_code == 302
    survey.questions.filter(code="employment_type").first().choices.all().delete()
    page = client.post(url, {"action": "open"}, follow=True)
    survey.refresh_from_db()
    assert survey.status == Survey.Status.CLOSED
    assert "needs choices" in page.content.decode()
    assert AuditEntry.objects.filter(survey=survey, summary__startswith="Closed").count() == 1
    assert not AuditEntry.objects.filter(survey=survey, summary__startswith="Opened").exists()


def test_open_a_draft(accounts, survey):
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.DRAFT)
    url = reverse("admin:surveys_status", args=[survey.pk])
    assert accounts.client("editor").post(url, {"action": "open"}).status_code == 302
    survey.refresh_from_db()
    assert survey.status == Survey.Status.OPEN
    entry = AuditEntry.objects.get(survey=survey, summary__startswith="Opened")
    assert entry.actor_name == "editor" and entry.details == {"from": "draft", "to": "open"}


def test_preview_renders_every_page_of_a_draft_and_stores_nothing(survey, accounts):
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.DRAFT)
    client = accounts.client("viewer")
    url = reverse("admin:surveys_preview", args=[survey.pk])
    for number in range(1, survey.pages.count() + 1):
        page = client.get(url, {"page": number})
        assert page.status_code == 200
        assert "Nothing entered here is stored" in page.content.decode()
    chinese = client.get(url, {"page": 1, "lang": "zh-hans"}).content.decode()
    assert "关于您和您的工作" in chinese
    end = client.get(url, {"page": "end"})
    assert end.status_code == 200
    # A POST is validated like the respondent form (errors shown), and nothing is stored.
    invalid = client.post(f"{url}?page=1", {"action": "next"})
    assert invalid.status_code == 400
    moved = client.post(f"{url}?page=7", {"action": "next", "q_gained_work_text": "hi"})
    assert moved.status_code == 302 and "page=8" in moved["Location"]
    assert not Response.objects.exists() and not Answer.objects.exists()


def test_preview_says_nothing_is_saved_and_enter_goes_forward(survey, accounts):
    client = accounts.client("viewer")
    url = reverse("admin:surveys_preview", args=[survey.pk])
    saved = client.post(f"{url}?page=7", {"action": "save"})
    assert "Preview: nothing is saved, and no link is sent." in saved.content.decode()
    # What Enter sends (the form's default button has no action): the next page.
    moved = client.post(f"{url}?page=7", {"q_gained_work_text": "hi"})
    assert moved.status_code == 302 and "page=8" in moved["Location"]


def test_preview_escapes_survey_texts(survey, accounts):
    question = survey.questions.get(code="occupation")
    question.text = {"en": EVIL, "zh-hans": EVIL}
    question.condition = {"question": "x", "op": "equals", "value": EVIL}
    question.save()
    body = (
        accounts.client("owner")
        .get(reverse("admin:surveys_preview", args=[survey.pk]))
        .content.decode()
    )
    assert EVIL not in body
    assert ESCAPED in body
