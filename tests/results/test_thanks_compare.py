"""The thank-you page's comparison: the respondent's own closed answers, in that page only."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from surveys.models import Survey
from tests.results.conftest import TABLES
from tests.surveys.helpers import complete_default, receipt_code

pytestmark = pytest.mark.django_db


def _publish(survey: Survey) -> None:
    Survey.objects.filter(pk=survey.pk).update(public_statistics=True, results_tables=TABLES)


def _mine(html: str) -> dict[str, Any] | None:
    found = re.search(r'<script id="my-answers" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1)) if found else None


def test_thanks_holds_the_closed_answers_once_and_uncached(default_survey):
    _publish(default_survey)
    client = Client()
    complete_default(client, default_survey)
    first = client.get(f"/s/{default_survey.slug}/thanks/")
    html = first.content.decode()
    assert receipt_code(first)
    mine = _mine(html)
    assert mine is not None
    assert mine["lost_work"] is True
    assert mine["employment_type"] == "freelance"
    assert mine["tools_used"] == ["runway", "kling"]
    assert mine["exposure_matrix"]["rates_fallen"] == "3"
    # No free text, not even the respondent's own: only what the public tables can count.
    for code in ("change_text", "protect_text", "anything_else", "main_tasks"):
        assert code not in mine
    assert "storyboards" not in html
    assert "no-store" in first["Cache-Control"]
    assert 'src="/static/surveys/compare.js"' in html
    assert f'data-source="/results/{default_survey.slug}/data.json?lang=en"' in html
    # A reload (or the next person at this browser) sees the link, not the answers.
    again = client.get(f"/s/{default_survey.slug}/thanks/").content.decode()
    assert _mine(again) is None
    assert f'href="/results/{default_survey.slug}/?lang=en"' in again


def test_no_comparison_while_the_results_are_unpublished(default_survey):
    client = Client()
    complete_default(client, default_survey)
    html = client.get(f"/s/{default_survey.slug}/thanks/").content.decode()
    assert _mine(html) is None
    assert "compare.js" not in html and "/results/" not in html


def test_comparison_speaks_chinese(default_survey):
    _publish(default_survey)
    client = Client()
    complete_default(client, default_survey, HTTP_ACCEPT_LANGUAGE="zh-CN")
    html = client.get(
        f"/s/{default_survey.slug}/thanks/", HTTP_ACCEPT_LANGUAGE="zh-CN"
    ).content.decode()
    assert "您的回答与大家相比" in html
    assert f'data-source="/results/{default_survey.slug}/data.json?lang=zh-hans"' in html
