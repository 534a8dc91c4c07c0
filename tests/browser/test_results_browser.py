"""The public results page and the thank-you page's comparison in headless Chromium, with
axe-core in both languages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from surveys.models import Survey
from tests.api.conftest import build_population
from tests.browser.test_respondent_browser import _walk_the_survey
from tests.results.conftest import TABLES

pytestmark = pytest.mark.browser
# Set to a directory to keep a screenshot of each page these tests see (to look at, not to commit).
SHOTS = os.environ.get("EXPOSURE_SCREENSHOTS", "")
LOCALES = {"en": "en-US", "zh-hans": "zh-CN"}


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _axe(page: Any) -> list[str]:
    axe = pytest.importorskip(
        "axe_playwright_python.sync_playwright",
        reason="axe-core checks need axe-playwright-python==0.1.8 (requirements-dev.txt)",
    )
    results = axe.Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it did run
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
    ]


@pytest.fixture
def published(survey: Survey) -> Survey:
    build_population(survey)
    Survey.objects.filter(pk=survey.pk).update(public_statistics=True, results_tables=TABLES)
    survey.refresh_from_db()
    return survey


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_results_page_in_a_browser(browser, live_server, published, language):
    context = browser.new_context(locale=LOCALES[language])
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        failed: list[str] = []
        page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
        page.goto(f"{live_server.url}/results/{published.slug}/?lang={language}")
        assert page.locator("html").get_attribute("lang") == language
        assert page.locator("svg[role=img]").count() == len(TABLES)
        assert page.locator("table.results").count() == len(TABLES)
        assert page.locator("td.suppressed").count() > 0
        _shot(page, f"results-{language}")
        assert _axe(page) == []
        assert failed == []  # no CSP refusal, no script error
        with page.expect_download() as download:
            page.locator("#table-lost_work-by-employment_type a[download]").click()
        assert download.value.suggested_filename.endswith("lost_work-by-employment_type.csv")
        # The header's switcher: a link per language, the current one marked.
        switcher = page.locator("header nav.lang")
        assert switcher.locator('a[aria-current="true"]').get_attribute("lang") == language
        other = "zh-hans" if language == "en" else "en"
        with page.expect_navigation():
            switcher.locator(f'a[lang="{other}"]').click()
        assert page.url.endswith(f"/results/{published.slug}/?lang={other}")
        assert page.locator("html").get_attribute("lang") == other
        assert switcher.locator('a[aria-current="true"]').get_attribute("lang") == other
        assert _axe(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_respondent_compares_in_the_browser(browser, live_server, published, language):
    context = browser.new_context(locale=LOCALES[language])
    context.set_default_timeout(15_000)
    requests: list[Any] = []
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{published.slug}/")
        page.check("#id_consent")
        page.check("#id_adult")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        page.on("request", lambda request: requests.append(request))
        _walk_the_survey(page, live_server, language)
        items = page.locator("#compare-results li")
        items.first.wait_for()
        text = page.locator("#compare-results").inner_text()
        assert ("You answered" if language == "en" else "您的回答") in text
        assert items.count() >= 4  # lost work, employment, country, the matrix row, ...
        _shot(page, f"thanks-compare-{language}")
        assert _axe(page) == []
    finally:
        context.close()
    # After the last page was sent, the only request is the public tables: same origin, a GET
    # naming nothing but the language, and no body.
    thanks = next(i for i, r in enumerate(requests) if r.url.endswith("/thanks/"))
    later = [r for r in requests[thanks + 1 :] if "/static/" not in r.url]
    assert [urlsplit(r.url).path for r in later] == [f"/results/{published.slug}/data.json"]
    assert urlsplit(later[0].url).query == f"lang={language}"
    assert later[0].method == "GET" and later[0].post_data is None
    assert all(urlsplit(r.url).netloc == urlsplit(live_server.url).netloc for r in requests)
