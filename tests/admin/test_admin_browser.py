"""The workbench pages in headless Chromium: nothing breaks the Content Security Policy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from surveys.models import SurveyRole
from tests.admin.conftest import code_responses, make_responses
from tests.browser.chromium import CHROMIUM, LAUNCH_ARGS

pytestmark = pytest.mark.browser


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
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_workbench_pages_respect_the_csp(transactional_db, live_server, browser_page):
    import json

    from surveys.definitions.transfer import survey_import
    from tests.conftest import DEFAULT_SURVEY

    survey = survey_import(definition=json.loads(DEFAULT_SURVEY.read_text(encoding="utf-8")))
    responses = make_responses(survey, 12)
    code_responses(responses, ["augmentation"] * 12, [["income"]] * 12)
    user = get_user_model().objects.create_user("owner", password="pw-owner", is_staff=True)
    SurveyRole.objects.create(survey=survey, user=user, role="owner")

    page = browser_page
    # The admin declares no icon; answering the browser's favicon request here keeps it off
    # the live server, where a request cut short at the end would leave a connection open.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    problems: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", console)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    with page.expect_navigation():
        page.click("input[type=submit]")
    # Record violations the page itself sees, including those of inline styles and scripts.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    paths = [
        f"/admin/surveys/survey/{survey.pk}/change/",
        f"/admin/surveys/survey/{survey.pk}/dashboard/",
        f"/admin/surveys/survey/{survey.pk}/preview/?page=1&lang=zh-hans",
        f"/admin/surveys/survey/{survey.pk}/roles/",
        f"/admin/surveys/response/?survey__id__exact={survey.pk}",
        f"/admin/surveys/response/{responses[0].pk}/change/",
        f"/admin/surveys/question/{survey.questions.get(code='employment_type').pk}/change/",
        "/admin/surveys/auditentry/",
        f"/admin/surveys/survey/{survey.pk}/export/",
    ]
    for path in paths:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("load")
        assert not problems, f"{path}: {problems}"
    # The dashboard draws its charts with classes from the stylesheet, not inline styles.
    page.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/dashboard/")
    fill = page.eval_on_selector(".bar-completed", "e => getComputedStyle(e).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)")
