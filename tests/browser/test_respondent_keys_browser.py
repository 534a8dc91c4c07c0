"""The respondent form in headless Chromium: Enter, rate limits, "please specify", occupation
search, and axe-core on every page in both languages."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest

from surveys.models import Response
from tests.respondent.helpers import THREE_PAGES
from tests.surveys.helpers import DEFAULT_ANSWERS, DEFAULT_PAGES_SHOWN

pytestmark = pytest.mark.browser
# Set to a directory to keep a screenshot of each page these tests see (to look at, not to commit).
SHOTS = os.environ.get("EXPOSURE_SCREENSHOTS", "")


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _start(page: Any, live_server: Any, slug: str) -> None:
    page.goto(f"{live_server.url}/s/{slug}/")
    page.check("#id_consent")
    page.check("#id_adult")
    with page.expect_navigation():
        page.click("main form button[type=submit]")


def _fill(page: Any, data: dict[str, Any]) -> None:
    for name, value in data.items():
        field = page.locator(f'[name="{name}"]').first
        tag = field.evaluate("element => element.tagName.toLowerCase()")
        kind = field.get_attribute("type") or ""
        if tag == "select":
            page.select_option(f'select[name="{name}"]', value)
        elif kind in {"radio", "checkbox"}:
            for code in value if isinstance(value, list) else [value]:
                page.check(f'input[name="{name}"][value="{code}"]')
        else:
            field.fill(value)


def _next(page: Any) -> None:
    with page.expect_navigation():
        page.click('button[name="action"][value="next"]')


def _title(page: Any) -> str:
    return page.locator("h1").inner_text().strip()


def test_enter_in_a_text_box_goes_forward(page, live_server, transactional_db):
    from surveys.definitions.transfer import survey_import

    survey_import(definition=copy.deepcopy(THREE_PAGES))
    _start(page, live_server, "three-pages")
    page.fill("#q_name", "Ada")
    with page.expect_navigation():
        page.press("#q_name", "Enter")
    assert _title(page) == "Second"
    # Page 2 has a Back button, shown first; Enter still means Next.
    page.fill("#q_hobby", "Chess")
    _shot(page, "enter-page-2")
    with page.expect_navigation():
        page.press("#q_hobby", "Enter")
    assert _title(page) == "Third"
    answers = Response.objects.get().answers.select_related("question")
    assert {a.question.code: a.text for a in answers} == {"name": "Ada", "hobby": "Chess"}


def test_enter_on_a_checkbox_goes_forward(page, live_server, survey):
    _start(page, live_server, survey.slug)
    _fill(page, DEFAULT_ANSWERS["about_you"])
    _next(page)
    assert _title(page) == "Generative AI tools"
    page.check('input[name="q_tools_used"][value="runway"]')
    with page.expect_navigation():
        page.press('input[name="q_tools_used"][value="runway"]', "Enter")
    assert _title(page) == "How you use these tools"


def test_please_specify_appears_when_its_option_is_chosen(page, live_server, survey):
    _start(page, live_server, survey.slug)
    specify = page.locator("#q_employment_type__other")
    assert not specify.is_visible()
    assert not page.locator("#q_occupation__other").is_visible()
    page.check('input[name="q_employment_type"][value="other"]')
    assert specify.is_visible()
    specify.fill("Puppet maker")
    page.check('input[name="q_employment_type"][value="staff"]')
    assert specify.is_visible()  # it holds text: never hidden with an answer in it
    page.select_option("#q_occupation", "other")
    assert page.locator("#q_occupation__other").is_visible()
    _shot(page, "please-specify")


def test_please_specify_without_javascript(browser, live_server, survey):
    context = browser.new_context(locale="en-US", java_script_enabled=False)
    try:
        page = context.new_page()
        _start(page, live_server, survey.slug)
        assert page.locator("#q_employment_type__other").is_visible()
        answers = {**DEFAULT_ANSWERS["about_you"], "q_employment_type": "other"}
        _fill(page, answers)
        page.fill("#q_employment_type__other", "Puppet maker")
        # Without scripts the job-title search is a datalist; its title chooses the group.
        page.select_option("#q_occupation", "")
        page.fill("#q_occupation__title", "Compositor")
        _next(page)
        assert _title(page) == "Generative AI tools"
    finally:
        context.close()
    answers = {a.question.code: a for a in Response.objects.get().answers.all()}
    assert answers["employment_type"].text == "Puppet maker"
    assert answers["occupation"].choice == "2166"


def test_a_job_title_chooses_its_group_at_once(page, live_server, survey):
    _start(page, live_server, survey.slug)
    page.fill("#q_occupation__title", "配音演员")
    assert page.locator("#q_occupation").input_value() == "2655"
    page.fill("#q_occupation__title", "vfx compositor")
    assert page.locator("#q_occupation").input_value() == "2166"
    _shot(page, "occupation-search")


def test_a_rate_limited_page_keeps_its_answers(page, live_server, survey, settings):
    _start(page, live_server, survey.slug)
    _fill(page, DEFAULT_ANSWERS["about_you"])
    _next(page)
    settings.EXPOSURE_RATE_LIMIT_PAGE = "0/600"  # every page post from now on is over the limit
    _fill(page, DEFAULT_ANSWERS["tools"])
    _next(page)
    assert "sent pages faster than we accept" in page.locator("main").inner_text()
    assert _title(page) == "Generative AI tools"
    for code in DEFAULT_ANSWERS["tools"]["q_tools_used"]:
        assert page.is_checked(f'input[name="q_tools_used"][value="{code}"]')
    link = page.locator("input.resume-link").input_value()
    assert re.search(r"/r/[^/]+/$", link)
    _shot(page, "rate-limited")
    settings.EXPOSURE_RATE_LIMIT_PAGE = "100000/60"
    _next(page)  # sent again once the limit has passed: nothing was lost
    assert _title(page) == "How you use these tools"
    stored = Response.objects.get().answers.get(question__code="tools_used")
    assert stored.choices == ["runway", "kling"]


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it did run
    return [
        f"{violation['id']}: {[node['target'] for node in violation['nodes']]}"
        for violation in results.response["violations"]
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_axe_finds_nothing_on_the_respondent_pages(browser, live_server, survey, language):
    context = browser.new_context(locale="en-US" if language == "en" else "zh-CN")
    context.set_default_timeout(15_000)
    problems: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{survey.slug}/")
        problems["landing"] = _axe(page)
        page.check("#id_consent")
        page.check("#id_adult")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        # A page with errors first (required answers missing), then every page filled in.
        with page.expect_navigation():
            page.click('button[name="action"][value="next"]')
        problems["errors"] = _axe(page)
        for index, code in enumerate(DEFAULT_PAGES_SHOWN):
            if code == "tools":
                page.check('input[name="q_tools_used"][value="other"]')  # show a specify box
            problems[code] = _axe(page)
            _shot(page, f"{language}-{index + 1}-{code}")
            _fill(page, DEFAULT_ANSWERS[code])
            action = "submit" if index == len(DEFAULT_PAGES_SHOWN) - 1 else "next"
            if code == "tools":
                page.fill("#q_tools_used__other", "Midjourney")
            with page.expect_navigation():
                page.click(f'button[name="action"][value="{action}"]')
        problems["thanks"] = _axe(page)
    finally:
        context.close()
    assert {name: found for name, found in problems.items() if found} == {}


def test_axe_reports_what_it_finds(page):
    # The check above can fail: an image without a text alternative is a violation.
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    assert any(problem.startswith("image-alt") for problem in _axe(page))
