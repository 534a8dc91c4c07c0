"""Page posts are bound to the page they were rendered for.

Each test replays, through HTTP, what a browser sends on a double click or a back-button
resubmit: the same form body again, taken from the page as it was rendered.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from surveys.core import tokens
from surveys.models import Answer, Response
from surveys.signals import response_completed
from tests.respondent.helpers import notice, page_form, rendered_form
from tests.surveys.helpers import (
    document,
    page_title,
    receipt_code,
    response_of,
    start,
    ui,
    url,
)

STALE_NOTICE = "That form was out of date, so it was not saved. This is the page you are on now."


# The page carries its identity ---------------------------------------------------------------
@pytest.mark.django_db
def test_every_page_form_carries_its_page_and_version(client, survey):
    token = start(client, survey)
    fields = rendered_form(client.get(url(token)))
    response = response_of(token)
    assert fields["page"] == str(survey.pages.get(code="first").pk)
    assert fields["version"] == str(response.page_version)
    client.post(url(token), {**fields, "q_name": "Ada", "action": "next"})
    after = rendered_form(client.get(url(token)))
    assert after["page"] == str(survey.pages.get(code="second").pk)
    assert after["version"] != fields["version"]


# 1. A double click on Next -------------------------------------------------------------------
@pytest.mark.django_db
def test_double_click_on_next_does_not_skip_the_next_page(client, survey):
    token = start(client, survey)
    body = page_form(client, token, {"q_name": "Ada"}, "next")
    first = client.post(url(token), body)
    saved = Answer.objects.get(question__code="name")
    second = client.post(url(token), body)
    # Answered as the first was: on to the next page, nothing saved again, nothing skipped.
    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == first["Location"] == url(token)
    shown = client.get(url(token))
    assert page_title(shown) == "Second"
    assert notice(shown) == ""
    response = response_of(token)
    assert "second" not in response.page_seconds
    assert Answer.objects.get(question__code="name").updated_at == saved.updated_at
    assert response.status == Response.Status.IN_PROGRESS


# 2. A back-button resubmit of page 1 on page 2 -----------------------------------------------
@pytest.mark.django_db
def test_back_button_resubmit_keeps_the_answers_of_the_current_page(client, survey):
    token = start(client, survey)
    page_one = page_form(client, token, {"q_name": "Ada"}, "next")
    assert client.post(url(token), page_one).status_code == 302
    page_two = page_form(client, token, {"q_hobby": "Chess"}, "save")
    assert client.post(url(token), page_two).status_code == 302
    # The browser's Back shows page 1 as it was rendered; the respondent edits it and sends it.
    resubmit = client.post(url(token), {**page_one, "q_name": "Grace"})
    assert resubmit.status_code == 409
    assert page_title(resubmit) == "Second"
    assert notice(resubmit) == ui(STALE_NOTICE)
    answers = dict(Answer.objects.values_list("question__code", "text"))
    assert answers == {"name": "Ada", "hobby": "Chess"}
    # The current page is shown as stored, with a form for it: sending that one works.
    assert rendered_form(resubmit)["page"] == str(survey.pages.get(code="second").pk)
    assert document(resubmit).by_id("q_hobby")["attrs"]["value"] == "Chess"
    again = client.post(url(token), {**rendered_form(resubmit), "q_hobby": "Go", "action": "next"})
    assert again.status_code == 302
    assert page_title(client.get(url(token))) == "Third"


@pytest.mark.django_db
def test_stale_notice_is_translated(survey):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    token = start(client, survey)
    page_one = page_form(client, token, {"q_name": "Ada"}, "next")
    client.post(url(token), page_one)
    resubmit = client.post(url(token), {**page_one, "q_name": "Grace"})
    assert resubmit.status_code == 409
    chinese = ui(STALE_NOTICE, "zh-hans")
    assert chinese != STALE_NOTICE
    assert notice(resubmit) == chinese


# 3. A double submit of the second-to-last page, then of the last page -------------------------
@pytest.mark.django_db
def test_double_submit_of_the_second_to_last_page_does_not_complete(client, survey):
    token = start(client, survey)
    client.post(url(token), page_form(client, token, {"q_name": "Ada"}, "next"))
    body = page_form(client, token, {"q_hobby": "Chess"}, "next")
    assert client.post(url(token), body).status_code == 302
    second = client.post(url(token), body)
    assert second.status_code == 302 and second["Location"] == url(token)
    assert response_of(token).status == Response.Status.IN_PROGRESS
    assert page_title(client.get(url(token))) == "Third"


@pytest.mark.django_db
def test_double_submit_of_the_last_page_completes_once(
    client, survey, django_capture_on_commit_callbacks
):
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append(kwargs)

    token = start(client, survey)
    client.post(url(token), page_form(client, token, {"q_name": "Ada"}, "next"))
    client.post(url(token), page_form(client, token, {"q_hobby": "Chess"}, "next"))
    body = page_form(client, token, {"q_last": "Bye"}, "submit")
    response_completed.connect(receiver, dispatch_uid="test-binding-receiver")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = client.post(url(token), body)
        code = receipt_code(client.get(first["Location"]))
        with django_capture_on_commit_callbacks(execute=True):
            second = client.post(url(token), body)
    finally:
        response_completed.disconnect(dispatch_uid="test-binding-receiver")
    thanks = f"/s/{survey.slug}/thanks/"
    assert (first.status_code, first["Location"]) == (302, thanks)
    assert (second.status_code, second["Location"]) == (302, thanks)
    assert len(received) == 1
    # The receipt shown first still stands, and is not shown again.
    assert 'id="receipt-code"' not in client.get(thanks).content.decode()
    stored = Response.objects.get()
    assert stored.receipt_hash == tokens.token_hash(code, purpose=tokens.RECEIPT)
    assert stored.status == Response.Status.COMPLETE
    # A post the respondent did not send twice (another body) still learns it was submitted.
    assert client.post(url(token), {**body, "q_last": "Other"}).status_code == 409
