"""The respondent's path: start page, consent, one page at a time, saving, thanks, withdrawal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from surveys.core.errors import ReceiptCodeInvalid
from surveys.models import Answer, Invitation, Response, Survey
from surveys.respondent.forms import ConsentForm
from surveys.signals import response_completed
from tests.factories import SurveyFactory
from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    DEFAULT_PAGES_SHOWN,
    checked,
    complete_default,
    document,
    errors,
    message,
    page_title,
    post,
    receipt_code,
    response_of,
    selected,
    start,
    text,
    timer,
    ui,
    url,
)

DEFAULT_TITLES = {
    "about_you": "About you and your work",
    "tools": "Generative AI tools",
    "tool_use": "How you use these tools",
    "exposure": "Your work and these tools",
    "impact": "The impact on your work so far",
    "loss_details": "Work or income you lost",
    "your_words": "In your own words",
    "final": "Anything else",
}


@pytest.fixture
def titles(default_definition) -> dict[str, str]:
    return {page["code"]: page["title"]["en"] for page in default_definition["pages"]}


# The start page ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_home_redirects_to_the_only_open_survey(client, default_survey):
    SurveyFactory(slug="a-draft", status=Survey.Status.DRAFT)
    SurveyFactory(slug="a-closed", status=Survey.Status.CLOSED)
    result = client.get("/")
    assert result.status_code == 302
    assert result["Location"] == f"/s/{default_survey.slug}/"


@pytest.mark.django_db
def test_home_lists_several_open_surveys(client, default_survey):
    SurveyFactory(slug="second", title={"en": "The second survey", "zh-hans": "第二个调查"})
    SurveyFactory(slug="ended", closes_at=timezone.now() - timedelta(days=1))
    result = client.get("/")
    assert result.status_code == 200
    links = [a["attrs"]["href"] for a in document(result).find("a") if "/s/" in a["attrs"]["href"]]
    assert links == [f"/s/{default_survey.slug}/", "/s/second/"]
    assert "The second survey" in text(result)


@pytest.mark.django_db
def test_home_without_open_surveys(client):
    SurveyFactory(status=Survey.Status.DRAFT)
    result = client.get("/")
    assert result.status_code == 200
    assert "/s/" not in result.content.decode()
    assert ui("No survey is open at the moment. Please come back later.") in text(result)


# Consent -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_landing_shows_consent_and_stores_nothing(client, default_survey, default_definition):
    result = client.get(f"/s/{default_survey.slug}/")
    assert result.status_code == 200
    page = text(result)
    assert default_definition["title"]["en"] in page
    assert "What this research is about" in page
    assert Response.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "missing"), [({"adult": "on"}, "consent"), ({"consent": "on"}, "adult"), ({}, "both")]
)
def test_consent_is_required(client, default_survey, data, missing):
    result = client.post(f"/s/{default_survey.slug}/", data)
    assert result.status_code == 400
    consent = str(ConsentForm.base_fields["consent"].error_messages["required"])
    adult = str(ConsentForm.base_fields["adult"].error_messages["required"])
    expected = {"consent": [consent], "adult": [adult], "both": [consent, adult]}[missing]
    assert errors(result) == expected
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_honeypot_rejects_and_stores_nothing(client, default_survey):
    result = client.post(
        f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on", "website": "http://spam"}
    )
    assert result.status_code == 400
    assert message(result) == ui("Your answers could not be accepted.")
    assert Response.objects.count() == 0


@pytest.mark.django_db
def test_honeypot_on_a_page_keeps_earlier_answers(client, default_survey):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    result = post(client, token, {**DEFAULT_ANSWERS["tools"], "website": "x"})
    assert result.status_code == 400
    response = response_of(token)
    assert response.answers.count() == 6
    assert not response.answers.filter(question__code="tools_used").exists()


PROGRESS = "Page %(number)s · %(percent)s%% done"


# One page at a time --------------------------------------------------------------------------
@pytest.mark.django_db
def test_full_walk_through_with_progress(client, default_survey, titles):
    token = start(client, default_survey)
    response = Response.objects.get()
    assert response.status == Response.Status.IN_PROGRESS
    total = len(DEFAULT_PAGES_SHOWN)
    # Of the longest path still open: it only grows going forward, whatever branches open.
    percents = [0, 11, 22, 33, 44, 55, 75, 87]
    for number, code in enumerate(DEFAULT_PAGES_SHOWN, start=1):
        page = client.get(url(token))
        assert page.status_code == 200
        assert page_title(page) == titles[code]
        progress = ui(PROGRESS, number=number, percent=percents[number - 1])
        assert progress in text(page)
        action = "submit" if number == total else "next"
        result = post(client, token, DEFAULT_ANSWERS[code], action)
        assert result.status_code == 302, errors(result)
    assert result["Location"] == f"/s/{default_survey.slug}/thanks/"
    response.refresh_from_db()
    assert response.status == Response.Status.COMPLETE
    answered = set(response.answers.values_list("question__code", flat=True))
    expected = {
        name[2:].split("__")[0] for code in DEFAULT_PAGES_SHOWN for name in DEFAULT_ANSWERS[code]
    }
    assert answered == expected
    assert response.answers.filter(question__code="exposure_matrix").count() == 7


@pytest.mark.django_db
def test_back_keeps_answers(client, default_survey, titles):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    # Back from page 2 with a half-filled page: nothing required is enforced, what was given kept.
    assert post(client, token, {"q_tools_contact": ["competing"]}, action="back").status_code == 302
    page = client.get(url(token))
    assert page_title(page) == titles["about_you"]
    assert selected(page) == {"q_occupation": ["2655"], "q_country": ["CN"]}
    assert document(page).by_id("q_years_experience")["attrs"]["value"] == "12"
    post(client, token, DEFAULT_ANSWERS["about_you"])
    assert checked(client.get(url(token)), "q_tools_contact") == ["competing"]


@pytest.mark.django_db
def test_save_and_resume_on_another_device(client, default_survey, titles):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    result = post(client, token, {"q_tools_used": ["sora"]}, action="save")
    assert result.status_code == 302
    shown = client.get(result["Location"])
    link = document(shown).find("input", class_="resume-link")
    assert [e["attrs"]["value"] for e in link] == [f"http://testserver/r/{token}/"]
    assert ui("Your answers are saved.") in text(shown)

    elsewhere = Client()
    resumed = elsewhere.get(f"/r/{token}/")
    assert resumed.status_code == 200
    assert page_title(resumed) == titles["tools"]
    assert checked(resumed, "q_tools_used") == ["sora"]
    assert post(elsewhere, token, DEFAULT_ANSWERS["tools"]).status_code == 302
    assert page_title(elsewhere.get(url(token))) == titles["tool_use"]


@pytest.mark.django_db
def test_thanks_shows_a_receipt_once(client, default_survey, default_definition):
    complete_default(client, default_survey)
    thanks = client.get(f"/s/{default_survey.slug}/thanks/")
    assert thanks.status_code == 200
    code = receipt_code(thanks)
    assert len(code) == 19 and code.count("-") == 3
    assert default_definition["thank_you_text"]["en"].split("\n")[0] in text(thanks)
    response = Response.objects.get()
    assert response.receipt_hash and code not in str(response.receipt_hash)
    assert Client().get(f"/s/{default_survey.slug}/thanks/").content.count(code.encode()) == 0


@pytest.mark.django_db
def test_completion_signal_is_sent_once_on_commit(
    client, default_survey, django_capture_on_commit_callbacks
):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    response_completed.connect(receiver, dispatch_uid="test-flow-receiver")
    try:
        token = start(client, default_survey)
        for code in DEFAULT_PAGES_SHOWN[:-1]:
            post(client, token, DEFAULT_ANSWERS[code])
        assert received == []
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            result = post(client, token, DEFAULT_ANSWERS["final"], action="submit")
            assert received == []  # not before the transaction commits
        assert result.status_code == 302
        assert len(callbacks) == 1
        # A second submit changes nothing and announces nothing.
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, token, DEFAULT_ANSWERS["final"], action="submit").status_code == 409
    finally:
        response_completed.disconnect(dispatch_uid="test-flow-receiver")
    response = Response.objects.get()
    classified = Answer.objects.filter(response=response, question__classify=True)
    assert len(received) == 1
    assert received[0]["response_id"] == response.pk
    assert received[0]["survey_id"] == default_survey.pk
    # Every answer with a text: the classify questions' and any "other, please specify" text.
    with_text = Answer.objects.filter(response=response).exclude(text="")
    assert sorted(received[0]["answer_ids"]) == sorted(with_text.values_list("pk", flat=True))
    assert set(classified.values_list("pk", flat=True)) <= set(received[0]["answer_ids"])
    assert {a.question.code for a in classified} == {"change_text", "protect_text"}


@pytest.mark.django_db
def test_withdraw_with_the_receipt_code(client, default_survey):
    complete_default(client, default_survey)
    code = receipt_code(client.get(f"/s/{default_survey.slug}/thanks/"))
    other = Client()
    complete_default(other, default_survey)
    assert Answer.objects.count() > 0

    wrong = client.post("/withdraw/", {"receipt": "0000-0000-0000-0000", "confirm": "on"})
    assert wrong.status_code == 400
    assert errors(wrong) == [ui(str(ReceiptCodeInvalid.message))]
    assert Response.objects.count() == 2

    unconfirmed = client.post("/withdraw/", {"receipt": code})
    assert unconfirmed.status_code == 400 and Response.objects.count() == 2

    # Typed by hand: lower case, spaces instead of dashes, O for 0.
    typed = code.lower().replace("-", " ").replace("0", "o")
    done = client.post("/withdraw/", {"receipt": typed, "confirm": "on"})
    assert done.status_code == 200
    assert Response.objects.count() == 1
    remaining = Response.objects.get()
    assert Answer.objects.exclude(response=remaining).count() == 0
    assert code not in text(client.get(f"/s/{default_survey.slug}/thanks/"))

    again = client.post("/withdraw/", {"receipt": code, "confirm": "on"})
    assert again.status_code == 400
    assert errors(again) == [ui(str(ReceiptCodeInvalid.message))]


# What is recorded ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_time_per_page_is_recorded(client, default_survey, monkeypatch):
    token = start(client, default_survey)
    real_now = timezone.now
    shown = real_now()  # the clock held still: a slow machine must not add its own seconds
    monkeypatch.setattr(timezone, "now", lambda: shown)
    signed = timer(client.get(url(token)))  # the page carries a signed timer
    monkeypatch.setattr(timezone, "now", lambda: shown + timedelta(seconds=42))
    post(client, token, {**DEFAULT_ANSWERS["about_you"], "timer": signed})
    monkeypatch.setattr(timezone, "now", real_now)
    assert response_of(token).page_seconds["about_you"] == 42

    signed = timer(client.get(url(token)))
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=5))
    post(client, token, {**DEFAULT_ANSWERS["tools"], "timer": signed})
    monkeypatch.setattr(timezone, "now", real_now)
    assert response_of(token).page_seconds["tools"] == 3600  # a break, capped at an hour

    # A forged timer is ignored rather than trusted.
    client.post(url(token), {"action": "next", "timer": "12345"})
    assert "tool_use" not in response_of(token).page_seconds


@pytest.mark.django_db
def test_timestamps_are_truncated_to_the_minute(client, default_survey):
    complete_default(client, default_survey)
    response = Response.objects.get()
    for moment in (response.started_at, response.submitted_at):
        assert moment.second == 0 and moment.microsecond == 0
    assert timezone.now() - response.submitted_at < timedelta(minutes=2)


@pytest.mark.django_db
def test_no_address_or_user_agent_is_stored(default_survey):
    agent = "Mozilla/5.0 (ExposureTestBrowser 9.9)"
    address = "203.0.113.77"
    client = Client(
        HTTP_USER_AGENT=agent, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR="198.51.100.23"
    )
    complete_default(client, default_survey)
    names = {field.name.lower() for field in Response._meta.get_fields()}
    for forbidden in (
        "ip",
        "address",
        "agent",
        "user_agent",
        "ip_address",
        "remote",
        "device",
        "email",
        "user",
        "session",
        "invitation",
    ):
        assert not any(forbidden == name or forbidden in name.split("_") for name in names), names
    response = Response.objects.get()
    stored = " ".join(
        str(getattr(response, f.attname)) for f in Response._meta.concrete_fields
    ) + " ".join(str(value) for answer in Answer.objects.values() for value in answer.values())
    for secret in (agent, "ExposureTestBrowser", address, "198.51.100.23"):
        assert secret not in stored


@pytest.mark.django_db
def test_invitation_is_not_linked_to_the_response(client):
    from surveys.respondent.services import invitations_create

    survey = SurveyFactory(invitation_only=True)
    from tests.factories import PageFactory, QuestionFactory

    QuestionFactory(page=PageFactory(survey=survey))
    [token] = invitations_create(survey=survey, count=1)
    start(client, survey, path=f"/s/{survey.slug}/?invitation={token}", data={"invitation": token})
    invitation = Invitation.objects.get()
    assert invitation.used_at is not None and invitation.used_at.second == 0
    assert token not in invitation.token_hash
    assert not any(f.related_model is Invitation for f in Response._meta.get_fields())
