"""Bad input gets a clear message and a 4xx, never a 500; what was saved before stays saved."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from surveys.core.errors import (
    InvitationRequired,
    InvitationUsed,
    RateLimited,
    ResponseAlreadySubmitted,
    ResumeLinkExpired,
    ResumeLinkInvalid,
    SurveyClosed,
    SurveyNotFound,
)
from surveys.models import Answer, Response, Survey
from surveys.respondent.services import invitations_create
from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    DEFAULT_PAGES_SHOWN,
    complete_default,
    document,
    errors,
    message,
    page_title,
    post,
    response_of,
    start,
    text,
    ui,
    url,
)

CLOSED_MESSAGE = "This survey has closed. The answers you saved are kept. Thank you."
NUL_MESSAGE = "Null characters are not allowed."
ENCODING_MESSAGE = (
    "Your answer contains characters that could not be read (a broken text encoding). "
    "Please retype the affected part."
)


def _answer(token: str, code: str) -> Answer | None:
    return response_of(token).answers.filter(question__code=code).first()


def _at_your_words(client: Client, survey: Survey) -> str:
    token = start(client, survey)
    for code in DEFAULT_PAGES_SHOWN[: DEFAULT_PAGES_SHOWN.index("your_words")]:
        assert post(client, token, DEFAULT_ANSWERS[code]).status_code == 302
    return token


# Surveys that cannot be answered -----------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/s/no-such-survey/", "/s/no-such-survey/thanks/"])
def test_unknown_survey(client, path):
    result = client.get(path)
    assert result.status_code == 404
    assert message(result) == ui(str(SurveyNotFound.message))


@pytest.mark.django_db
def test_draft_survey_is_not_found(client, default_survey):
    default_survey.status = Survey.Status.DRAFT
    default_survey.save()
    for result in (
        client.get(f"/s/{default_survey.slug}/"),
        client.post(f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on"}),
    ):
        assert result.status_code == 404
        assert message(result) == ui(str(SurveyNotFound.message))
    assert Response.objects.count() == 0
    assert client.get("/").status_code == 200  # the home page lists nothing, it does not redirect


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"status": Survey.Status.CLOSED},
        {"closes_at": timezone.now() - timedelta(minutes=1)},
        {"opens_at": timezone.now() + timedelta(days=1)},
    ],
)
def test_closed_survey(client, default_survey, change):
    Survey.objects.filter(pk=default_survey.pk).update(**change)
    landing = client.get(f"/s/{default_survey.slug}/")
    assert landing.status_code == 200
    assert message(landing) == ui(str(SurveyClosed.message))
    assert not document(landing).find("input", name="consent")
    consent = client.post(f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on"})
    assert consent.status_code == 410
    assert message(consent) == ui(str(SurveyClosed.message))
    assert Response.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [{"status": Survey.Status.CLOSED}, {"closes_at": timezone.now() - timedelta(seconds=1)}],
)
def test_survey_closing_while_in_progress_keeps_answers(client, default_survey, change):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    Survey.objects.filter(pk=default_survey.pk).update(**change)
    for result in (client.get(url(token)), post(client, token, DEFAULT_ANSWERS["tools"])):
        assert 400 <= result.status_code < 500
        assert message(result) == ui(CLOSED_MESSAGE)
    response = Response.objects.get()
    assert response.status == Response.Status.IN_PROGRESS
    assert response.answers.count() == 6
    assert not response.answers.filter(question__code="tools_used").exists()


# Answers that do not fit -------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("q_employment_type", "boss", "Please choose one of the options shown."),
        ("q_employment_type", "<script>", "Please choose one of the options shown."),
        ("q_occupation", "9999", "Please choose one of the options shown."),
        ("q_country", "XX", "Please choose one of the options shown."),
        ("q_income_band", ["under_10k", "prefer_not"], None),  # two values for a single choice
    ],
)
def test_tampered_choice_codes(client, default_survey, field, value, expected):
    token = start(client, default_survey)
    result = post(client, token, {**DEFAULT_ANSWERS["about_you"], field: value})
    if expected is None:  # the last value wins, as for any form field
        assert result.status_code == 302
        assert _answer(token, "income_band").choice == "prefer_not"
        return
    assert result.status_code == 400
    assert ui(expected) in errors(result)
    assert _answer(token, field[2:]) is None
    assert _answer(token, "union_member").choice == "no"  # the valid answers were kept


@pytest.mark.django_db
def test_tampered_multiple_choice(client, default_survey):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    result = post(client, token, {"q_tools_used": ["sora", "hacked"], "q_tools_contact": ["none"]})
    assert result.status_code == 400
    assert ui("Please choose one of the options shown.") in errors(result)
    assert _answer(token, "tools_used") is None
    assert _answer(token, "tools_contact").choices == ["none"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("71", "Please enter a number between %(low)s and %(high)s."),
        ("-1", "Please enter a number between %(low)s and %(high)s."),
        ("many", "Please enter a number, for example 12."),
        ("NaN", "Please enter a number, for example 12."),
        ("Infinity", "Please enter a number, for example 12."),
        ("1e400", "Please enter a number, for example 12."),
        ("9" * 39, "Please enter a number, for example 12."),
        ("9" * 41, None),  # longer than the field allows: Django's own length message
        ("2.5", "Please enter a whole number."),
        ("2,5", "Please enter a whole number."),
    ],
)
def test_bad_numbers(client, default_survey, value, expected):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    post(client, token, {}, action="back")
    result = post(client, token, {**DEFAULT_ANSWERS["about_you"], "q_years_experience": value})
    assert result.status_code == 400
    shown = errors(result)
    assert len(shown) == 1
    if expected:
        assert shown == [ui(expected, low=0, high=70) if "%(low)s" in expected else ui(expected)]
    # The earlier, valid number stays saved and the bad value is shown back for correction.
    assert _answer(token, "years_experience").number == 12
    assert document(result).by_id("q_years_experience")["attrs"]["value"] == value


@pytest.mark.django_db
def test_very_long_text_names_the_limit_and_keeps_the_rest(client, default_survey):
    token = _at_your_words(client, default_survey)
    result = post(client, token, {"q_change_text": "x" * 100_000, "q_protect_text": "Unions."})
    assert result.status_code == 400
    assert errors(result) == [
        ui(
            "Please shorten your answer to at most %(limit)s characters (it has %(length)s).",
            limit="5,000",
            length="100,000",
        )
    ]
    assert _answer(token, "protect_text").text == "Unions."
    assert _answer(token, "change_text") is None
    ok = post(client, token, {"q_change_text": "x" * 5000, "q_protect_text": "Unions."})
    assert ok.status_code == 302
    assert len(_answer(token, "change_text").text) == 5000


@pytest.mark.django_db
def test_invalid_utf8_in_a_text_answer(client, default_survey):
    token = _at_your_words(client, default_survey)
    post(client, token, {"q_protect_text": "Contracts."}, action="save")
    body = "q_change_text=ok%FF%FEok&q_protect_text=Unions.&action=next"
    result = client.post(url(token), body, content_type="application/x-www-form-urlencoded")
    assert result.status_code == 400
    assert errors(result) == [ui(ENCODING_MESSAGE)]
    assert _answer(token, "change_text") is None
    assert _answer(token, "protect_text").text == "Unions."


@pytest.mark.django_db
def test_invalid_utf8_elsewhere(client, default_survey):
    token = start(client, default_survey)
    body = "q_occupation=%FF%FE&q_employment_type=staff&q_country=CN&action=next&%FF=%FE"
    result = client.post(url(token), body, content_type="application/x-www-form-urlencoded")
    assert result.status_code == 400
    assert ui("Please choose one of the options shown.") in errors(result)
    assert _answer(token, "employment_type").choice == "staff"
    # The "other" box of a choice question.
    body = "q_employment_type=other&q_employment_type__other=%C3%28&action=save"
    result = client.post(url(token), body, content_type="application/x-www-form-urlencoded")
    assert result.status_code == 400
    assert ui(ENCODING_MESSAGE) in errors(result)
    # Consent and withdrawal forms, and a broken resume token in the address.
    consent = client.post(
        f"/s/{default_survey.slug}/",
        "consent=%FF&adult=on&website=",
        content_type="application/x-www-form-urlencoded",
    )
    assert consent.status_code == 302
    withdraw = client.post(
        "/withdraw/", "receipt=%FF%FE&confirm=on", content_type="application/x-www-form-urlencoded"
    )
    assert withdraw.status_code == 400 and errors(withdraw)
    broken = client.get("/r/%FF%FE/")
    assert broken.status_code == 404
    assert message(broken) == ui(str(ResumeLinkInvalid.message))


@pytest.mark.django_db
def test_markup_is_stored_verbatim_and_shown_escaped(client, default_survey):
    token = _at_your_words(client, default_survey)
    markup = '<script>alert("x")</script><b onmouseover="steal()">bold</b> & \'quotes\''
    post(client, token, {"q_change_text": markup, "q_protect_text": markup}, action="save")
    assert _answer(token, "change_text").text == markup
    page = client.get(url(token))
    html = page.content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "<b onmouseover" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert document(page).by_id("q_change_text")["text"] == markup
    # In an "other, please specify" box (an attribute value) too, in a response of its own
    # (a second Start in the same browser would continue the first response).
    browser = Client()
    other = start(browser, default_survey)
    attribute = '"><script>alert(1)</script>'
    post(
        browser,
        other,
        {"q_employment_type": "other", "q_employment_type__other": attribute},
        action="save",
    )
    assert _answer(other, "employment_type").text == attribute
    shown = browser.get(url(other))
    assert "<script>alert(1)" not in shown.content.decode()
    assert document(shown).by_id("q_employment_type__other")["attrs"]["value"] == attribute


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("q_change_text", "before\x00after"),
        ("q_protect_text", "\x00"),
    ],
)
def test_nul_characters(client, default_survey, field, value):
    token = _at_your_words(client, default_survey)
    post(client, token, {"q_protect_text": "Saved."}, action="save")
    result = post(
        client, token, {"q_change_text": "Fine.", "q_protect_text": "Saved.", field: value}
    )
    assert result.status_code == 400
    assert ui(NUL_MESSAGE) in errors(result)
    assert _answer(token, "protect_text").text == "Saved."


@pytest.mark.django_db
def test_nul_characters_in_other_fields(client, default_survey):
    token = start(client, default_survey)
    data = {
        **DEFAULT_ANSWERS["about_you"],
        "q_employment_type": "other",
        "q_employment_type__other": "a\x00b",
        "q_years_experience": "1\x00",
    }
    result = post(client, token, data)
    assert result.status_code == 400
    assert errors(result).count(ui(NUL_MESSAGE)) == 2
    assert _answer(token, "country").choice == "CN"
    for bad in ({"q_country": "\x00"}, {"timer": "\x00"}, {"action": "next\x00"}):
        assert post(client, token, {**DEFAULT_ANSWERS["about_you"], **bad}).status_code < 500
    consent = client.post(
        f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on", "invitation": "\x00"}
    )
    assert consent.status_code < 500
    withdraw = client.post("/withdraw/", {"receipt": "\x00", "confirm": "on"})
    assert withdraw.status_code == 400


@pytest.mark.django_db
def test_tampered_action_still_enforces_required_answers(client, default_survey):
    token = start(client, default_survey)
    result = post(client, token, {"q_union_member": "no"}, action="skip-ahead")
    assert result.status_code == 400
    assert ui("Please answer this question.") in errors(result)
    assert response_of(token).current_page == 1
    assert _answer(token, "union_member").choice == "no"


# Links and tokens --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_replayed_resume_link_after_submission(client, default_survey):
    token = complete_default(client, default_survey)
    for replay in (Client().get(url(token)), Client().post(url(token), DEFAULT_ANSWERS["final"])):
        assert replay.status_code == 409
        assert message(replay) == ui(str(ResponseAlreadySubmitted.message))
    assert Response.objects.get().answers.filter(question__code="anything_else").get().text == "No."


@pytest.mark.django_db
def test_expired_resume_link(client, default_survey):
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    Response.objects.update(resume_expires_at=timezone.now() - timedelta(seconds=1))
    result = Client().get(url(token))
    assert result.status_code == 410
    assert message(result) == ui(str(ResumeLinkExpired.message))
    assert Response.objects.get().answers.count() == 6


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 65, "%00"])
def test_unknown_resume_link(client, default_survey, token):
    result = client.get(f"/r/{token}/")
    assert result.status_code == 404
    assert message(result) == ui(str(ResumeLinkInvalid.message))


@pytest.fixture
def invitation_survey(default_survey):
    default_survey.invitation_only = True
    default_survey.save()
    return default_survey


@pytest.mark.django_db
def test_invitation_only(client, invitation_survey):
    slug = invitation_survey.slug
    landing = client.get(f"/s/{slug}/")
    assert message(landing) == ui(str(InvitationRequired.message))
    assert not document(landing).find("input", name="consent")
    no_token = client.post(f"/s/{slug}/", {"consent": "on", "adult": "on"})
    assert no_token.status_code == 403
    assert message(no_token) == ui(str(InvitationRequired.message))
    forged = client.post(
        f"/s/{slug}/?invitation=forged", {"consent": "on", "adult": "on", "invitation": "forged"}
    )
    assert forged.status_code == 403
    assert Response.objects.count() == 0

    [token] = invitations_create(survey=invitation_survey, count=1)
    landing = client.get(f"/s/{slug}/?invitation={quote(token)}")
    hidden = document(landing).find("input", name="invitation")
    assert [e["attrs"]["value"] for e in hidden] == [token]
    start(
        client,
        invitation_survey,
        path=f"/s/{slug}/?invitation={quote(token)}",
        data={"invitation": token},
    )
    assert Response.objects.count() == 1

    used = Client().post(
        f"/s/{slug}/?invitation={quote(token)}",
        {"consent": "on", "adult": "on", "invitation": token},
    )
    assert used.status_code == 410
    assert message(used) == ui(str(InvitationUsed.message))
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_double_submit_of_the_last_page(client, default_survey):
    token = start(client, default_survey)
    for code in DEFAULT_PAGES_SHOWN[:-1]:
        post(client, token, DEFAULT_ANSWERS[code])
    first = post(client, token, DEFAULT_ANSWERS["final"], action="submit")
    second = post(client, token, DEFAULT_ANSWERS["final"], action="submit")
    assert first.status_code == 302
    assert second.status_code == 409
    assert message(second) == ui(str(ResponseAlreadySubmitted.message))
    assert Response.objects.filter(status=Response.Status.COMPLETE).count() == 1
    assert Response.objects.count() == 1


# Security token and rate limit -------------------------------------------------------------------
@pytest.mark.django_db
def test_csrf_failure_is_friendly(default_survey):
    strict = Client(enforce_csrf_checks=True)
    result = strict.post(f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on"})
    assert result.status_code == 403
    assert "This page was open for too long or your browser blocked a cookie" in message(result)
    assert Response.objects.count() == 0
    # With the token from the page, the same browser gets in.
    page = strict.get(f"/s/{default_survey.slug}/")
    csrf = document(page).find("input", name="csrfmiddlewaretoken")[0]["attrs"]["value"]
    ok = strict.post(
        f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on", "csrfmiddlewaretoken": csrf}
    )
    assert ok.status_code == 302


@pytest.mark.django_db
def test_csrf_failure_mid_survey_keeps_answers(default_survey):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(f"/s/{default_survey.slug}/")
    csrf = document(page).find("input", name="csrfmiddlewaretoken")[0]["attrs"]["value"]
    token = start(strict, default_survey, data={"csrfmiddlewaretoken": csrf})
    post(strict, token, {**DEFAULT_ANSWERS["about_you"], "csrfmiddlewaretoken": csrf})
    strict.cookies.clear()
    result = post(strict, token, {**DEFAULT_ANSWERS["tools"], "csrfmiddlewaretoken": csrf})
    assert result.status_code == 403
    assert "Answers you saved before are kept" in message(result)
    assert response_of(token).answers.count() == 6


@pytest.mark.django_db
@override_settings(EXPOSURE_RATE_LIMIT_START="3/60")
def test_rate_limit(default_survey, client_address):
    client = Client(REMOTE_ADDR=client_address)
    statuses = []
    for _ in range(8):  # a window boundary can reset the count once; 8 requests still exceed it
        client.cookies.clear()  # a new browser session: one Start per session makes a response
        result = client.post(f"/s/{default_survey.slug}/", {"consent": "on", "adult": "on"})
        statuses.append(result.status_code)
        if result.status_code == 429:
            break
    assert statuses[-1] == 429, statuses
    assert message(result) == ui(str(RateLimited.message))
    assert Response.objects.count() == len(statuses) - 1
    # Other clients are not affected.
    assert (
        Client(REMOTE_ADDR=client_address + "1").get(f"/s/{default_survey.slug}/").status_code
        == 200
    )


@pytest.mark.django_db
def test_rate_limit_on_pages_keeps_what_was_saved(default_survey, client_address, settings):
    client = Client(REMOTE_ADDR=client_address)
    token = start(client, default_survey)
    post(client, token, DEFAULT_ANSWERS["about_you"])
    settings.EXPOSURE_RATE_LIMIT_PAGE = "1/60"
    for _ in range(4):
        result = post(client, token, DEFAULT_ANSWERS["tools"])
        if result.status_code == 429:
            break
    assert result.status_code == 429
    response = response_of(token)
    assert response.answers.filter(question__code="occupation").exists()
    assert response.status == Response.Status.IN_PROGRESS
    assert page_title(client.get(url(token))) in {"Generative AI tools", "How you use these tools"}
    assert "Page" in text(client.get(url(token)))
