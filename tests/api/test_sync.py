"""Incremental sync of raw responses: every row once, every change seen, withdrawals reported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.models import Page, Response, Survey
from surveys.respondent import services
from tests.api.helpers import API
from tests.factories import ResponseFactory

# A page walk that never ends must fail the test, not hang it.
MAX_PAGES = 200


def _walk(client: Any, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    response = client.get(url, params)
    for _ in range(MAX_PAGES):
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        results += body["results"]
        if not body["next"]:
            return results
        response = client.get(body["next"])
    raise AssertionError(f"still paging after {MAX_PAGES} pages ({len(results)} rows)")


def _bulk_load(survey: Survey, groups: list[int]) -> list[str]:
    """Complete responses whose updated_at is shared within each group (as after a bulk load)."""
    moment = timezone.now().replace(microsecond=0) - timedelta(days=1)
    made: list[str] = []
    for n, size in enumerate(groups):
        batch = ResponseFactory.create_batch(size, survey=survey, complete=True)
        ids = [r.pk for r in batch]
        Response.objects.filter(pk__in=ids).update(updated_at=moment + timedelta(seconds=n))
        made += [r.public_id for r in batch]
    return made


def test_a_bulk_load_sharing_one_updated_at_is_walked_once(owner_client, default_survey):
    made = _bulk_load(default_survey, [1_500])
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    seen = [r["id"] for r in _walk(owner_client, url, {"page_size": 100})]
    assert len(seen) == len(set(seen)) == 1_500
    assert set(seen) == set(made)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    groups=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=6),
    page_size=st.integers(min_value=1, max_value=7),
)
def test_pages_visit_every_row_exactly_once_whatever_the_ties(
    owner_client, default_survey, groups, page_size
):
    Response.objects.filter(survey=default_survey).delete()
    made = _bulk_load(default_survey, groups)
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    rows = _walk(owner_client, url, {"page_size": page_size})
    assert sorted(r["id"] for r in rows) == sorted(made)
    stamps = [r["updated_at"] for r in rows]
    assert stamps == sorted(stamps)  # oldest change first


def test_previous_links_walk_back_over_ties(owner_client, default_survey):
    _bulk_load(default_survey, [7, 5])
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    pages = [owner_client.get(url, {"page_size": 3}).json()]
    while pages[-1]["next"]:
        pages.append(owner_client.get(pages[-1]["next"]).json())
    assert [len(p["results"]) for p in pages] == [3, 3, 3, 3]
    back = owner_client.get(pages[-1]["previous"]).json()
    assert back["results"] == pages[-2]["results"]
    assert owner_client.get(back["previous"]).json()["results"] == pages[-3]["results"]


def test_an_empty_updated_since_is_refused(owner_client, default_survey):
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    response = owner_client.get(f"{url}?updated_since=")
    assert response.status_code == 400
    assert "updated_since" in response.json()


# --- withdrawals --------------------------------------------------------------------------------


def _respond_with_receipt(survey: Survey) -> tuple[Response, str]:
    response, _token = services.response_start(survey=survey, language="en")
    page = Page.objects.get(survey=survey, code="about_you")
    services.response_save_page(
        response=response, page=page, values={"employment_type": services.PageValue("staff")}
    )
    receipt = services.response_complete(response=response)
    response.refresh_from_db()
    return response, receipt


def _withdraw(receipt: str) -> None:
    answer = Client().post("/withdraw/", {"receipt": receipt, "confirm": "on"})
    assert answer.status_code == 200, answer.content[:300]


def test_withdrawn_responses_are_reported_as_deleted(owner_client, default_survey):
    kept, _ = _respond_with_receipt(default_survey)
    gone, receipt = _respond_with_receipt(default_survey)
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    deleted_url = f"{API}/surveys/{default_survey.slug}/responses/deleted/"
    synced = _walk(owner_client, url, {})
    assert {r["id"] for r in synced} == {kept.public_id, gone.public_id}
    assert _walk(owner_client, deleted_url, {}) == []

    _withdraw(receipt)
    assert [r["id"] for r in _walk(owner_client, url, {})] == [kept.public_id]
    tombstones = _walk(owner_client, deleted_url, {})
    assert [t["id"] for t in tombstones] == [gone.public_id]
    assert set(tombstones[0]) == {"id", "deleted_at"}

    # Incremental: nothing deleted since the last tombstone received.
    since = tombstones[0]["deleted_at"]
    assert _walk(owner_client, deleted_url, {"deleted_since": since}) == []
    before = (timezone.now() - timedelta(hours=1)).isoformat()
    assert len(_walk(owner_client, deleted_url, {"deleted_since": before})) == 1


def test_tombstones_stay_within_their_survey_and_role(
    client_of, default_survey, all_types_survey_for_api
):
    _gone, receipt = _respond_with_receipt(default_survey)
    _withdraw(receipt)
    deleted_url = f"{API}/surveys/{default_survey.slug}/responses/deleted/"
    assert len(_walk(client_of("viewer"), deleted_url, {})) == 1
    assert client_of("coder").get(deleted_url).status_code == 403
    assert client_of("other").get(deleted_url).status_code == 404
    assert client_of("anonymous").get(deleted_url).status_code == 401
    other_url = f"{API}/surveys/{all_types_survey_for_api.slug}/responses/deleted/"
    assert client_of("superuser").get(other_url).json()["results"] == []


@pytest.mark.parametrize("query", ["deleted_since=", "deleted_since=yesterday", "page_size=0"])
def test_bad_tombstone_queries(owner_client, default_survey, query):
    url = f"{API}/surveys/{default_survey.slug}/responses/deleted/?{query}"
    response = owner_client.get(url)
    assert response.status_code == 400, response.content[:300]
    assert query.partition("=")[0] in response.json()


# --- changes made by coders ---------------------------------------------------------------------


def test_a_coder_s_relabel_moves_the_response_into_the_next_sync(
    owner_client, default_survey, people
):
    from classifier.coding.services import classification_code
    from classifier.models import Classification, Codebook
    from classifier.training.codebooks import codebooks_install
    from surveys.models import Answer
    from tests.api.helpers import respond

    codebooks_install()
    response = respond(default_survey, {"change_text": "The studio let me go last spring."})
    answer = Answer.objects.get(response=response, question__code="change_text")
    row = Classification.objects.create(
        answer=answer,
        codebook=Codebook.objects.get(slug="displacement-risk"),
        status=Classification.Status.DONE,
        labels=["augmentation"],
        model_labels=["augmentation"],
        confidence=0.6,
        review_status=Classification.ReviewStatus.NEEDS_REVIEW,
    )
    url = f"{API}/surveys/{default_survey.slug}/responses/"
    first = _walk(owner_client, url, {})
    assert first[0]["values"]["cls_change_text_displacement_risk"] == "augmentation"
    since = first[0]["updated_at"]
    assert _walk(owner_client, url, {"updated_since": since}) == []

    classification_code(classification=row, coder=people.coder, labels=["displaced"])
    again = _walk(owner_client, url, {"updated_since": since})
    assert [r["id"] for r in again] == [response.public_id]
    assert again[0]["values"]["cls_change_text_displacement_risk"] == "displaced"
    assert again[0]["values"]["cls_change_text_displacement_risk_review"] == "reviewed"
