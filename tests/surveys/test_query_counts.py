"""How many queries a respondent's page costs: pinned, so that a change that adds some shows.

Counted inside the test's transaction, so the transaction of a page sent appears as a SAVEPOINT
and a RELEASE. The questionnaire (pages, questions, choices, rows) is read once per process and
survey version, so a page costs the response and its answers whatever the survey's size.
"""

from __future__ import annotations

import pytest

from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    DEFAULT_PAGES_SHOWN,
    post,
    response_of,
    start,
    url,
)

pytestmark = pytest.mark.django_db

GET_QUERIES = 2  # the response (with its survey) by resume link; its answers
# One transaction: SAVEPOINT, the response read and locked, its answers, INSERT this page's
# answers, UPDATE the response (time on the page, next page), RELEASE.
POST_QUERIES = 6


def _walk_to(client, survey, code: str) -> str:  # type: ignore[no-untyped-def]
    """A response standing on page `code` of the default survey, its questionnaire cached."""
    token = start(client, survey)
    client.get(url(token))
    for shown in DEFAULT_PAGES_SHOWN[: DEFAULT_PAGES_SHOWN.index(code)]:
        assert post(client, token, DEFAULT_ANSWERS[shown]).status_code == 302
    return token


@pytest.mark.parametrize("code", ["about_you", "exposure", "your_words"])
def test_showing_a_page(client, default_survey, django_assert_num_queries, code):
    token = _walk_to(client, default_survey, code)
    with django_assert_num_queries(GET_QUERIES):
        assert client.get(url(token)).status_code == 200


@pytest.mark.parametrize("code", ["about_you", "exposure", "your_words"])
def test_answering_a_page(client, default_survey, django_assert_num_queries, code):
    token = _walk_to(client, default_survey, code)
    with django_assert_num_queries(POST_QUERIES):
        assert post(client, token, DEFAULT_ANSWERS[code]).status_code == 302


def test_changing_answers_on_a_page_seen_before(client, default_survey, django_assert_num_queries):
    token = _walk_to(client, default_survey, "tools")
    assert post(client, token, {}, action="back").status_code == 302
    changed = {**DEFAULT_ANSWERS["about_you"], "q_employment_type": "staff"}
    # One UPDATE of the changed answers instead of the INSERT; unchanged ones are not written.
    with django_assert_num_queries(POST_QUERIES):
        assert post(client, token, changed).status_code == 302
    answers = response_of(token).answers
    assert answers.get(question__code="employment_type").choice == "staff"


def test_submitting_the_last_page(client, default_survey, django_assert_num_queries):
    token = _walk_to(client, default_survey, "final")
    # As any page, plus the ids of the free-text answers to classify (sent on commit), plus the
    # session row holding the receipt for the thank-you page (sessions are server-side: a key
    # check, then the insert in its savepoint), plus looking for the survey's analytics store,
    # plus moving the survey's data version on (one upsert).
    with django_assert_num_queries(POST_QUERIES + 1 + 4 + 1 + 1):
        result = post(client, token, DEFAULT_ANSWERS["final"], action="submit")
    assert result.status_code == 302 and "/thanks/" in result["Location"]


def test_submitting_the_last_page_writes_the_analytics_store(
    client, default_survey, django_assert_num_queries
):
    from surveys.analytics.services import analytics_rebuild

    analytics_rebuild(survey=default_survey)
    token = _walk_to(client, default_survey, "final")
    # With a store: its row (locked for share on PostgreSQL), the response's answers, one upsert;
    # then the data version's upsert and the store's change recorded at that version.
    with django_assert_num_queries(POST_QUERIES + 1 + 4 + 3 + 2):
        result = post(client, token, DEFAULT_ANSWERS["final"], action="submit")
    assert result.status_code == 302 and "/thanks/" in result["Location"]


def test_invalid_answers_keep_what_is_valid(client, default_survey, django_assert_num_queries):
    token = _walk_to(client, default_survey, "about_you")
    data = {**DEFAULT_ANSWERS["about_you"], "q_years_experience": "many"}
    # The same transaction, saving the valid answers and staying on the page.
    with django_assert_num_queries(POST_QUERIES):
        assert post(client, token, data).status_code == 400
    answers = response_of(token).answers
    assert answers.filter(question__code="occupation").exists()


def test_a_larger_survey_costs_no_more_queries(client, all_types_survey, django_assert_num_queries):
    token = start(client, all_types_survey)
    client.get(url(token))
    with django_assert_num_queries(GET_QUERIES):
        assert client.get(url(token)).status_code == 200


def test_the_first_view_after_a_change_reads_the_questionnaire_again(
    client, default_survey, django_assert_num_queries
):
    token = _walk_to(client, default_survey, "about_you")
    question = default_survey.questions.get(code="occupation")
    question.save()
    # Pages, questions, choices and matrix rows: one query each, once.
    with django_assert_num_queries(GET_QUERIES + 4):
        client.get(url(token))
    with django_assert_num_queries(GET_QUERIES):
        client.get(url(token))
