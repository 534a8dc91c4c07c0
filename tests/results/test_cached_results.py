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
