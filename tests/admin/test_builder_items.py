"""The builder sets a multiple short text's number of lines, and refuses them elsewhere."""

from __future__ import annotations

import pytest

from surveys.admin.forms import QuestionAdminForm

pytestmark = pytest.mark.django_db


def _form(survey, **fields):  # type: ignore[no-untyped-def]
    page = survey.pages.order_by("position").first()
    data = {
        "page": page.pk,
        "code": "tasks_again",
        "type": "multiple_short_text",
        "text_en": "Your main tasks, one per line",
        "text_zh-hans": "您的主要工作任务，每行一项",
        "required": "",
        **fields,
    }
    return QuestionAdminForm(data=data)


def test_lines_of_a_multiple_short_text_are_set_in_the_builder(default_survey):  # type: ignore[no-untyped-def]
    form = _form(default_survey, max_items="5", min_items="2")
    assert form.is_valid(), form.errors
    question = form.save(commit=False)
    assert (question.max_items, question.min_items) == (5, 2)
    assert question.item_count == 5


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"max_items": "60"}, "max_items", "1 to 50 lines"),
        ({"max_items": "3", "min_items": "4"}, "min_items", "above the maximum"),
        ({"type": "short_text", "max_items": "3"}, "max_items", "Only a multiple short text"),
    ],
)
def test_impossible_line_counts_are_refused(default_survey, fields, field, message):  # type: ignore[no-untyped-def]
    form = _form(default_survey, **fields)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])
