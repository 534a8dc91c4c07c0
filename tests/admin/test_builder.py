"""The survey builder: translation inputs, skip-logic validation, creation, protected deletion."""

from __future__ import annotations

import pytest
from django.urls import reverse

from surveys.models import AuditEntry, Page, Question, Survey, SurveyRole
from tests.admin.conftest import ESCAPED, EVIL, make_responses

pytestmark = pytest.mark.django_db


def _management(prefix: str, total: int = 0, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _survey_data(slug: str, **extra: str) -> dict[str, object]:
    data: dict[str, object] = {
        "slug": slug,
        "title_en": "A new survey",
        "title_zh-hans": "新调查",
        "description_en": "",
        "description_zh-hans": "",
        "consent_text_en": "Please agree.",
        "consent_text_zh-hans": "请同意。",
        "thank_you_text_en": "",
        "thank_you_text_zh-hans": "",
        "languages": ["en", "zh-hans"],
        "default_language": "en",
        "min_cell_size": "10",
        **_management("pages"),
        **_management("questions"),
    }
    data.update(extra)
    return data


def test_creating_a_survey_makes_the_creator_owner(accounts):
    client = accounts.client("stranger")
    response = client.post(reverse("admin:surveys_survey_add"), _survey_data("fresh"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    survey = Survey.objects.get(slug="fresh")
    assert survey.status == Survey.Status.DRAFT
    assert survey.title == {"en": "A new survey", "zh-hans": "新调查"}
    assert SurveyRole.objects.get(survey=survey).role == "owner"
    assert AuditEntry.objects.filter(survey=survey, action="role").exists()
    assert client.get(reverse("admin:surveys_survey_change", args=[survey.pk])).status_code == 200


def test_translation_widget_shows_one_labelled_input_per_language(accounts):
    page = accounts.client("owner").get(reverse("admin:surveys_survey_add"))
    body = page.content.decode()
    assert 'name="title_en"' in body and 'name="title_zh-hans"' in body
    assert 'lang="zh-hans"' in body and "简体中文" in body
    assert '{"en"' not in body  # no raw JSON to type


def test_missing_translation_is_a_form_error(accounts):
    data = _survey_data("half", **{"title_zh-hans": ""})
    page = accounts.client("owner").post(reverse("admin:surveys_survey_add"), data)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "简体中文" in errors["title"][0]
    assert not Survey.objects.filter(slug="half").exists()


def _question_data(question: Question, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "page": question.page_id,
        "position": question.position,
        "code": question.code,
        "type": question.type,
        "text_en": question.text["en"],
        "text_zh-hans": question.text["zh-hans"],
        "help_text_en": question.help_text.get("en", ""),
        "help_text_zh-hans": question.help_text.get("zh-hans", ""),
        "unit_en": "",
        "unit_zh-hans": "",
        **menus(),
        "scale": question.scale or "",
        "min_value": "",
        "max_value": "",
        "max_length": question.max_length or "",
        **_management("choices", question.choices.count()),
        **_management("rows", question.rows.count()),
    }
    for n, choice in enumerate(question.choices.all()):
        data.update(
            {
                f"choices-{n}-id": choice.pk,
                f"choices-{n}-question": question.pk,
                f"choices-{n}-position": choice.position,
                f"choices-{n}-code": choice.code,
                f"choices-{n}-label_en": choice.label["en"],
                f"choices-{n}-label_zh-hans": choice.label["zh-hans"],
            }
        )
        for flag in ("is_other", "exclusive", "hidden"):  # ticked boxes, as the browser sends
            if getattr(choice, flag):
                data[f"choices-{n}-{flag}"] = "on"
    data["choices-INITIAL_FORMS"] = str(question.choices.count())
    data.update(changes)
    return data


def menus(*rows: tuple[str, ...], match: str = "all", **extra: str) -> dict[str, str]:
    """The skip-logic menus as a browser sends them: (question, operator, answer, typed) rows."""
    data = {"condition-match": match}
    for n in range(3):
        row = rows[n] if n < len(rows) else ("", "", "", "")
        for part, value in zip(("question", "op", "choice", "typed"), row, strict=False):
            data[f"condition-{n}-{part}"] = value
    data.update({f"condition-{key}": value for key, value in extra.items()})
    return data


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("nonexistent", "answered")], "not a question on an earlier page"),
        ([("change_text", "answered")], "not a question on an earlier page"),
        ([("exposure_matrix:nope", "answered")], "not a question on an earlier page"),
        ([("employment_type", "gt", '"staff"')], "cannot be compared"),
        ([("employment_type", "equals", '"pirate"')], "Pick one of the answers"),
        ([("years_experience", "gte", "", "many")], "is not a number"),
        ([("", "equals")], "Pick the question"),
    ],
)
def test_bad_skip_logic_is_a_form_error(survey, accounts, rows, message):
    question = survey.questions.get(code="gained_work_text")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    page = accounts.client("editor").post(url, {**_question_data(question), **menus(*rows)})
    assert page.status_code == 200
    errors = " ".join(page.context["adminform"].form.errors.get("condition", []))
    assert message in errors
    question.refresh_from_db()
    assert question.condition is None


