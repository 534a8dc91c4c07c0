"""The questionnaire is cached between page views, yet every change to it shows on the next one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.definitions.transfer import survey_export_definition, survey_import
from surveys.models import Choice, MatrixRow, Page, Question, Survey
from tests.admin.conftest import accounts, survey  # noqa: F401 (fixtures)
from tests.admin.test_builder import _question_data
from tests.surveys.helpers import (
    DEFAULT_ANSWERS,
    post,
    question_codes,
    response_of,
    start,
    text,
    url,
)

pytestmark = pytest.mark.django_db


def _on_first_page(client, default_survey) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A started response on the first page (its questionnaire now cached); (token, page)."""
    token = start(client, default_survey)
    page = client.get(url(token))
    assert page.status_code == 200
    return token, text(page)


def test_edited_question_text_shows_on_the_next_view(client, default_survey):
    token, before = _on_first_page(client, default_survey)
    question = Question.objects.get(survey=default_survey, code="employment_type")
    assert question.text["en"] in before
    question.text = {**question.text, "en": "How do you mostly work, today?"}
    question.save()
    assert "How do you mostly work, today?" in text(client.get(url(token)))


def test_edited_choice_label_shows_on_the_next_view(client, default_survey):
    token, _before = _on_first_page(client, default_survey)
    choice = Choice.objects.get(
        question__survey=default_survey, question__code="employment_type", code="staff"
    )
    choice.label = {**choice.label, "en": "On the payroll"}
    choice.save()
    assert "On the payroll" in text(client.get(url(token)))


def test_added_and_deleted_choices_show_on_the_next_view(client, default_survey):
    token, before = _on_first_page(client, default_survey)
    question = Question.objects.get(survey=default_survey, code="employment_type")
    gone = question.choices.get(code="agency")
    assert gone.label["en"] in before
    gone.delete()
    Choice.objects.create(question=question, code="coop", position=99, label={"en": "A co-op"})
    after = text(client.get(url(token)))
    assert "A co-op" in after and gone.label["en"] not in after
    # The removed choice is no longer accepted either.
    result = post(client, token, {**DEFAULT_ANSWERS["about_you"], "q_employment_type": "agency"})
    assert result.status_code == 400


def test_added_question_shows_on_the_next_view(client, default_survey):
    token, _before = _on_first_page(client, default_survey)
    page = Page.objects.get(survey=default_survey, position=1)
    Question.objects.create(
        survey=default_survey,
        page=page,
        code="pets",
        position=99,
        type=Question.Type.SHORT_TEXT,
        text={"en": "Any pets?"},
    )
    assert "pets" in question_codes(client.get(url(token)))


def test_changed_skip_logic_applies_on_the_next_post(client, default_survey):
    token, _before = _on_first_page(client, default_survey)
    # Hide the second page from everyone: the first page now leads to the third.
    second = Page.objects.get(survey=default_survey, position=2)
    second.condition = {"question": "occupation", "op": "not_answered"}
    second.save()
    result = post(client, token, DEFAULT_ANSWERS["about_you"])
    assert result.status_code == 302
    codes = question_codes(client.get(url(token)))
    assert codes and not set(codes) & {q.code for q in second.questions.all()}
    assert response_of(token).current_page > second.position


def test_edited_matrix_row_shows_on_the_next_view(client, default_survey):
    token = start(client, default_survey)
    row = MatrixRow.objects.filter(question__survey=default_survey).first()
    page = row.question.page
    response = default_survey.responses.get()
    response.current_page = page.position
    response.save()
    assert row.text["en"] in text(client.get(url(token)))
    row.text = {**row.text, "en": "A statement reworded"}
    row.save()
    assert "A statement reworded" in text(client.get(url(token)))


def test_question_edited_in_the_admin_shows_on_the_next_view(client, survey, accounts):  # noqa: F811
    token, _before = _on_first_page(client, survey)
    question = survey.questions.get(code="employment_type")
    change = reverse("admin:surveys_question_change", args=[question.pk])
    data = _question_data(question, **{"text_en": "Edited in the builder"})
    assert accounts.client("editor").post(change, data).status_code == 302
    assert "Edited in the builder" in text(client.get(url(token)))


def test_replaced_definition_shows_on_the_next_view(client, default_survey):
    # The landing page counts the pages, which caches the questionnaire.
    assert client.get(f"/s/{default_survey.slug}/").status_code == 200
    definition = survey_export_definition(survey=default_survey)
    definition["pages"] = definition["pages"][:2]
    definition["pages"][0]["questions"][0]["text"]["en"] = "Replaced question"
    definition["status"] = Survey.Status.OPEN
    replaced = survey_import(definition=definition, replace=True)
    token = start(client, replaced)
    assert "Replaced question" in text(client.get(url(token)))
