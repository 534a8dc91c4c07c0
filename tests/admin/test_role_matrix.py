"""Every admin page of the workbench against every role: who sees, who changes, who is refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.models import AuditEntry, Survey, SurveyRole
from tests.admin.conftest import make_responses

pytestmark = pytest.mark.django_db

WHO = ["anonymous", "stranger", "coder", "viewer", "editor", "owner", "superuser"]
READERS = {"viewer", "editor", "owner", "superuser"}
EDITORS = {"editor", "owner", "superuser"}
OWNERS = {"owner", "superuser"}


@pytest.fixture
def world(survey, accounts):  # type: ignore[no-untyped-def]
    responses = make_responses(survey, 3)
    AuditEntry.objects.create(survey=survey, survey_slug=survey.slug, action="export", summary="x")
    return {"survey": survey, "response": responses[0], "accounts": accounts}


def _expect_get(who: str, allowed: set[str], response, *, hidden_status: int = 403) -> None:  # type: ignore[no-untyped-def]
    if who == "anonymous":
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    elif who in allowed:
        assert response.status_code == 200, (who, response.status_code)
    else:
        assert response.status_code == hidden_status, (who, response.status_code)


@pytest.mark.parametrize("who", WHO)
def test_survey_changelist_lists_only_own_surveys(world, who):
    other = Survey.objects.create(slug="someone-elses", title={"en": "Other"}, languages=["en"])
    page = world["accounts"].client(who).get(reverse("admin:surveys_survey_changelist"))
    if who == "anonymous":
        assert page.status_code == 302
        return
    assert page.status_code == 200
    listed = {s.slug for s in page.context["cl"].result_list}
    assert (world["survey"].slug in listed) == (who in READERS)
    assert (other.slug in listed) == (who == "superuser")


@pytest.mark.parametrize("who", WHO)
def test_survey_change_view(world, who):
    url = reverse("admin:surveys_survey_change", args=[world["survey"].pk])
    page = world["accounts"].client(who).get(url)
    _expect_get(who, READERS, page, hidden_status=404)
    if who in READERS:
        body = page.content.decode()
        assert ('name="_save"' in body) == (who in EDITORS)
        assert ("Roles</a>" in body) == (who in OWNERS)
        assert ("Dashboard</a>" in body) == (who in READERS)


@pytest.mark.parametrize("who", ["viewer", "coder", "stranger"])
def test_survey_change_post_is_refused_without_edit_role(world, who):
    survey = world["survey"]
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    response = world["accounts"].client(who).post(url, {"slug": "hijacked"})
    assert response.status_code in (403, 404)
    survey.refresh_from_db()
    assert survey.slug != "hijacked"


@pytest.mark.parametrize("who", WHO)
def test_response_changelist(world, who):
    page = world["accounts"].client(who).get(reverse("admin:surveys_response_changelist"))
    _expect_get(who, READERS, page)
    if who in READERS:
        assert page.context["cl"].result_count == 3


@pytest.mark.parametrize("who", WHO)
def test_response_change_view_is_read_only(world, who):
    url = reverse("admin:surveys_response_change", args=[world["response"].pk])
    client = world["accounts"].client(who)
    page = client.get(url)
    _expect_get(who, READERS, page, hidden_status=404)
    if who in READERS:
        assert 'name="_save"' not in page.content.decode()
        assert client.post(url, {}).status_code == 403


@pytest.mark.parametrize("who", WHO)
def test_question_change_view(world, who):
    question = world["survey"].questions.get(code="occupation")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    page = world["accounts"].client(who).get(url)
    _expect_get(who, READERS, page, hidden_status=404)
    if who in READERS:
        assert ('name="_save"' in page.content.decode()) == (who in EDITORS)


@pytest.mark.parametrize("who", WHO)
def test_dashboard(world, who):
    url = reverse("admin:surveys_dashboard", args=[world["survey"].pk])
    _expect_get(who, READERS, world["accounts"].client(who).get(url))


@pytest.mark.parametrize("who", WHO)
def test_preview(world, who):
    url = reverse("admin:surveys_preview", args=[world["survey"].pk])
    _expect_get(who, READERS, world["accounts"].client(who).get(url))


@pytest.mark.parametrize("who", WHO)
def test_duplicate(world, who):
    url = reverse("admin:surveys_duplicate", args=[world["survey"].pk])
    response = world["accounts"].client(who).post(url)
    copies = Survey.objects.filter(slug__startswith=f"{world['survey'].slug}-copy")
    if who == "anonymous":
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    elif who in EDITORS:
        assert response.status_code == 302
        copy = copies.get()
        assert copy.status == Survey.Status.DRAFT
        assert SurveyRole.objects.get(survey=copy).user == world["accounts"].users[who]
    else:
        assert response.status_code == 403
    if who not in EDITORS:
        assert not copies.exists()


@pytest.mark.parametrize("who", WHO)
def test_open_close(world, who):
    survey = world["survey"]
    url = reverse("admin:surveys_status", args=[survey.pk])
    response = world["accounts"].client(who).post(url, {"action": "close"})
    survey.refresh_from_db()
    if who in EDITORS:
        assert response.status_code == 302
        assert survey.status == Survey.Status.CLOSED
        assert AuditEntry.objects.filter(survey=survey, summary__startswith="Closed").exists()
    else:
        assert response.status_code in (302, 403)
        assert survey.status == Survey.Status.OPEN


@pytest.mark.parametrize("who", WHO)
def test_roles_page(world, who):
    url = reverse("admin:surveys_roles", args=[world["survey"].pk])
    _expect_get(who, OWNERS, world["accounts"].client(who).get(url))


@pytest.mark.parametrize("who", WHO)
def test_audit_log(world, who):
    page = world["accounts"].client(who).get(reverse("admin:surveys_auditentry_changelist"))
    _expect_get(who, OWNERS, page)
    if who in OWNERS:
        assert page.context["cl"].result_count >= 1
        assert 'name="_save"' not in page.content.decode()


@pytest.mark.parametrize("who", WHO)
def test_role_list(world, who):
    page = world["accounts"].client(who).get(reverse("admin:surveys_surveyrole_changelist"))
    _expect_get(who, OWNERS, page)


@pytest.mark.parametrize("who", WHO)
def test_export_page(world, who):
    url = reverse("admin:surveys_export", args=[world["survey"].pk])
    _expect_get(who, READERS, world["accounts"].client(who).get(url))


def test_owner_of_another_survey_sees_only_their_audit_entries(world):
    mine = Survey.objects.create(slug="mine", title={"en": "Mine"}, languages=["en"])
    stranger = world["accounts"].users["stranger"]
    SurveyRole.objects.create(survey=mine, user=stranger, role="owner")
    AuditEntry.objects.create(survey=mine, survey_slug="mine", action="survey", summary="mine")
    page = world["accounts"].client("stranger").get(reverse("admin:surveys_auditentry_changelist"))
    assert {e.survey_slug for e in page.context["cl"].result_list} == {"mine"}
