"""Raw responses: cursor pagination, values keyed by variable name, incremental sync."""

from __future__ import annotations

from typing import Any

from surveys.models import Page, Response
from surveys.respondent import services
from tests.api.helpers import API, respond


def _all_pages(client, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        results += body["results"]
        if not body["next"]:
            return results
        response = client.get(body["next"])


def test_cursor_pagination_walks_every_response_once(owner_client, default_survey):
    made = [
        respond(default_survey, {"employment_type": "staff", "country": "GB"}) for _ in range(7)
    ]
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    first = owner_client.get(url, {"page_size": 3}).json()
    assert len(first["results"]) == 3 and first["next"] and first["previous"] is None
    seen = _all_pages(owner_client, url, {"page_size": 3})
    assert [r["id"] for r in seen] == [r.public_id for r in made]  # oldest change first
    stamps = [r["updated_at"] for r in seen]
    assert stamps == sorted(stamps)
    one = seen[0]
    assert set(one) == {
        "id", "language", "status", "started_at", "submitted_at", "updated_at", "values"
    }  # fmt: skip
    assert one["status"] == "complete" and one["submitted_at"]
    values = one["values"]
    assert values["employment_type"] == "staff" and values["country"] == "GB"
    assert values["tools_used_runway"] is None and values["years_experience"] is None
    assert "cls_change_text_displacement_risk" in values  # provider variables come along


def test_values_of_every_type(populated, owner_client, default_survey):
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    rows = {r["id"]: r for r in _all_pages(owner_client, url, {"page_size": 25})}
    assert len(rows) == len(populated)
    for person in populated:
        values = rows[person["response"].public_id]["values"]
        answers = person["answers"]
        assert values["lost_work"] == ("1" if answers["lost_work"] else "0")
        assert values["exposure_matrix_rates_fallen"] == answers["exposure_matrix"]["rates_fallen"]
        if "years_experience" in answers:
            assert values["years_experience"] == float(answers["years_experience"])
        if "tools_used" in answers:
            assert values["tools_used_kling"] == int("kling" in answers["tools_used"])
        assert values["cls_change_text_displacement_risk"] == person["displacement"]
        assert values["change_text"] == answers["change_text"]


def test_incremental_sync(owner_client, default_survey):
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    for _ in range(4):
        respond(default_survey, {"employment_type": "freelance"})
    pending = respond(default_survey, {"employment_type": "staff"}, complete=False)

    first = _all_pages(owner_client, url, {"page_size": 2, "status": "all"})
    assert len(first) == 5
    since = max(r["updated_at"] for r in first)
    assert owner_client.get(url, {"updated_since": since, "status": "all"}).json()["results"] == []

    # The respondent comes back and changes an answer: only that response syncs.
    page = Page.objects.get(survey=default_survey, code="about_you")
    services.response_save_page(
        response=pending, page=page, values={"employment_type": services.PageValue("agency")}
    )
    again = owner_client.get(url, {"updated_since": since, "status": "all"}).json()["results"]
    assert [r["id"] for r in again] == [pending.public_id]
    assert again[0]["values"]["employment_type"] == "agency"
    assert again[0]["status"] == "in_progress"

    # Complete responses only (the default): it appears once it is submitted.
    since = again[0]["updated_at"]
    assert owner_client.get(url, {"updated_since": since}).json()["results"] == []
    services.response_complete(response=Response.objects.get(pk=pending.pk))
    done = owner_client.get(url, {"updated_since": since}).json()["results"]
    assert [(r["id"], r["status"]) for r in done] == [(pending.public_id, "complete")]


def test_only_this_survey_s_responses(owner_client, default_survey, all_types_survey_for_api):
    respond(default_survey, {"employment_type": "staff"})
    respond(all_types_survey_for_api, {"pet": "cat"})
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    assert len(owner_client.get(url).json()["results"]) == 1
