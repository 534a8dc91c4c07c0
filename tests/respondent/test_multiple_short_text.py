"""Multiple short texts: one line per item, each its own answer row, variable and export column."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from surveys.definitions.transfer import (
    DefinitionError,
    survey_export_definition,
    survey_import,
)
from surveys.models import Answer, Response
from surveys.respondent import selectors
from surveys.variables.catalogue import survey_variables
from surveys.variables.reader import response_rows
from tests.surveys.helpers import errors, post, start, t, ui

TASKS: dict[str, Any] = {
    "slug": "tasks",
    "title": t("Tasks", "任务"),
    "consent_text": t("Agree.", "同意。"),
    "languages": ["en", "zh-hans"],
    "status": "open",
    "pages": [
        {
            "code": "work",
            "title": t("Work", "工作"),
            "questions": [
                {
                    "code": "tasks",
                    "type": "multiple_short_text",
                    "required": True,
                    "classify": True,
                    "max_items": 4,
                    "min_items": 2,
                    "max_length": 40,
                    "text": t("Your main tasks, one per line.", "您的主要任务，每行一项。"),
                }
            ],
        },
        {
            "code": "closing",
            "title": t("Closing", "结束"),
            "questions": [{"code": "bye", "type": "short_text", "text": t("Bye?", "再见？")}],
        },
    ],
}


@pytest.fixture
def tasks_survey(db):  # type: ignore[no-untyped-def]
    return survey_import(definition=copy.deepcopy(TASKS))


def _lines(response: Response) -> list[tuple[str, str]]:
    return sorted(
        (a.row, a.text) for a in Answer.objects.filter(response=response, question__code="tasks")
    )


@pytest.mark.django_db
def test_the_form_offers_max_items_lines(client, tasks_survey) -> None:
    token = start(client, tasks_survey)
    page = client.get(f"/r/{token}/").content.decode()
    assert all(f'name="q_tasks__{n}"' in page for n in range(1, 5))
    assert 'name="q_tasks__5"' not in page


@pytest.mark.django_db
def test_each_line_is_stored_as_its_own_row_without_gaps(client, tasks_survey) -> None:
    token = start(client, tasks_survey)
    result = post(client, token, {"q_tasks__1": "剪辑采访素材", "q_tasks__3": "给视频调色"})
    assert result.status_code == 302, errors(result)
    response = Response.objects.get()
    assert _lines(response) == [("1", "剪辑采访素材"), ("2", "给视频调色")]
    values, _others = selectors.response_answers(response=response)
    assert values["tasks"] == ["剪辑采访素材", "给视频调色"]


@pytest.mark.django_db
def test_too_few_lines_and_a_too_long_line_are_refused_and_nothing_is_lost(
    client, tasks_survey
) -> None:
    token = start(client, tasks_survey)
    result = post(client, token, {"q_tasks__1": "Edit footage"})
    assert result.status_code == 400
    assert any(ui("Please fill in at least %(count)s lines.", count=2) in e for e in errors(result))
    assert 'value="Edit footage"' in result.content.decode()

    result = post(client, token, {"q_tasks__1": "Edit footage", "q_tasks__2": "x" * 41})
    assert result.status_code == 400
    shown = " ".join(errors(result))
    assert "Line 2:" in shown
    assert "at most 40" in shown
    assert Answer.objects.filter(question__code="tasks").count() == 0


@pytest.mark.django_db
def test_each_line_is_a_variable_and_read_back(client, tasks_survey) -> None:
    token = start(client, tasks_survey)
    post(client, token, {"q_tasks__1": "Storyboard adverts", "q_tasks__2": "Pitch to clients"})
    names = [v.name for v in survey_variables(survey=tasks_survey, derived=False)]
    assert [n for n in names if n.startswith("tasks")] == [
        "tasks_1",
        "tasks_2",
        "tasks_3",
        "tasks_4",
    ]
    variables = [
        v for v in survey_variables(survey=tasks_survey, derived=False) if v.group == "tasks"
    ]
    ((_response, row),) = list(
        response_rows(survey=tasks_survey, variables=variables, responses=Response.objects.all())
    )
    assert row[:2] == ["Storyboard adverts", "Pitch to clients"]


@pytest.mark.django_db
def test_definition_round_trips_and_bad_item_counts_are_refused(tasks_survey) -> None:
    exported = survey_export_definition(survey=tasks_survey)
    question = exported["pages"][0]["questions"][0]
    assert (question["max_items"], question["min_items"]) == (4, 2)

    bad = copy.deepcopy(TASKS)
    bad["slug"] = "bad"
    bad["pages"][0]["questions"][0].update(max_items=2, min_items=3)
    with pytest.raises(DefinitionError) as caught:
        survey_import(definition=bad)
    assert "'min_items' cannot exceed 'max_items'" in str(caught.value.problems)

    bad["pages"][0]["questions"][0].update(max_items=99, min_items=None)
    with pytest.raises(DefinitionError) as caught:
        survey_import(definition=bad)
    assert "from 1 to 50" in str(caught.value.problems)


@pytest.mark.django_db
def test_the_default_survey_asks_for_main_tasks_in_both_languages(default_survey) -> None:
    question = default_survey.questions.get(code="main_tasks")
    assert question.type == "multiple_short_text" and question.classify
    assert question.item_count == 8
    assert question.text["zh-hans"] and question.text["en"]
