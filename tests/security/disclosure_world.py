"""A small public survey for the differencing tests: fourteen respondents over two months.

The truth is kept as plain dicts so that the tests compute every figure independently of the code
under test. k is 5 (the smallest allowed), so small groups are as easy to isolate as they get.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from surveys import reference
from surveys.models import Response, Survey, SurveyRole
from tests.api.helpers import API, respond, token_client

K = 5

# (employment, occupation index, language, lost work, union member or None, years, day)
PEOPLE = [
    ("staff", 0, "en", True, None, "3", date(2026, 1, 5)),
    ("staff", 0, "en", False, "yes", "7", date(2026, 1, 6)),
    ("staff", 1, "en", True, None, "12", date(2026, 1, 8)),
    ("freelance", 1, "zh-hans", True, None, "4", date(2026, 1, 9)),
    ("freelance", 0, "en", False, None, "20", date(2026, 1, 13)),
    ("agency", 2, "en", True, "no", "1", date(2026, 1, 14)),
    ("staff", 1, "zh-hans", False, None, "9", date(2026, 1, 20)),
    ("freelance", 2, "en", True, None, "15", date(2026, 1, 27)),
    ("staff", 0, "en", True, None, "6", date(2026, 2, 2)),
    ("freelance", 1, "zh-hans", False, None, "2", date(2026, 2, 3)),
    ("mixed", 0, "en", True, "yes", "11", date(2026, 2, 5)),
    ("staff", 2, "en", False, None, "8", date(2026, 2, 10)),
    ("freelance", 0, "zh-hans", True, None, "5", date(2026, 2, 12)),
    ("agency", 1, "en", False, None, "14", date(2026, 2, 16)),
]
VARIABLES = ["employment_type", "occupation", "lost_work", "language"]


def occupations() -> list[str]:
    return [o.isco for o in reference.occupations()][:3]


def truth() -> list[dict[str, Any]]:
    """Each respondent's codes, as the statistics API names variables and codes."""
    codes = occupations()
    return [
        {
            "employment_type": employment,
            "occupation": codes[occupation],
            "language": language,
            "lost_work": "1" if lost else "0",
            "union_member": union,
            "years_experience": float(years),
            "day": day,
        }
        for employment, occupation, language, lost, union, years, day in PEOPLE
    ]


def build(survey: Survey) -> dict[str, Any]:
    """Answer the survey as PEOPLE did, make its statistics public at k; users per role."""
    Survey.objects.filter(pk=survey.pk).update(public_statistics=True, min_cell_size=K)
    survey.refresh_from_db()
    for person in truth():
        answers: dict[str, Any] = {
            "occupation": person["occupation"],
            "employment_type": person["employment_type"],
            "country": "GB",
            "tools_used": ["none"],
            "exposure_matrix": {"rates_fallen": "3", "tools_help": "2"},
            "lost_work": person["lost_work"] == "1",
            "years_experience": str(int(person["years_experience"])),
        }
        if person["union_member"]:
            answers["union_member"] = person["union_member"]
        response = respond(survey, answers, language=person["language"])
        moment = datetime.combine(person["day"], datetime.min.time(), tzinfo=UTC).replace(hour=12)
        Response.objects.filter(pk=response.pk).update(submitted_at=moment, started_at=moment)
    User = get_user_model()
    users = {}
    for role in ("coder", "owner"):
        user = User.objects.create_user(f"disclosure-{role}", password="a long pass phrase 1")
        SurveyRole.objects.create(survey=survey, user=user, role=role)
        users[role] = user
    return {"survey": survey, "users": users}


def clients(world: dict[str, Any]) -> dict[str, APIClient]:
    return {
        "anonymous": token_client(address="203.0.113.7"),
        "coder": token_client(world["users"]["coder"]),
        "owner": token_client(world["users"]["owner"]),
    }


def get(client: APIClient, survey: Survey, query: str) -> dict[str, Any]:
    response = client.get(f"{API}/surveys/{survey.slug}/statistics/?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def figures(data: dict[str, Any]) -> dict[Any, float]:
    """Every published count of an answer, keyed by what it counts (None-valued ones left out)."""
    table = data["table"]
    found: dict[Any, float] = {}

    def put(key: Any, value: Any) -> None:
        if value is not None:
            found[key] = value

    put("n", data["n"])
    if data.get("weighting"):
        put("excluded", data["weighting"]["excluded"])
    put("missing", table.get("missing"))
    if table["kind"] == "frequency":
        put("total", table["total"]["n"])
        for cell in table["cells"]:
            put(("cell", cell["code"]), cell["n"])
            put(("weighted", cell["code"]), cell["weighted_n"])
    elif table["kind"] == "crosstab":
        put("total", table["total"]["n"])
        for line in table["cells"]:
            for cell in line:
                put(("cell", cell["row"], cell["col"]), cell["n"])
        for total in table["row_totals"]:
            put(("row", total["row"]), total["n"])
        for total in table["col_totals"]:
            put(("col", total["col"]), total["n"])
    else:
        put("total", table["overall"]["n"])
        for group in table["groups"]:
            put(("cell", group["code"]), group["n"])
    return found


def small_differences(a: dict[str, Any], b: dict[str, Any], k: int = K) -> list[Any]:
    """Figures published in both answers whose difference is between 1 and k - 1."""
    fa, fb = figures(a), figures(b)
    return [key for key in fa.keys() & fb.keys() if 0 < abs(fa[key] - fb[key]) < k]
