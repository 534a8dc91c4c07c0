"""The dashboard's internal view: owners and editors see every count; viewers stay suppressed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.admin.conftest import answer, code_responses, make_responses

pytestmark = pytest.mark.django_db


@pytest.fixture
def coded(survey):  # type: ignore[no-untyped-def]
    """12 responses: 4 per occupation group, risk 9 augmentation / 3 displaced; 3 name tools."""
    responses = make_responses(survey, 12)
    code_responses(
        responses, ["augmentation"] * 9 + ["displaced"] * 3, [["income"]] * 11 + [["energy"]]
    )
    for response in responses[:3]:
        answer(
            response,
            "tools_used",
            choices=["runway", "kling"] if response is responses[0] else ["runway"],
        )
    return responses


def _dashboard(accounts, role, survey):  # type: ignore[no-untyped-def]
    page = accounts.client(role).get(reverse("admin:surveys_dashboard", args=[survey.pk]))
    assert page.status_code == 200
    return page


@pytest.mark.parametrize("role", ["owner", "editor", "superuser"])
def test_owners_and_editors_see_every_count(survey, accounts, coded, role):  # type: ignore[no-untyped-def]
    page = _dashboard(accounts, role, survey)
    data = page.context["data"]
    assert not data.suppressed
    assert "Internal view" in page.content.decode()
    assert sorted(row.total for row in data.risk.rows) == ["4", "4", "4"]
    bars = {bar.code: bar for bar in data.concerns.bars}
    assert bars["energy"].count == "1" and not bars["energy"].suppressed
    assert bars["income"].count == "11"


def test_viewers_keep_the_published_suppression(survey, accounts, coded):  # type: ignore[no-untyped-def]
    page = _dashboard(accounts, "viewer", survey)
    data = page.context["data"]
    assert data.suppressed
    assert "Internal view" not in page.content.decode()
    assert all(row.total == "<10" for row in data.risk.rows)
    country = next(q for q in data.questions if q.name == "country")
    assert {share.count for share in country.shares} <= {"0", "<10"}


def test_a_frequency_table_for_every_closed_question(survey, accounts, coded):  # type: ignore[no-untyped-def]
    data = _dashboard(accounts, "owner", survey).context["data"]
    questions = {q.name: q for q in data.questions}
    country = {share.label: share for share in questions["country"].shares}
    assert country["Germany"].count == "6" and country["Germany"].percent == 50.0
    assert questions["country"].answered == "12"
    employment = questions["employment_type"]
    assert employment.answered == "0" and employment.unanswered == "12"
    tools = questions["tools_used"]
    assert tools.multiple and tools.answered == "3" and tools.unanswered == "9"
    shares = {share.label: share for share in tools.shares}
    runway = next(share for label, share in shares.items() if "Runway" in label)
    assert runway.count == "3" and runway.percent == 100.0
    # Free-text questions have no frequency table.
    assert "change_text" not in questions


def test_the_classifier_shares_with_their_review_status(survey, accounts, coded):  # type: ignore[no-untyped-def]
    data = _dashboard(accounts, "owner", survey).context["data"]
    risk = next(book for book in data.classifier if "Displaced" in {r.label for r in book.rows})
    rows = {row.label: row for row in risk.rows}
    assert rows["Augmentation"].total == "9" and rows["Augmentation"].percent == 75.0
    auto = risk.statuses.index("Auto-coded")
    assert rows["Displaced"].cells[auto] == "3"
    assert risk.total == "12"
    viewer = _dashboard(accounts, "viewer", survey).context["data"].classifier[0]
    assert {row.total for row in viewer.rows} <= {"0", "<10"}
