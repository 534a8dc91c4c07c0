"""The survey's own page: skip logic in plain words, arrows that order, saving that comes back;
choices that respondents picked stay (hidden instead of deleted)."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from surveys.models import Choice, Page, Question
from surveys.respondent import selectors
from tests.admin.conftest import make_responses
from tests.admin.test_builder import _management, _question_data, _survey_data

pytestmark = pytest.mark.django_db


def test_skip_logic_reads_in_plain_words_in_every_language(survey, accounts):
    body = (
        accounts.client("viewer")
        .get(reverse("admin:surveys_survey_change", args=[survey.pk]))
        .content.decode()
    )
    lost_work = survey.questions.get(code="lost_work")
    # Long question texts are shortened: their beginning, then the comparison.
    english, chinese = lost_work.text["en"][:40], lost_work.text["zh-hans"][:20]
    assert re.search(f"Shown when “{re.escape(english)}[^”]*” is Yes\\.", body)
    assert re.search(f"在以下情况显示：“{re.escape(chinese)}[^”]*”为是。", body)
    assert '"op"' not in body  # no JSON to read


def test_the_menus_show_a_saved_condition(survey, accounts):
    page = survey.pages.get(code="loss_details")
    body = (
        accounts.client("editor")
        .get(reverse("admin:surveys_page_change", args=[page.pk]))
        .content.decode()
    )
    assert (
        '<option value="lost_work" data-operators="equals not_equals answered not_answered"' in body
    )
    assert 'value="true" data-for="lost_work" selected' in body
    assert "surveys/condition.js" in body


def test_a_new_page_takes_a_condition_on_an_existing_question_and_goes_last(survey, accounts):
    client = accounts.client("owner")
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    pages = list(survey.pages.order_by("position"))
    data = _survey_data(survey.slug)
    data.update(_management("pages", len(pages) + 1, len(pages)))
    for n, page in enumerate(pages):
        data.update(
            {
                f"pages-{n}-id": page.pk,
                f"pages-{n}-survey": survey.pk,
                f"pages-{n}-code": page.code,
                f"pages-{n}-title_en": page.title.get("en", ""),
                f"pages-{n}-title_zh-hans": page.title.get("zh-hans", ""),
                f"pages-{n}-intro_en": page.intro.get("en", ""),
                f"pages-{n}-intro_zh-hans": page.intro.get("zh-hans", ""),
            }
        )
        if page.condition:
            data[f"pages-{n}-condition-kept"] = json.dumps(page.condition)
        data[f"pages-{n}-condition-match"] = "all"
    n = len(pages)
    data.update(
        {
            f"pages-{n}-survey": survey.pk,
            f"pages-{n}-code": "freelancers",
            f"pages-{n}-title_en": "Freelance work",
            f"pages-{n}-title_zh-hans": "自由职业",
            f"pages-{n}-condition-match": "all",
            f"pages-{n}-condition-0-question": "employment_type",
            f"pages-{n}-condition-0-op": "equals",
            f"pages-{n}-condition-0-choice": '"freelance"',
        }
    )
    result = client.post(url, data)
    assert result.status_code == 302, result.context["adminform"].form.errors
    new = Page.objects.get(survey=survey, code="freelancers")
    assert new.position == pages[-1].position + 1
    assert new.condition == {"question": "employment_type", "op": "equals", "value": "freelance"}
    assert Page.objects.get(pk=pages[-1].pk).condition == pages[-1].condition  # kept as it was


def test_saving_a_question_returns_to_the_survey(survey, accounts):
    question = survey.questions.get(code="gained_work_text")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    result = accounts.client("editor").post(url, _question_data(question))
    assert result.status_code == 302
    change = reverse("admin:surveys_survey_change", args=[survey.pk])
    assert result["Location"] == f"{change}#question-gained_work_text"


def test_a_new_question_goes_last_on_its_page(survey, accounts):
    page = survey.pages.get(code="final")
    question = page.questions.first()
    data = _question_data(question, code="last_words", **_management("choices"))
    result = accounts.client("editor").post(reverse("admin:surveys_question_add"), data)
    assert result.status_code == 302
    assert [q.code for q in page.questions.order_by("position")][-1] == "last_words"


def test_arrows_move_pages_and_questions(survey, accounts):
    client = accounts.client("editor")
    url = reverse("admin:surveys_move", args=[survey.pk])
    page = survey.pages.get(code="your_words")
    before = list(survey.pages.order_by("position").values_list("code", flat=True))
    assert client.post(url, {"move": f"page:{page.pk}:down"}).status_code == 302
    after = list(survey.pages.order_by("position").values_list("code", flat=True))
    i = before.index("your_words")
    assert after[i] == before[i + 1] and after[i + 1] == "your_words"
    question = survey.questions.get(code="protect_text")
    client.post(url, {"move": f"question:{question.pk}:up"})
    codes = list(question.page.questions.order_by("position").values_list("code", flat=True))
    assert codes == ["protect_text", "change_text"]
    assert accounts.client("viewer").post(url, {"move": f"page:{page.pk}:up"}).status_code == 403


def test_a_move_that_breaks_skip_logic_is_refused(survey, accounts):
    client = accounts.client("editor")
    impact = survey.pages.get(code="impact")
    result = client.post(
        reverse("admin:surveys_move", args=[survey.pk]), {"move": f"page:{impact.pk}:down"}
    )
    assert result.status_code == 302
    assert Page.objects.get(pk=impact.pk).position == impact.position
    shown = client.get(result["Location"]).content.decode()
    assert "was not moved: skip logic would break" in shown


def _choice_data(question: Question, **changes: dict[str, str]) -> dict[str, object]:
    data = _question_data(question)
    for n, choice in enumerate(question.choices.all()):
        data.update({f"choices-{n}-{k}": v for k, v in changes.get(choice.code, {}).items()})
    return data


def test_a_chosen_choice_cannot_be_deleted_or_recoded_but_can_be_hidden(survey, accounts):
    make_responses(survey, 1)
    question = survey.questions.get(code="employment_type")
    response = survey.responses.get()
    response.answers.create(question=question, choice="other", text="puppeteer")
    client = accounts.client("editor")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    refused = client.post(url, _choice_data(question, other={"DELETE": "on"}))
    assert refused.status_code == 200
    assert "Tick “hidden”" in refused.content.decode()
    recoded = client.post(url, _choice_data(question, other={"code": "else"}))
    assert recoded.status_code == 200 and "its code cannot change" in recoded.content.decode()
    assert Choice.objects.filter(question=question, code="other").exists()
    hidden = client.post(url, _choice_data(question, other={"hidden": "on", "label_en": "Else"}))
    assert hidden.status_code == 302
    choice = Choice.objects.get(question=question, code="other")
    assert choice.hidden and choice.label["en"] == "Else"
    # New respondents are no longer offered it.
    survey.refresh_from_db()
    offered = {
        c.code
        for page in selectors.survey_pages(survey=survey)
        for q in page.questions.all()
        if q.code == "employment_type"
        for c in q.choices.all()
    }
    assert "other" not in offered and "staff" in offered


def test_an_unchosen_choice_can_still_be_deleted(survey, accounts):
    question = survey.questions.get(code="employment_type")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    result = accounts.client("editor").post(url, _choice_data(question, agency={"DELETE": "on"}))
    assert result.status_code == 302
    assert not Choice.objects.filter(question=question, code="agency").exists()


def test_questions_are_added_and_moved_on_the_survey_page(survey, accounts):
    client = accounts.client("editor")
    final = survey.pages.get(code="final")
    words = survey.pages.get(code="your_words")
    moved = survey.questions.get(code="anything_else")
    data = _survey_data(survey.slug)
    data.update(_management("questions", 2, 1))
    data.update(
        {
            "questions-0-id": moved.pk,
            "questions-0-survey": survey.pk,
            "questions-0-page": words.pk,
            "questions-0-code": moved.code,
            "questions-0-type": moved.type,
            "questions-0-text_en": moved.text["en"],
            "questions-0-text_zh-hans": moved.text["zh-hans"],
            "questions-1-survey": survey.pk,
            "questions-1-page": final.pk,
            "questions-1-code": "goodbye",
            "questions-1-type": "short_text",
            "questions-1-text_en": "Goodbye?",
            "questions-1-text_zh-hans": "再见？",
        }
    )
    result = client.post(reverse("admin:surveys_survey_change", args=[survey.pk]), data)
    assert result.status_code == 302, result.context["adminform"].form.errors
    assert list(words.questions.order_by("position").values_list("code", flat=True))[-1] == (
        "anything_else"
    )
    assert list(final.questions.values_list("code", flat=True)) == ["goodbye"]
    body = client.get(reverse("admin:surveys_survey_change", args=[survey.pk])).content.decode()
    assert 'name="questions-0-page"' in body and "Goodbye?" in body


def test_a_chosen_please_specify_choice_stays_one(survey, accounts):
    make_responses(survey, 1)
    question = survey.questions.get(code="employment_type")
    survey.responses.get().answers.create(question=question, choice="other", text="puppeteer")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    result = accounts.client("editor").post(url, _choice_data(question, other={"is_other": ""}))
    assert result.status_code == 200
    assert "stays a please-specify choice" in result.content.decode()
    assert Choice.objects.get(question=question, code="other").is_other
