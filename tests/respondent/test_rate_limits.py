"""Rate limits: starts count per address, pages per response; a limited page keeps its answers."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client, override_settings

from surveys.models import Response
from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    Document,
    checked,
    complete_default,
    page_title,
    post,
    response_of,
    selected,
    start,
    text,
    url,
)


def _address() -> str:
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.mark.django_db
@override_settings(EXPOSURE_RATE_LIMIT="5/600", EXPOSURE_RATE_LIMIT_PAGE="12/600")
def test_a_shared_address_is_not_stopped_mid_survey(default_survey):
    # Twenty colleagues behind one address (a university network, a carrier NAT): together they
    # send far more pages than any one of them, and each response gets its own page budget.
    address = _address()
    for _ in range(20):
        complete_default(Client(REMOTE_ADDR=address), default_survey)
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 20


@pytest.mark.django_db
@override_settings(EXPOSURE_RATE_LIMIT_PAGE="2/600")
def test_a_limited_page_is_shown_again_with_its_answers_and_the_resume_link(default_survey):
    address = _address()
    client = Client(REMOTE_ADDR=address)
    token = start(client, default_survey)
    assert post(client, token, DEFAULT_ANSWERS["about_you"], "save").status_code == 302
    assert post(client, token, DEFAULT_ANSWERS["about_you"], "save").status_code == 302
    changed = {**DEFAULT_ANSWERS["about_you"], "q_years_experience": "13", "q_country": "TW"}
    result = post(client, token, changed)
    assert result.status_code == 429
    assert page_title(result) == "About you and your work"
    doc = Document(result.content.decode())
    # What was just sent is on the page (not saved yet), and so is the private link.
    assert doc.find("input", name="q_years_experience")[0]["attrs"]["value"] == "13"
    assert selected(result) == {"q_occupation": ["2655"], "q_country": ["TW"]}
    assert checked(result, "q_income_band") == ["25k_50k"]
    assert f"http://testserver{url(token)}" in text(result)
    assert "sent pages faster than we accept" in text(result)
    # Nothing sent under the limit was written over the saved answers.
    stored = response_of(token).answers.get(question__code="years_experience")
    assert stored.number == 12
    # Another response from the same address is not affected.
    colleague = Client(REMOTE_ADDR=address)
    other = start(colleague, default_survey)
    assert post(colleague, other, DEFAULT_ANSWERS["about_you"]).status_code == 302


@pytest.mark.django_db
@override_settings(EXPOSURE_RATE_LIMIT_START="2/600")
def test_starting_is_limited_per_address(default_survey):
    address = _address()
    statuses = []
    for _ in range(6):  # a window boundary can reset the count once
        client = Client(REMOTE_ADDR=address)
        result = client.post(f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on"})
        statuses.append(result.status_code)
        if result.status_code == 429:
            break
    assert statuses[-1] == 429
    assert (
        Client(REMOTE_ADDR=_address())
        .post(f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on"})
        .status_code
        == 302
    )
