"""The response browser (filters, search, answers with labels) and the dashboard's figures."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from surveys.models import Question
from tests.admin.conftest import ESCAPED, EVIL, code_responses, make_responses

pytestmark = pytest.mark.django_db

LIST = reverse("admin:surveys_response_changelist")


@pytest.fixture
def coded(survey):  # type: ignore[no-untyped-def]
    """12 responses: actors (4), designers (4), directors (4); risk mostly augmentation."""
    responses = make_responses(survey, 12)
    risk = ["augmentation"] * 9 + ["displaced"] * 3
    concerns = [["income", "likeness"]] * 11 + [["energy"]]
    code_responses(responses, risk, concerns)
    return responses


def _count(client, params):  # type: ignore[no-untyped-def]
    page = client.get(LIST, params)
    assert page.status_code == 200, params
    assert "?e=1" not in page.get("Location", "")
    return page.context["cl"].result_count


def test_filters(survey, accounts, coded):
    client = accounts.client("viewer")
    base = {"survey__id__exact": survey.pk}
    assert _count(client, base) == 12
    assert _count(client, {**base, "status__exact": "complete"}) == 12
    assert _count(client, {**base, "v_occupation": "2655"}) == 4
    assert _count(client, {**base, "v_country": "DE"}) == 6
    assert _count(client, {**base, "v_cls_change_text_displacement_risk": "displaced"}) == 3
    assert (
        _count(client, {**base, "v_cls_change_text_displacement_risk_review": "auto_coded"}) == 12
    )
    assert _count(client, {**base, "v_cls_protect_text_concerns_review": "needs_review"}) == 12
    assert (
        _count(client, {**base, "g_protect_text_concerns": "cls_protect_text_concerns_energy"}) == 1
    )
    day = coded[0].submitted_at
    assert (
        _count(
            client,
            {
                **base,
                "submitted_at__year": day.year,
                "submitted_at__month": day.month,
                "submitted_at__day": day.day,
            },
        )
        == 4
    )


def test_filter_lists_offer_labels(survey, accounts, coded):
    body = accounts.client("viewer").get(LIST, {"survey__id__exact": survey.pk}).content.decode()
    for label in ["Actors", "Germany", "Displaced", "Needs review", "Energy and cost"]:
        assert label in body


def test_search_by_public_id_and_answer_text(survey, accounts, coded):
    client = accounts.client("viewer")
    assert _count(client, {"q": coded[3].public_id}) == 1
    assert _count(client, {"q": '"number 7"'}) == 1
    assert _count(client, {"q": "cloning my voice"}) == 12


def test_response_detail_in_questionnaire_order_with_labels(survey, accounts, coded):
    response = coded[0]
    response.answers.filter(question__code="change_text").update(text=EVIL)
    page = accounts.client("viewer").get(
        reverse("admin:surveys_response_change", args=[response.pk])
    )
    body = page.content.decode()
    assert EVIL not in body and ESCAPED in body
    positions = [body.index(text) for text in ["Actors", "China", ESCAPED, "consent before"]]
    assert positions == sorted(positions)
    assert "Augmentation" in body  # the displacement-risk category
    assert "Income and rates, Likeness, voice and consent" in body
    assert "Needs review" in body


def test_dashboard_suppresses_small_cells(survey, accounts, coded):
    # k = 10: with 12 coded responses every occupation row (4 each) is under k.
    page = accounts.client("viewer").get(
        reverse("admin:surveys_dashboard", args=[survey.pk]),
        {"concerns": "protect_text:concerns"},
    )
    assert page.status_code == 200
    data = page.context["data"]
    table = data.risk
    assert table is not None and table.k == 10
    for row in table.rows:
        assert all(cell in ("0", "<10") for cell in row.cells), row
        assert row.total == "<10"
    body = page.content.decode()
    crosstab = body[
        body.index('class="crosstab"') : body.index("</table>", body.index('class="crosstab"'))
    ]
    # No published count between 1 and k - 1 anywhere in the cross-tab.
    assert not re.search(r'<td class="num[^"]*">[1-9]</td>', crosstab)
    assert "&lt;10" in crosstab
    concerns = {bar.code: bar for bar in data.concerns.bars}
    assert concerns["energy"].count == "<10" and concerns["energy"].suppressed
    # 11 of 12 would reveal the one response not naming income: complementary suppression.
    assert concerns["income"].count == "<10" and concerns["income"].percent is None
    assert concerns["copyright"].count == "0"
    assert data.completion.complete == 12
    assert data.completion.median_seconds is not None


def test_dashboard_publishes_cells_at_or_above_k(survey, accounts):
    responses = make_responses(survey, 30)
    code_responses(responses, ["augmentation"] * 30, [["income"]] * 30)
    page = accounts.client("owner").get(reverse("admin:surveys_dashboard", args=[survey.pk]))
    rows = {row.label: row for row in page.context["data"].risk.rows}
    assert rows["Performing arts"].total == "10"
    columns = [code for code, _label in page.context["data"].risk.columns]
    assert rows["Performing arts"].cells[columns.index("augmentation")] == "10"
    assert page.context["data"].risk.total == "30"
    concerns = {bar.code: bar for bar in page.context["data"].concerns.bars}
    assert concerns["income"].count == "30" and concerns["income"].percent == 100.0


def test_dashboard_escapes_survey_texts_and_labels(survey, accounts, coded):
    Question.objects.filter(survey=survey, code="change_text").update(
        text={"en": EVIL, "zh-hans": EVIL}
    )
    survey.title = {"en": EVIL, "zh-hans": EVIL}
    survey.save()
    body = (
        accounts.client("viewer")
        .get(reverse("admin:surveys_dashboard", args=[survey.pk]))
        .content.decode()
    )
    assert EVIL not in body
    assert ESCAPED in body


def test_dashboard_without_responses(survey, accounts):
    page = accounts.client("viewer").get(reverse("admin:surveys_dashboard", args=[survey.pk]))
    assert page.status_code == 200
    assert "No responses yet" in page.content.decode()


def test_response_list_escapes_answers_in_search_results(survey, accounts, coded):
    coded[0].answers.filter(question__code="change_text").update(text=EVIL)
    body = accounts.client("viewer").get(LIST, {"q": "script"}).content.decode()
    assert EVIL not in body
