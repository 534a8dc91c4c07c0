"""Starting is idempotent per browser session: a second Start continues the first one's response.

Each test replays, through HTTP, what a browser sends on a double click or a second Start: the
same form body again, taken from the start page as it was rendered.
"""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from surveys.core import tokens
from surveys.models import Invitation, Response
from surveys.respondent.services import invitations_create
from tests.respondent.helpers import landing_form, page_form
from tests.surveys.helpers import page_title, start, url


# 4. A double click on Start ------------------------------------------------------------------
@pytest.mark.django_db
def test_second_start_with_an_invitation_continues_the_response(client, invited_survey):
    [invitation] = invitations_create(survey=invited_survey, count=1)
    path = f"/s/{invited_survey.slug}/?invitation={invitation}"
    body = landing_form(client, path)
    assert body["invitation"] == invitation
    first = client.post(path, body)
    second = client.post(path, body)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == first["Location"]
    assert Response.objects.count() == 1
    assert Invitation.objects.get().used_at is not None
    assert client.get(second["Location"]).status_code == 200


@pytest.mark.django_db
def test_second_start_without_an_invitation_continues_the_response(client, survey):
    path = f"/s/{survey.slug}/"
    token = start(client, survey)
    client.post(url(token), page_form(client, token, {"q_name": "Ada"}, "next"))
    again = client.post(path, landing_form(client, path))
    assert again.status_code == 302 and again["Location"] == url(token)
    assert Response.objects.count() == 1
    assert page_title(client.get(url(token))) == "Second"


@pytest.mark.django_db
def test_simultaneous_starts_from_one_rendered_page_make_one_response(invited_survey):
    # A double click sends the second Start before the first one's answer (and its cookie)
    # arrives: both carry the cookies and the form of one rendering of the start page.
    [invitation] = invitations_create(survey=invited_survey, count=1)
    path = f"/s/{invited_survey.slug}/?invitation={invitation}"
    browser = Client()
    body = landing_form(browser, path)
    in_flight = Client()
    in_flight.cookies = copy.deepcopy(browser.cookies)
    first = browser.post(path, body)
    second = in_flight.post(path, body)
    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == first["Location"]
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_start_after_completing_begins_a_new_response(client, survey):
    token = start(client, survey)
    for code, action in (("name", "next"), ("hobby", "next"), ("last", "submit")):
        client.post(url(token), page_form(client, token, {f"q_{code}": "x"}, action))
    assert (
        Response.objects.get(resume_hash=tokens.token_hash(token, purpose=tokens.RESUME)).status
        == Response.Status.COMPLETE
    )
    path = f"/s/{survey.slug}/"
    again = client.post(path, landing_form(client, path))
    assert again.status_code == 302 and again["Location"] != url(token)
    assert Response.objects.count() == 2


@pytest.mark.django_db
def test_other_browsers_start_their_own_responses(survey):
    path = f"/s/{survey.slug}/"
    for _ in range(2):
        browser = Client()
        assert browser.post(path, landing_form(browser, path)).status_code == 302
    assert Response.objects.count() == 2
    used = Invitation.objects.count()
    assert used == 0
