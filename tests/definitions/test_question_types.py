"""Every question type, posted through the form, lands in the right typed Answer columns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from surveys.models import Answer, Response
from tests.surveys.helpers import document, errors, post, start, ui, url

VALID = {
    "q_pet": "other",
    "q_pet__other": "Axolotl",
    "q_media": ["video", "other"],
    "q_media__other": "Comics",
    "q_agree5": "4",
    "q_agree7": "7",
    "q_grid__fast": "5",
    "q_grid__cheap": "na",
    "q_age": "42",
    "q_hours": "2,5",
    "q_paid": "yes",
    "q_nickname": "Ace",
    "q_story": "I storyboard adverts; clients now want AI previs.",
    "q_job": "other",
    "q_job__other": "Puppeteer",
    "q_where": "CN",
}


def _answers(response: Response) -> dict[tuple[str, str], Answer]:
    return {(a.question.code, a.row): a for a in response.answers.select_related("question")}


@pytest.mark.django_db
def test_each_question_type_is_stored_in_its_typed_columns(client, all_types_survey):
    token = start(client, all_types_survey)
    result = post(client, token, VALID)
    assert result.status_code == 302, errors(result)

    response = Response.objects.get()
    answers = _answers(response)
    assert set(answers) == {
        ("pet", ""),
        ("media", ""),
        ("agree5", ""),
        ("agree7", ""),
        ("grid", "fast"),
        ("grid", "cheap"),
        ("age", ""),
        ("hours", ""),
        ("paid", ""),
        ("nickname", ""),
        ("story", ""),
        ("job", ""),
        ("where", ""),
    }
    pet = answers["pet", ""]
    assert (pet.choice, pet.text, pet.choices, pet.number, pet.boolean) == (
        "other",
        "Axolotl",
        [],
        None,
        None,
    )
    media = answers["media", ""]
    assert (media.choices, media.text, media.choice) == (["video", "other"], "Comics", "")
    assert answers["agree5", ""].choice == "4"
    assert answers["agree7", ""].choice == "7"
    assert answers["grid", "fast"].choice == "5"
    assert answers["grid", "cheap"].choice == "na"
    assert answers["age", ""].number == Decimal("42")
    assert answers["hours", ""].number == Decimal("2.5")  # a decimal comma is accepted
    assert answers["paid", ""].boolean is True
    assert answers["paid", ""].choice == "" and answers["paid", ""].text == ""
    assert answers["nickname", ""].text == "Ace"
    assert answers["story", ""].text == VALID["q_story"]
    job = answers["job", ""]
    assert (job.choice, job.text) == ("other", "Puppeteer")
    assert answers["where", ""].choice == "CN"


@pytest.mark.django_db
def test_coded_occupation_no_and_zero_are_real_answers(client, all_types_survey):
    token = start(client, all_types_survey)
    data = {
        "q_pet": "cat",
        "q_grid__fast": "1",
        "q_grid__cheap": "2",
        "q_paid": "no",
        "q_hours": "0",
        "q_job": "2655",
        "q_media": ["none"],
    }
    assert post(client, token, data).status_code == 302
    answers = _answers(Response.objects.get())
    assert answers["paid", ""].boolean is False
    assert answers["hours", ""].number == Decimal("0")
    assert (answers["job", ""].choice, answers["job", ""].text) == ("2655", "")
    assert answers["media", ""].choices == ["none"]
    # "Other" text is only kept for the other option.
    assert answers["pet", ""].text == ""


@pytest.mark.django_db
def test_exclusive_option_cannot_be_combined(client, all_types_survey):
    token = start(client, all_types_survey)
    data = {**VALID, "q_media": ["video", "none"]}
    result = post(client, token, data)
    assert result.status_code == 400
    assert any(
        ui("“%(labels)s” cannot be combined with other answers.", labels="None") in e
        for e in errors(result)
    )
    answers = _answers(Response.objects.get())
    assert ("media", "") not in answers
    assert answers["pet", ""].choice == "other"  # the valid answers on the page are kept


@pytest.mark.django_db
def test_other_needs_specifying(client, all_types_survey):
    token = start(client, all_types_survey)
    data = {**VALID, "q_pet__other": "", "q_job__other": ""}
    result = post(client, token, data)
    assert result.status_code == 400
    assert errors(result).count(ui("Please specify your answer for “other”.")) == 2


@pytest.mark.django_db
def test_required_questions_and_matrix_rows(client, all_types_survey):
    token = start(client, all_types_survey)
    result = post(client, token, {"q_grid__fast": "3"})
    assert result.status_code == 400
    shown = errors(result)
    assert ui("Please answer this question.") in shown  # pet
    assert any(e.startswith("It is cheap.: ") for e in shown)  # the unanswered matrix row
    answers = _answers(Response.objects.get())
    assert answers["grid", "fast"].choice == "3"
    assert ("grid", "cheap") not in answers


@pytest.mark.django_db
def test_answers_are_shown_again_and_blank_clears_them(client, all_types_survey):
    token = start(client, all_types_survey)
    assert post(client, token, VALID, action="save").status_code == 302
    page = document(client.get(url(token)))
    checked = {
        (e["attrs"]["name"], e["attrs"]["value"])
        for e in page.find("input")
        if "checked" in e["attrs"]
    }
    assert {
        ("q_pet", "other"),
        ("q_media", "video"),
        ("q_media", "other"),
        ("q_agree5", "4"),
        ("q_grid__fast", "5"),
        ("q_grid__cheap", "na"),
        ("q_paid", "yes"),
    } <= checked
    assert page.by_id("q_age")["attrs"]["value"] == "42"
    assert page.by_id("q_hours")["attrs"]["value"] == "2.5"
    assert page.by_id("q_pet__other")["attrs"]["value"] == "Axolotl"
    assert page.by_id("q_story")["text"] == VALID["q_story"]
    selected = {
        e["parents"][-1]["attrs"]["name"]: e["attrs"]["value"]
        for e in page.find("option")
        if "selected" in e["attrs"]
    }
    assert selected["q_job"] == "other" and selected["q_where"] == "CN"

    cleared = {**VALID, "q_nickname": "", "q_age": "", "q_media": []}
    assert post(client, token, cleared, action="save").status_code == 302
    codes = {a.question.code for a in Response.objects.get().answers.select_related("question")}
    assert not {"nickname", "age", "media"} & codes
    assert {"pet", "story", "job"} <= codes


def test_the_registry_has_one_entry_per_model_type():
    from surveys.definitions.question_types import QUESTION_TYPES, question_type
    from surveys.models import Question

    assert list(QUESTION_TYPES) == list(Question.Type.values)
    assert {t for t in Question.Type.values if question_type(t).has_choices} == {
        str(t) for t in Question.CHOICE_TYPES
    }
    assert {t for t in Question.Type.values if question_type(t).is_text} == {
        str(t) for t in Question.TEXT_TYPES
    }
    assert [t for t in Question.Type.values if question_type(t).has_rows] == ["likert_matrix"]
    assert [t for t in Question.Type.values if question_type(t).classifiable] == [
        "long_text",
        "multiple_short_text",
    ]
