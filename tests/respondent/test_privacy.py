"""What the site keeps about a respondent: a receipt shown once, answers they may delete, and
unsubmitted responses purged once their resume link has expired."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app
from config.tasks import RESPONSES_PURGE
from surveys.core.errors import ResponseAlreadySubmitted
from surveys.models import Answer, Response, ResponseTombstone
from surveys.respondent import services
from tests.respondent.helpers import page_form
from tests.surveys.helpers import Document, message, receipt_code, response_of, start, ui, url

DISCARDED = "Your answers have been deleted"


def _complete(client, token: str) -> object:  # type: ignore[no-untyped-def]
    for answers, action in (({"q_name": "Ada"}, "next"), ({}, "next"), ({}, "submit")):
        result = client.post(url(token), page_form(client, token, answers, action))
        assert result.status_code == 302
    return result


# 1. The receipt is shown once ----------------------------------------------------------------
@pytest.mark.django_db
def test_the_thanks_page_shows_the_receipt_once(client, survey):
    token = start(client, survey)
    done = _complete(client, token)
    first = client.get(done["Location"])
    assert first.status_code == 200
    assert receipt_code(first)
    again = client.get(done["Location"])
    assert again.status_code == 200
    assert 'id="receipt-code"' not in again.content.decode()
    assert ui("Thank you") in again.content.decode()


# 2. A respondent deletes their unsubmitted response ------------------------------------------
@pytest.mark.django_db
def test_a_respondent_deletes_their_unsubmitted_answers(client, survey):
    token = start(client, survey)
    client.post(url(token), page_form(client, token, {"q_name": "Ada"}, "next"))
    response = response_of(token)
    assert Answer.objects.filter(response=response).exists()
    page = client.get(url(token)).content.decode()
    assert 'value="discard"' in page
    asked = client.post(url(token), page_form(client, token, {"q_hobby": "Chess"}, "discard"))
    assert asked.status_code == 200
    # One click deletes nothing: the respondent confirms first.
    assert Response.objects.filter(pk=response.pk).exists()
    result = client.post(url(token), confirmation_form(asked), **{})
    assert result.status_code == 200
    assert ui(DISCARDED) in message(result) or ui(DISCARDED) in result.content.decode()
    assert not Response.objects.filter(pk=response.pk).exists()
    assert not Answer.objects.filter(response_id=response.pk).exists()
    assert ResponseTombstone.objects.filter(public_id=response.public_id).exists()
    assert client.get(url(token)).status_code == 404


@pytest.mark.django_db
def test_the_deletion_page_is_translated(client, survey):
    token = start(client, survey, HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = page_form(client, token, {}, "discard")
    asked = client.post(url(token), body, HTTP_ACCEPT_LANGUAGE="zh-hans")
    result = client.post(url(token), confirmation_form(asked), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert result.status_code == 200
    assert ui(DISCARDED, "zh-hans") != DISCARDED
    assert ui(DISCARDED, "zh-hans") in result.content.decode()


@pytest.mark.django_db
def test_declining_the_confirmation_keeps_every_answer(client, survey):
    token = start(client, survey)
    client.post(url(token), page_form(client, token, {"q_name": "Ada"}, "next"))
    response = response_of(token)
    asked = client.post(url(token), page_form(client, token, {}, "discard"))
    back = Document(asked.content.decode()).find("a", href=url(token))
    assert back, "the confirmation offers a way back to the survey"
    assert client.get(url(token)).status_code == 200
    assert Answer.objects.filter(response=response).exists()


def confirmation_form(asked: Any) -> dict[str, str]:
    """The body a browser sends when the respondent confirms the deletion."""
    form = Document(asked.content.decode()).find("form")
    assert form, "the deletion is confirmed on a page of its own"
    fields = {
        e["attrs"]["name"]: e["attrs"].get("value", "")
        for e in Document(asked.content.decode()).find("input", type="hidden")
    }
    fields.pop("csrfmiddlewaretoken", None)
    button = Document(asked.content.decode()).find("button", type="submit")
    return {**fields, "action": button[-1]["attrs"]["value"]}


@pytest.mark.django_db
def test_a_stale_deletion_form_deletes_nothing(client, survey):
    token = start(client, survey)
    old = page_form(client, token, {}, "discard")
    client.post(url(token), page_form(client, token, {"q_name": "Ada"}, "next"))
    assert client.post(url(token), old).status_code == 409
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_a_submitted_response_cannot_be_discarded(client, survey):
    token = start(client, survey)
    _complete(client, token)
    response = Response.objects.get()
    with pytest.raises(ResponseAlreadySubmitted):
        services.response_discard(response=response)
    assert Response.objects.filter(pk=response.pk).exists()


# 3. Unsubmitted responses are purged after their resume link expired -------------------------
def _expire(token: str) -> Response:
    response = response_of(token)
    Response.objects.filter(pk=response.pk).update(
        resume_expires_at=timezone.now() - timedelta(minutes=1)
    )
    return response


@pytest.mark.django_db
def test_responses_purge_deletes_expired_unsubmitted_responses(client, survey):
    old = start(client, survey)
    client.post(url(old), page_form(client, old, {"q_name": "Ada"}, "next"))
    expired = _expire(old)
    current = response_of(start(client.__class__(), survey))
    submitted = client.__class__()
    _complete(submitted, start(submitted, survey))
    out = StringIO()
    call_command("responses_purge", stdout=out)
    assert "1" in out.getvalue()
    assert not Response.objects.filter(pk=expired.pk).exists()
    assert not Answer.objects.filter(response_id=expired.pk).exists()
    assert Response.objects.filter(pk=current.pk).exists()
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 1


@pytest.mark.django_db
def test_responses_purge_is_off_with_the_setting(client, survey, settings):
    settings.EXPOSURE_PURGE_UNSUBMITTED = False
    expired = _expire(start(client, survey))
    call_command("responses_purge", stdout=StringIO())
    assert Response.objects.filter(pk=expired.pk).exists()


@pytest.mark.django_db
def test_the_purge_task_runs_by_its_name(client, survey, eager_celery):
    expired = _expire(start(client, survey))
    app.loader.import_default_modules()  # as a worker does before it consumes anything
    assert app.signature(RESPONSES_PURGE).apply_async().get() == 1
    assert not Response.objects.filter(pk=expired.pk).exists()


# 4. generate_responses analyses the tables on PostgreSQL only --------------------------------
@pytest.mark.django_db
def test_generate_responses_analyses_only_on_postgresql(survey):
    with CaptureQueriesContext(connection) as queries:
        call_command("generate_responses", survey=survey.slug, count=3, stdout=StringIO())
    analysed = [q["sql"] for q in queries.captured_queries if "ANALYZE" in q["sql"].upper()]
    if connection.vendor == "postgresql":
        assert any("surveys_response" in sql for sql in analysed)
        assert any("surveys_answer" in sql for sql in analysed)
    else:
        assert analysed == []
