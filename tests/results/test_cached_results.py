"""The results page's tables come from the statistics cache, and a submission moves them on."""

from __future__ import annotations

from typing import Any

from surveys.models import Survey
from tests.api.helpers import respond


def _json(client: Any, survey: Survey) -> dict[str, Any]:
    answer = client.get(f"/results/{survey.slug}/data.json?lang=en")
    assert answer.status_code == 200
    return answer.json()


def _lost_work(data: dict[str, Any]) -> dict[str, Any]:
    return next(t["statistics"] for t in data["tables"] if t["key"] == "lost_work")


def test_a_submission_shows_on_the_page_at_once(
    client, published: Survey, statistics_cache, settings
) -> None:
    first = _json(client, published)
    assert statistics_cache._cache  # the tables were kept
    assert _json(client, published) == first  # and answered again from the cache
    for _ in range(10):  # k of them: the published figures move by whole atoms
        respond(published, {"lost_work": True})
    after = _json(client, published)
    assert _lost_work(after)["n"] == _lost_work(first)["n"] + 10
    settings.EXPOSURE_STATISTICS_CACHE_SECONDS = 0
    assert _json(client, published) == after  # what computing it afresh gives


def test_the_page_csv_and_json_are_rendered_once_per_data_version(
    published: Survey, statistics_cache, settings
) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    urls = [f"/results/{published.slug}/{path}?lang=zh-hans" for path in ("", "data.json")]
    urls.append(f"/results/{published.slug}/lost_work-by-employment_type.csv?lang=en")
    first = [Client().get(url) for url in urls]
    assert [r.status_code for r in first] == [200, 200, 200]
    with CaptureQueriesContext(connection) as queries:
        again = [Client().get(url) for url in urls]
    # Whole, frame included: the page holds nothing of its visitor (no form token).
    assert [r.content for r in again] == [r.content for r in first]
    # From the cache: the survey and its data version are read, no statistic is counted.
    assert not [q for q in queries.captured_queries if "GROUP BY" in q["sql"].upper()]

    for _ in range(10):  # a submission moves the version on: every part is made again
        respond(published, {"lost_work": True})
    after = [Client().get(url) for url in urls]
    assert after[1].content != first[1].content
    assert after[2].content != first[2].content
    assert after[0].content != first[0].content
    settings.EXPOSURE_STATISTICS_CACHE_SECONDS = 0  # what rendering afresh gives
    fresh = [Client().get(url) for url in urls]
    assert [r.content for r in fresh] == [r.content for r in after]


def test_a_table_not_chosen_is_not_found_and_not_kept(published: Survey, statistics_cache) -> None:
    from django.test import Client

    assert Client().get(f"/results/{published.slug}/nothing-by-this.csv").status_code == 404
    assert not [key for key in statistics_cache._cache if "results" in key]
