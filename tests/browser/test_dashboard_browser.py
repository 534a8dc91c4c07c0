"""The owner's dashboard in headless Chromium: the internal view, its summaries and shares."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from surveys.models import SurveyRole
from tests.admin.conftest import code_responses, make_responses
from tests.browser.test_workbench_browser import (  # noqa: F401 (fixtures)
    _allow_sync_orm_beside_playwright,
    _shot,
    browser_page,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_owner_sees_the_internal_dashboard(transactional_db, live_server, browser_page):  # noqa: F811
    from surveys.definitions.transfer import survey_import
    from tests.conftest import DEFAULT_SURVEY

    survey = survey_import(definition=json.loads(DEFAULT_SURVEY.read_text(encoding="utf-8")))
    responses = make_responses(survey, 12)
    code_responses(responses, ["augmentation"] * 9 + ["displaced"] * 3, [["income"]] * 12)
    owner = get_user_model().objects.create_user("owner", password="pw-owner", is_staff=True)
    SurveyRole.objects.create(survey=survey, user=owner, role=SurveyRole.Role.OWNER)
    page = browser_page
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "pw-owner")
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/dashboard/")
    assert page.locator("#internal-note").is_visible()
    assert page.locator("table.classifier-shares").count() >= 1
    assert page.locator("details.question-summary").count() >= 5
    _shot(page, "dashboard-owner")