def test_a_kept_condition_goes_through_the_one_skip_logic_check(survey, accounts):
    question = survey.questions.get(code="gained_work_text")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    kept = '{"not": {"question": "change_text", "op": "answered"}}'
    page = accounts.client("editor").post(url, {**_question_data(question), **menus(kept=kept)})
    assert page.status_code == 200
    assert "earlier page" in " ".join(page.context["adminform"].form.errors["condition"])


def test_good_skip_logic_is_saved(survey, accounts):
    question = survey.questions.get(code="gained_work_text")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    rows = [("employment_type", "equals", '"freelance"'), ("years_experience", "gte", "", "2.5")]
    page = accounts.client("editor").post(
        url, {**_question_data(question), **menus(*rows, match="any")}
    )
    assert page.status_code == 302
    question.refresh_from_db()
    assert question.condition == {
        "any": [
            {"question": "employment_type", "op": "equals", "value": "freelance"},
            {"question": "years_experience", "op": "gte", "value": 2.5},
        ]
    }


def test_page_condition_validated_on_the_survey_page(survey, accounts):
    page = survey.pages.get(code="loss_details")
    url = reverse("admin:surveys_page_change", args=[page.pk])
    data = {
        "code": page.code,
        "title_en": page.title["en"],
        "title_zh-hans": page.title["zh-hans"],
        "intro_en": "",
        "intro_zh-hans": "",
        **menus(("change_text", "answered")),
        **_management("questions"),
    }
    result = accounts.client("owner").post(url, data)
    assert result.status_code == 200
    assert "earlier page" in " ".join(result.context["adminform"].form.errors["condition"])


def test_classify_only_for_long_text(survey, accounts):
    question = survey.questions.get(code="gained_work_text")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    page = accounts.client("owner").post(url, _question_data(question, classify="on"))
    assert page.status_code == 200
    errors = str(page.context["adminform"].form.errors)
    assert "Only long free text and multiple short text" in errors


def test_duplicate_question_code_is_a_form_error(survey, accounts):
    question = survey.questions.get(code="gained_work_text")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    page = accounts.client("owner").post(url, _question_data(question, code="occupation"))
    assert page.status_code == 200
    assert "already has a question" in str(page.context["adminform"].form.errors["code"])


def test_question_with_answers_cannot_be_deleted(survey, accounts):
    make_responses(survey, 2)
    question = survey.questions.get(code="occupation")
    url = reverse("admin:surveys_question_delete", args=[question.pk])
    client = accounts.client("owner")
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "answered in 2 response(s)" in body
    assert client.post(url, {"post": "yes"}).status_code in (200, 403)
    assert Question.objects.filter(pk=question.pk).exists()


def test_page_with_answers_cannot_be_deleted_inline(survey, accounts):
    make_responses(survey, 1)
    client = accounts.client("owner")
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    page = survey.pages.get(code="about_you")
    payload = _survey_data(survey.slug)
    payload.update(_management("pages", 1, 1))
    payload.update(
        {
            "title_en": survey.title["en"],
            "title_zh-hans": survey.title["zh-hans"],
            "consent_text_en": survey.consent_text["en"],
            "consent_text_zh-hans": survey.consent_text["zh-hans"],
            "pages-0-id": page.pk,
            "pages-0-survey": survey.pk,
            "pages-0-position": page.position,
            "pages-0-code": page.code,
            "pages-0-title_en": page.title["en"],
            "pages-0-title_zh-hans": page.title["zh-hans"],
            "pages-0-DELETE": "on",
        }
    )
    assert data  # the page rendered its form
    result = client.post(url, payload)
    assert result.status_code == 200
    assert "cannot be deleted" in result.content.decode()
    assert Page.objects.filter(pk=page.pk).exists()


def test_survey_with_responses_cannot_be_deleted(survey, accounts):
    make_responses(survey, 1)
    page = accounts.client("owner").get(reverse("admin:surveys_survey_delete", args=[survey.pk]))
    assert page.status_code == 200
    assert "has 1 response(s)" in page.content.decode()
    assert (
        accounts.client("editor")
        .get(reverse("admin:surveys_survey_delete", args=[survey.pk]))
        .status_code
        == 403
    )


def test_survey_texts_are_escaped_in_the_builder(survey, accounts):
    Question.objects.filter(survey=survey, code="occupation").update(
        text={"en": EVIL, "zh-hans": EVIL}
    )
    Survey.objects.filter(pk=survey.pk).update(title={"en": EVIL, "zh-hans": EVIL})
    client = accounts.client("owner")
    for url in [
        reverse("admin:surveys_survey_change", args=[survey.pk]),
        reverse("admin:surveys_survey_changelist"),
        reverse("admin:surveys_question_changelist"),
        reverse("admin:surveys_page_change", args=[survey.pages.first().pk]),
    ]:
        body = client.get(url).content.decode()
        assert EVIL not in body, url
    body = client.get(reverse("admin:surveys_survey_change", args=[survey.pk])).content.decode()
    assert ESCAPED in body


def test_viewer_sees_the_builder_read_only(survey, accounts):
    client = accounts.client("viewer")
    question = survey.questions.get(code="gained_work_text")
    url = reverse("admin:surveys_question_change", args=[question.pk])
    assert client.post(url, _question_data(question, code="changed")).status_code == 403
    question.refresh_from_db()
    assert question.code == "gained_work_text"
