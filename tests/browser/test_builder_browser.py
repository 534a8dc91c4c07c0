"""The builder in headless Chromium: a branch built from menus, previewed both ways, cleaned up.

Set EXPOSURE_SCREENSHOTS=<directory> to keep screenshots of the builder and the preview for a look.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from surveys.models import AuditEntry, Page, Response, SurveyRole
from tests.browser.test_respondent_browser import CHROMIUM, LAUNCH_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _t(english: str, chinese: str) -> dict[str, str]:
    return {"en": english, "zh-hans": chinese}


DEFINITION: dict[str, Any] = {
    "slug": "branching",
    "title": _t("Branching", "分支"),
    "consent_text": _t("Agree.", "同意。"),
    "languages": ["en", "zh-hans"],
    "pages": [
        {
            "code": "start",
            "title": _t("Start", "开始"),
            "questions": [
                {
                    "code": "uses_ai",
                    "type": "yes_no",
                    "text": _t("Do you use AI tools?", "您使用人工智能工具吗？"),
                    "required": True,
                }
            ],
        },
        {
            "code": "ai_page",
            "title": _t("Your AI tools", "您的人工智能工具"),
            "questions": [
                {"code": "ai_tools", "type": "short_text", "text": _t("Which ones?", "哪些？")}
            ],
        },
        {
            "code": "final",
            "title": _t("Last page", "最后一页"),
            "questions": [
                {"code": "anything", "type": "short_text", "text": _t("Anything else?", "还有吗？")}
            ],
        },
    ],
}


@pytest.fixture(scope="module", autouse=True)
def _allow_sync_orm_beside_playwright() -> Iterator[None]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI, but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _shot(page: Any, name: str) -> None:
    directory = os.environ.get("EXPOSURE_SCREENSHOTS")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


def _answer_start(page: Any, uses_ai: str) -> None:
    page.locator(f"input[name=q_uses_ai][value={uses_ai}]").check()
    with page.expect_navigation():
        page.click("button[value=next]")


def test_a_branch_built_from_menus_is_previewed_both_ways(
    transactional_db, live_server, browser_page
):
    from surveys.definitions.transfer import survey_import

    survey = survey_import(definition=DEFINITION)
    user = get_user_model().objects.create_user("builder", password="pw-builder", is_staff=True)
    SurveyRole.objects.create(survey=survey, user=user, role="owner")
    page = browser_page
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "builder")
    page.fill("#id_password", "pw-builder")
    with page.expect_navigation():
        page.click("input[type=submit]")

    # The branch, from the menus: the AI page only for those who use AI tools.
    ai_page = Page.objects.get(survey=survey, code="ai_page")
    page.goto(f"{live_server.url}/admin/surveys/page/{ai_page.pk}/change/")
    page.select_option("#id_condition-0-question", "uses_ai")
    page.select_option("#id_condition-0-op", "equals")
    choice = page.locator("#id_condition-0-choice")
    assert choice.is_visible() and not page.locator("#id_condition-0-typed").is_visible()
    # Only this question's answers are offered.
    offered = choice.locator("option:not([hidden])").all_inner_texts()
    assert offered == ["— answer —", "Yes", "No"]
    choice.select_option(label="Yes")
    _shot(page, "builder-menus")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert page.url.startswith(f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/")
    ai_page.refresh_from_db()
    assert ai_page.condition == {"question": "uses_ai", "op": "equals", "value": True}
    outline = page.locator(".outline-page#page-ai_page").inner_text()
    assert "Shown when “Do you use AI tools?” is Yes." in outline
    assert "在以下情况显示：“您使用人工智能工具吗？”为是。" in outline
    _shot(page, "builder-survey")

    # Test mode, first branch: yes leads to the AI page.
    page.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/preview/")
    assert "Test mode" in page.inner_text(".preview-banner")
    _answer_start(page, "yes")
    assert "Your AI tools" in page.inner_text("h1")
    _shot(page, "preview-yes-branch")
    # A new test response, second branch: no skips it.
    with page.expect_navigation():
        page.click(".preview-restart button")
    _answer_start(page, "no")
    assert "Last page" in page.inner_text("h1")
    assert "skipped" in (page.locator(".preview-nav a.skipped").first.get_attribute("class") or "")
    _shot(page, "preview-no-branch")
    with page.expect_navigation():
        page.click("button[value=submit]")
    assert "is complete" in page.inner_text(".preview-banner")
    tests = Response.all_objects.filter(survey=survey)
    assert tests.count() == 2 and all(r.is_test for r in tests)
    assert not Response.objects.filter(survey=survey).exists()

    # Deleting the test responses from the survey's page.
    page.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/")
    with page.expect_navigation():
        page.click("button:has-text('Delete 2 test response(s)')")
    assert "Deleted 2 test response(s)" in page.inner_text("ul.messagelist")
    assert not Response.all_objects.filter(survey=survey).exists()
    assert AuditEntry.objects.filter(survey=survey, summary__startswith="Deleted 2 test").exists()
    assert not errors, errors
