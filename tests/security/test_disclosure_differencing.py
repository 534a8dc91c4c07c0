"""The audited differencing tricks against the statistics API, one regression test each.

Each compares two answers a caller without raw access can get and checks that their difference
gives away no figure of fewer than k respondents; owners keep exact figures.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from surveys.models import Survey
from tests.security import disclosure_world as w

RESTRICTED = ["anonymous", "coder"]


@pytest.fixture
def world(default_survey: Survey) -> dict[str, Any]:
    return w.build(default_survey)


@pytest.fixture
def client_for(world: dict[str, Any]):  # type: ignore[no-untyped-def]
    made = w.clients(world)
    return made.__getitem__


@pytest.mark.parametrize("who", RESTRICTED)
def test_to_day_minus_to_previous_day_isolates_nobody(world, client_for, who):
    survey, client = world["survey"], client_for(who)
    for person in w.truth():
        day = person["day"]
        for variable in ("occupation", "employment_type"):
            query = f"variable={variable}"
            a = w.get(client, survey, f"{query}&to={day}")
            b = w.get(client, survey, f"{query}&to={day - timedelta(days=1)}")
            assert w.small_differences(a, b) == [], (who, day, variable)
            whole = w.get(client, survey, query)
            assert w.small_differences(whole, b) == [], (who, day, variable)


@pytest.mark.parametrize("who", RESTRICTED)
def test_windows_snap_to_whole_months(world, client_for, who):
    data = w.get(
        client_for(who), world["survey"], "variable=lost_work&from=2026-01-09&to=2026-02-03"
    )
    assert data["filters"]["from"] == "2026-01-01" and data["filters"]["to"] == "2026-02-28"
    assert data["disclosure"] == {**data["disclosure"], "exact": False, "period": "month"}


@pytest.mark.parametrize("who", RESTRICTED)
def test_a_window_counts_the_respondents_of_its_periods(world, client_for, who):
    # Eight respondents submitted in January, six in February (each at least k): a month's
    # table counts that month's respondents, and no window counts everyone.
    survey, client = world["survey"], client_for(who)
    months = {"from=2026-01-01&to=2026-01-31": 8, "from=2026-02-01&to=2026-02-28": 6, "": 14}
    for window, n in months.items():
        data = w.get(client, survey, f"variable=lost_work&{window}")
        assert data["n"] == n, window
        assert data["table"]["total"]["n"] + (data["table"]["missing"] or 0) == n, window


@pytest.mark.parametrize("who", RESTRICTED)
def test_a_language_restriction_isolates_nobody(world, client_for, who):
    survey, client = world["survey"], client_for(who)
    for variable in ("occupation", "employment_type", "lost_work"):
        whole = w.get(client, survey, f"variable={variable}")
        for language in ("en", "zh-hans"):
            part = w.get(client, survey, f"variable={variable}&language={language}")
            assert w.small_differences(whole, part) == [], (variable, language)


@pytest.mark.parametrize("who", RESTRICTED)
def test_a_filter_and_a_pair_of_filters_isolate_nobody(world, client_for, who):
    survey, client = world["survey"], client_for(who)
    base = "variable=occupation"
    one = w.get(client, survey, f"{base}&filter=lost_work:1")
    two = w.get(client, survey, f"{base}&filter=lost_work:1&filter=employment_type:staff")
    whole = w.get(client, survey, base)
    assert w.small_differences(whole, one) == []
    assert w.small_differences(one, two) == []


@pytest.mark.parametrize("who", RESTRICTED)
def test_n_minus_missing_gives_no_suppressed_total(world, client_for, who):
    survey, client = world["survey"], client_for(who)
    # Three of fourteen answered union_member: its total is suppressed.
    union = w.get(client, survey, "variable=union_member")
    assert union["table"]["total"]["suppressed"]
    published_n = [
        w.get(client, survey, f"variable={variable}")["n"] for variable in w.VARIABLES
    ] + [union["n"]]
    # n is the same figure in every table of these respondents: with it published anywhere,
    # the missing count must not be, or n - missing is the suppressed total.
    if any(n is not None for n in published_n):
        assert union["table"]["missing"] is None


@pytest.mark.parametrize("who", RESTRICTED)
def test_weighted_figures_do_not_solve_a_suppressed_cell(world, client_for, who):
    survey, client = world["survey"], client_for(who)
    data = w.get(
        client,
        survey,
        "variable=employment_type&weights=language&targets=en:0.5,zh-hans:0.5",
    )
    cells = data["table"]["cells"]
    assert any(cell["suppressed"] for cell in cells)
    for cell in cells:
        assert cell["weighted_n"] is None and cell["percent"] is None and cell["ci"] is None
    assert data["table"]["total"]["weighted_n"] is None
    assert data["table"]["weighted_withheld"] is True
    means = w.get(
        client,
        survey,
        "variable=years_experience&stat=mean&by=lost_work&weights=language"
        "&targets=en:0.5,zh-hans:0.5",
    )
    estimates = [means["table"]["overall"], *means["table"]["groups"]]
    for estimate in estimates:
        assert estimate["n_effective"] is None and estimate["ci"] is None


@pytest.mark.parametrize("who", RESTRICTED)
def test_only_complete_responses_for_restricted_callers(world, client_for, who):
    response = client_for(who).get(
        f"{w.API}/surveys/{world['survey'].slug}/statistics/?variable=lost_work&status=all"
    )
    assert response.status_code == 400
    assert "complete" in response.json()["status"][0]


def test_owner_keeps_exact_figures(world, client_for):
    survey, client = world["survey"], client_for("owner")
    people = w.truth()
    day = people[-1]["day"]
    data = w.get(client, survey, f"variable=lost_work&to={day - timedelta(days=1)}")
    assert data["disclosure"]["exact"] is True
    assert data["n"] == len(people) - 1
    assert data["filters"]["to"] == str(day - timedelta(days=1))
    union = w.get(client, survey, "variable=union_member")
    assert union["table"]["missing"] == sum(p["union_member"] is None for p in people)


def test_dashboard_for_a_role_without_raw_access_follows_the_same_rules(world):
    from surveys.statistics.dashboard import survey_dashboard

    survey = world["survey"]
    exact = survey_dashboard(survey=survey, language="en")
    assert exact.timeline.periods and exact.completion.in_progress == 0
    restricted = survey_dashboard(survey=survey, language="en", exact=False)
    # No day-by-day timeline (a day is a window of one respondent) and no in-progress count
    # (complete responses only); the number submitted, 14 >= k, stays.
    assert restricted.timeline.periods == []
    assert restricted.completion.in_progress is None and restricted.completion.started is None
    assert restricted.completion.complete == len(w.PEOPLE)
    assert any("raw responses" in note for note in restricted.notes)


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_roles_with_raw_access_get_exact_figures(world, role):
    from django.contrib.auth import get_user_model

    from surveys.models import SurveyRole
    from tests.api.helpers import token_client

    user = get_user_model().objects.create_user(f"exact-{role}", password="a long pass phrase 1")
    SurveyRole.objects.create(survey=world["survey"], user=user, role=role)
    data = w.get(token_client(user), world["survey"], "variable=lost_work&language=zh-hans")
    assert data["disclosure"]["exact"] is True
    assert data["n"] is None  # 4 < k: exact figures keep the table's own suppression
    union = w.get(token_client(user), world["survey"], "variable=union_member")
    assert union["table"]["missing"] == sum(p["union_member"] is None for p in w.truth())
