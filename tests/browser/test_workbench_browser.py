"""The coding workbench in headless Chromium: ten answers coded blind from the keyboard alone."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from classifier.models import Classification, CodingAssignment, HumanLabel
from surveys.models import AuditEntry, SurveyRole
from tests.admin.conftest import code_responses, make_responses
from tests.browser.test_respondent_browser import CHROMIUM, LAUNCH_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Where screenshots go when EXPOSURE_SCREENSHOTS names a directory (to look at, not to commit).
SCREENSHOTS = os.environ.get("EXPOSURE_SCREENSHOTS", "")


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


def _shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def _double_coded(count: int) -> tuple[Any, list[Classification]]:
    from surveys.definitions.transfer import survey_import
    from tests.conftest import DEFAULT_SURVEY

    survey = survey_import(definition=json.loads(DEFAULT_SURVEY.read_text(encoding="utf-8")))
    responses = make_responses(survey, count)
    code_responses(responses, ["augmentation"] * count, [["income"]] * count)
    rows = list(Classification.objects.filter(codebook__slug="displacement-risk").order_by("pk"))
    users = get_user_model().objects
    coder = users.create_user("coder", password="pw-coder", is_staff=True)
    other = users.create_user("other", password="pw-other", is_staff=True)
    for user in (coder, other):
        SurveyRole.objects.create(survey=survey, user=user, role=SurveyRole.Role.CODER)
        for row in rows:
            CodingAssignment.objects.create(classification=row, coder=user)
    return coder, rows


def _axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes']]}"
        f" {[n.get('failureSummary', '')[:200] for n in v['nodes']]}"
        for v in results.response["violations"]
    ]


def test_a_coder_codes_ten_answers_blind_from_the_keyboard(
    transactional_db, live_server, browser_page
):
    coder, rows = _double_coded(10)
    page = browser_page
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "coder")
    page.fill("#id_password", "pw-coder")
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/classifier/classification/workbench/")
    assert "Blind coding" in page.inner_text("#mode")
    assert "model suggests" not in page.inner_text("#content-main")
    assert page.locator("input[name=codes]:checked").count() == 0  # the model's label is not ticked
    violations = _axe_violations(page)
    print("\n".join(violations))
    assert violations == []
    _shot(page, "workbench-blind")
    codes = ["1", "2", "3", "4", "5"] * 2
    for n, key in enumerate(codes):
        assert page.locator(f"text=I lost a client, number {n}").count() == 1
        page.keyboard.press(key)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert page.locator("#done").is_visible()
    _shot(page, "workbench-done")
    assert not problems, problems
    order = ["displaced", "substitution", "augmentation", "not-exposed", "uncodeable"] * 2
    coded = {
        label.classification_id: label.labels for label in HumanLabel.objects.filter(coder=coder)
    }
    assert [coded[row.pk] for row in rows] == [[code] for code in order]
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.LABEL, actor=coder)
    assert entries.count() == 10
    assert all(entry.details["blind"] for entry in entries)
