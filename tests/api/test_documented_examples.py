"""The statistics queries shown in surveys/api/README.md answer 200 as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.api.helpers import API

README = Path(__file__).resolve().parents[2] / "surveys" / "api" / "README.md"


def _documented_queries() -> list[str]:
    text = README.read_text(encoding="utf-8").replace("\\\n", "")  # join continued shell lines
    from_curl = re.findall(r"/statistics/\?([^\"\s]+)\"", text)
    inline = re.findall(r"`((?:variable|weights)=[^`\s]+)`", text)
    return from_curl + inline


QUERIES = _documented_queries()


def test_the_readme_shows_weighted_examples():
    assert len(QUERIES) >= 4
    assert sum("weights=" in query for query in QUERIES) >= 2


@pytest.mark.parametrize("query", QUERIES)
def test_documented_statistics_queries_answer(populated, owner_client, default_survey, query):
    answer = owner_client.get(f"{API}/surveys/{default_survey.slug}/statistics/?{query}")
    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert data["weighted"] == ("weights=" in query)
    if data["weighted"]:
        assert data["weighting"]["variable"] == re.search(r"weights=([^&]+)", query).group(1)
