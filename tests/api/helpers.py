"""Building responses through the real services, and the population the statistics tests use.

The population is described as plain Python dicts first (the "truth"), so that the tests compute
expected figures from these dicts, independently of the database and of the code under test.
"""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from surveys.models import Page, Response, Survey
from surveys.respondent import services

API = "/api/v1"


def respond(
    survey: Survey, answers: dict[str, Any], *, language: str = "en", complete: bool = True
) -> Response:
    """One respondent through the form services: start, save each page's answers, submit."""
    response, _token = services.response_start(survey=survey, language=language)
    for page in Page.objects.filter(survey=survey).order_by("position"):
        codes = set(page.questions.values_list("code", flat=True))
        values = {
            code: services.PageValue(value) for code, value in answers.items() if code in codes
        }
        if values:
            response = services.response_save_page(
                response=response, page=page, values=values, seconds=30
            )
    if complete:
        services.response_complete(response=response)
    response.refresh_from_db()
    return response


# Employment type by lost work, chosen so that a 2-way table needs complementary suppression
# (a line with exactly one small cell) at the default k of 10.
CROSS = {
    (True, "staff"): 12,
    (True, "freelance"): 14,
    (True, "agency"): 3,
    (False, "staff"): 15,
    (False, "freelance"): 10,
    (False, "mixed"): 6,
}
COUNTRIES = ["CN"] * 24 + ["US"] * 20 + ["GB"] * 11 + ["DE"] * 3 + ["FR"] * 2
DISPLACEMENT = ["displaced", "substitution", "augmentation", "not-exposed"]


def population() -> list[dict[str, Any]]:
    """60 respondents' answers to the default survey (plus a language and a coding)."""
    pairs = [key for key, n in CROSS.items() for _ in range(n)]
    people = []
    for i, (lost, employment) in enumerate(pairs):
        country = COUNTRIES[i * 7 % 60]
        tools: list[str] | None
        if i % 10 == 9:
            tools = None  # skipped the question
        else:
            tools = [t for t, m in (("runway", 2), ("kling", 3)) if i % m == 0] or ["none"]
        answers: dict[str, Any] = {
            "employment_type": employment,
            "country": country,
            "lost_work": lost,
            "gained_work": i % 4 == 0,
            "outlook_5y": ["1", "2", "3", "4", "5", "6", "7", "na"][i % 8],
            "exposure_matrix": {"rates_fallen": str(i % 5 + 1), "tools_help": str(i % 3 + 1)},
            "change_text": f"Answer number {i} about my work.",
        }
        if i % 12 != 5:
            answers["years_experience"] = str(i % 31 + (i % 7) / 2)
        if tools is not None:
            answers["tools_used"] = tools
        people.append(
            {
                "answers": answers,
                "language": "zh-hans" if country == "CN" else "en",
                "displacement": DISPLACEMENT[i % 4] if i % 6 else None,
            }
        )
    return people


def token_client(user: Any = None, *, address: str = "192.0.2.10") -> APIClient:
    """An API client authenticated by `user`'s token (anonymous when no user)."""
    from surveys.core.apitokens import api_token_issue

    client = APIClient(REMOTE_ADDR=address)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user).token}")
    return client
