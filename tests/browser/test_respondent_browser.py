"""The respondent form in headless Chromium: the default survey, in English and in Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from surveys.models import Response
from tests.browser.chromium import CHROMIUM, LAUNCH_ARGS  # noqa: F401  (imported from here too)
from tests.surveys.helpers import DEFAULT_ANSWERS, DEFAULT_PAGES_SHOWN, ui

# Of the longest path still open: it only grows, though answers reveal tool_use and loss_details.
PERCENTS = [0, 11, 22, 33, 44, 55, 75, 87]
PROGRESS = "Page %(number)s · %(percent)s%% done"
TITLES = {
    "en": "Generative video AI and creative work",
    "zh-hans": "生成式视频人工智能与创意工作",
}
FIRST_PAGE = {"en": "About you and your work", "zh-hans": "关于您和您的工作"}

pytestmark = pytest.mark.browser


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


def _progress(page: Any) -> str:
    return page.locator(".progress p").inner_text().strip()


def _walk_the_survey(
    page: Any, live_server: Any, language: str, extra: dict[str, dict[str, Any]] | None = None
) -> str:
    """Fill in every shown page of the default survey (and `extra` answers); returns the receipt."""
    for number, code in enumerate(DEFAULT_PAGES_SHOWN, start=1):
        assert page.locator("html").get_attribute("lang") == language
        expected = ui(PROGRESS, language, number=number, percent=PERCENTS[number - 1])
        assert _progress(page) == expected
        answers = {**DEFAULT_ANSWERS[code], **(extra or {}).get(code, {})}
        if code == "about_you":
            # The keyboard: from the occupation list, Tab passes its hidden "please specify"
            # box, reaches the first employment option, and Space selects it.
            answers.pop("q_employment_type")
            page.focus("#q_occupation")
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.id")
            assert focused == "q_employment_type-1"
            page.keyboard.press("Space")
            assert page.is_checked("#q_employment_type-1")
        _fill(page, answers)
        action = "submit" if code == DEFAULT_PAGES_SHOWN[-1] else "next"
        with page.expect_navigation():
            page.click(f'button[name="action"][value="{action}"]')
        assert page.locator(".error").count() == 0, page.locator(".error").all_inner_texts()
    assert re.search(r"/thanks/$", page.url)
    return page.locator("#receipt-code").inner_text().strip()


def _assert_stored(language: str) -> None:
    response = Response.objects.get(language=language)
    assert response.status == Response.Status.COMPLETE
    assert response.submitted_at is not None
    answers = {(a.question.code, a.row): a for a in response.answers.select_related("question")}
    expected = {
        (field[2:].split("__")[0], field.split("__")[1] if "__" in field else "")
        for code in DEFAULT_PAGES_SHOWN
        for field in DEFAULT_ANSWERS[code]
    }
    assert set(answers) == expected
    assert answers["employment_type", ""].choice == "staff"  # chosen with the keyboard
    assert answers["occupation", ""].choice == "2655"
    assert answers["country", ""].choice == "CN"
    assert answers["years_experience", ""].number == 12
    assert answers["tools_used", ""].choices == ["runway", "kling"]
    assert answers["exposure_matrix", "rates_fallen"].choice == "3"
    assert answers["lost_work", ""].boolean is True
    assert answers["gained_work", ""].boolean is False
    assert answers["loss_share", ""].choice == "10_25"
    assert answers["change_text", ""].text == DEFAULT_ANSWERS["your_words"]["q_change_text"]
    assert set(response.page_seconds) == set(DEFAULT_PAGES_SHOWN)


def test_default_survey_in_english(page, live_server, survey):
    page.goto(f"{live_server.url}/")
    assert page.url.endswith(f"/s/{survey.slug}/")
    assert page.locator("h1").inner_text() == TITLES["en"]
    assert Response.objects.count() == 0
    page.check("#id_consent")
    page.check("#id_adult")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator("h1").inner_text() == FIRST_PAGE["en"]
    receipt = _walk_the_survey(page, live_server, "en")
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", receipt)
    _assert_stored("en")


def test_default_survey_in_chinese_through_the_switcher(page, live_server, survey):
    page.goto(f"{live_server.url}/s/{survey.slug}/")
    assert page.locator("html").get_attribute("lang") == "en"
    change = page.locator("form.lang button[type=submit]")
    needs_click = change.is_visible()  # with scripts on, choosing a language submits at once
    with page.expect_navigation():
        page.select_option("#language-switch", "zh-hans")
        if needs_click:
            change.click()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == TITLES["zh-hans"]
    page.check("#id_consent")
    page.check("#id_adult")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.locator("h1").inner_text() == FIRST_PAGE["zh-hans"]
    assert page.get_by_text("您的主要职业是什么？").count() == 1
    receipt = _walk_the_survey(page, live_server, "zh-hans")
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", receipt)
    _assert_stored("zh-hans")


TASKS_ZH = ["给短视频配音", "在录音棚里调试麦克风", "把剧本翻译成英文"]


def test_a_respondent_lists_tasks_in_chinese_one_per_line(page, live_server, survey):
    page.goto(f"{live_server.url}/s/{survey.slug}/?lang=zh-hans")
    if page.locator("html").get_attribute("lang") != "zh-hans":
        change = page.locator("form.lang button[type=submit]")
        needs_click = change.is_visible()
        with page.expect_navigation():
            page.select_option("#language-switch", "zh-hans")
            if needs_click:
                change.click()
    page.check("#id_consent")
    page.check("#id_adult")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.get_by_text("您工作中的主要任务有哪些？请每行填写一项任务。").count() == 1
    assert page.locator('input[name^="q_main_tasks__"]').count() == 8
    # Each line has its own (visually hidden) label, in Chinese.
    assert page.locator('label[for="q_main_tasks__2"]').inner_text() == "第 2 行"
    lines = {f"q_main_tasks__{n}": text for n, text in enumerate(TASKS_ZH, start=1)}
    _walk_the_survey(page, live_server, "zh-hans", extra={"about_you": lines})
    response = Response.objects.get(language="zh-hans")
    stored = sorted(response.answers.filter(question__code="main_tasks").values_list("row", "text"))
    assert stored == [("1", TASKS_ZH[0]), ("2", TASKS_ZH[1]), ("3", TASKS_ZH[2])]
