"""Survey definitions as JSON: validate, import and export whole surveys.

The format is the one of ``surveys/fixtures/default_survey.json``: a survey with its pages,
each page with its questions, choices and matrix rows, and every respondent-visible text as a
translation dict.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.db import transaction

from surveys.analytics.services import analytics_drop
from surveys.core.i18n import missing_languages
from surveys.definitions import conditions
from surveys.definitions.conditions import ConditionTarget
from surveys.definitions.question_types import (
    LIKERT_SCALES,
    NOT_APPLICABLE,
    QUESTION_TYPES,
    QuestionType,
    question_type,
)
from surveys.models import (
    DEFAULT_ITEMS,
    Choice,
    MatrixRow,
    Page,
    Question,
    Survey,
    survey_definition_changed,
)

SUPPORTED_LANGUAGES = ("en", "zh-hans")


class DefinitionError(ValueError):
    """A survey definition that cannot be imported; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validate_definition(definition: dict[str, Any]) -> list[str]:
    """Every problem found in `definition` (an empty list when it can be imported)."""
    if not isinstance(definition, dict):
        return ["The definition must be a JSON object."]
    problems, languages = _settings_problems(definition)
    need_text = _TextCheck(languages, problems)
    need_text("title", definition.get("title"))
    need_text("consent_text", definition.get("consent_text"))
    need_text("description", definition.get("description"), required=False)
    need_text("thank_you_text", definition.get("thank_you_text"), required=False)
    pages = definition.get("pages")
    if not isinstance(pages, list) or not pages:
        return [*problems, "'pages' must list at least one page."]
    _pages_problems(pages, need_text)
    return problems


def _settings_problems(definition: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(problems, languages) of the survey-wide settings; languages fall back to English."""
    problems: list[str] = []
    slug = definition.get("slug")
    if not isinstance(slug, str) or not slug:
        problems.append("'slug' is missing.")
    languages = definition.get("languages") or []
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(code, str) for code in languages)
    ):
        problems.append("'languages' must list at least one language.")
        languages = ["en"]
    for code in languages:
        if code not in SUPPORTED_LANGUAGES:
            problems.append(
                f"Language {code!r} is not supported ({', '.join(SUPPORTED_LANGUAGES)})."
            )
    if definition.get("default_language", languages[0]) not in languages:
        problems.append("'default_language' must be one of 'languages'.")
    if definition.get("status", "draft") not in Survey.Status.values:
        problems.append(f"'status' must be one of {', '.join(Survey.Status.values)}.")
    return problems, languages


class _TextCheck:
    """Reports, into `problems`, translation dicts that are malformed or miss a language."""

    def __init__(self, languages: list[str], problems: list[str]) -> None:
        self.languages = languages
        self.problems = problems

    def __call__(self, where: str, texts: Any, required: bool = True) -> None:
        if texts in (None, {}) and not required:
            return
        if not isinstance(texts, dict) or not all(isinstance(v, str) for v in texts.values()):
            self.problems.append(f"{where}: must be a dict of translations.")
            return
        if missing := missing_languages(texts, self.languages):
            self.problems.append(f"{where}: missing translation for {', '.join(missing)}.")


def _pages_problems(pages: list[Any], need_text: _TextCheck) -> None:
    """Report the problems of each page and its questions, in order, into need_text.problems."""
    problems = need_text.problems
    seen_pages: set[str] = set()
    earlier: dict[str, ConditionTarget] = {}  # questions on earlier pages, for skip logic
    for page_index, page in enumerate(pages, start=1):
        page_code = page.get("code") if isinstance(page, dict) else None
        if not isinstance(page_code, str):
            page_code = None
        where = f"page {page_index} ({page_code or '?'})"
        if not isinstance(page, dict) or not page_code:
            problems.append(f"{where}: needs a 'code'.")
            continue
        if page_code in seen_pages:
            problems.append(f"{where}: duplicate page code.")
        seen_pages.add(page_code)
        need_text(f"{where} title", page.get("title"), required=False)
        need_text(f"{where} intro", page.get("intro"), required=False)
        problems += _condition_problems(where, page.get("condition"), earlier)
        questions = page.get("questions") or []
        if not isinstance(questions, list) or not questions:
            problems.append(f"{where}: has no questions.")
            questions = []
        earlier.update(_page_questions_problems(where, questions, earlier, need_text))


def _page_questions_problems(
    where: str,
    questions: list[Any],
    earlier: dict[str, ConditionTarget],
    need_text: _TextCheck,
) -> dict[str, ConditionTarget]:
    """Report the problems of one page's questions; returns them as skip-logic targets."""
    problems = need_text.problems
    this_page: dict[str, ConditionTarget] = {}
    for question in questions:
        code = question.get("code") if isinstance(question, dict) else None
        if not isinstance(code, str):
            code = None
        qwhere = f"question {code or '?'}"
        if not code:
            problems.append(f"{where}: a question has no 'code'.")
            continue
        if code in earlier or code in this_page:
            problems.append(f"{qwhere}: duplicate question code.")
        this_page[code] = _condition_target(question)
        problems += _question_problems(qwhere, question, need_text)
        problems += _condition_problems(qwhere, question.get("condition"), earlier)
    return this_page


def _question_problems(where: str, question: dict[str, Any], need_text: _TextCheck) -> list[str]:
    kind_name = question.get("type")
    if not isinstance(kind_name, str) or kind_name not in QUESTION_TYPES:
        return [f"{where}: unknown type {kind_name!r}."]
    kind = question_type(kind_name)
    need_text(f"{where} text", question.get("text"))
    need_text(f"{where} help_text", question.get("help_text"), required=False)
    need_text(f"{where} unit", question.get("unit"), required=False)
    choices, rows, problems = _coded_items(where, question)
    problems += _choices_problems(where, kind, choices, need_text)
    problems += _scale_problems(where, kind, question.get("scale"), choices)
    if kind.has_rows:
        row_codes = [row.get("code") for row in rows]
        if not rows or len(set(row_codes)) != len(row_codes) or not all(row_codes):
            problems.append(f"{where}: a matrix needs rows with unique codes.")
        for row in rows:
            need_text(f"{where} row {row.get('code')}", row.get("text"))
    if kind.value_field == "number":
        problems += _bounds_problems(where, question.get("min_value"), question.get("max_value"))
    max_length = question.get("max_length")
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        problems.append(f"{where}: 'max_length' must be a positive whole number.")
    problems += _items_problems(where, kind, question)
    if question.get("classify") and not kind.classifiable:
        problems.append(
            f"{where}: only long_text and multiple_short_text questions can be classified."
        )
    return problems


def _items_problems(where: str, kind: QuestionType, question: dict[str, Any]) -> list[str]:
    """max_items (1..50) and min_items (1..max_items) of a multiple short text, and nowhere else."""
    given = {key: question.get(key) for key in ("max_items", "min_items")}
    if not kind.has_items:
        named = [key for key, value in given.items() if value is not None]
        return [f"{where}: a {kind.name} question takes no {', '.join(named)}."] if named else []
    problems = []
    for key, value in given.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50
        ):
            problems.append(f"{where}: '{key}' must be a whole number from 1 to 50.")
    if not problems and (given["min_items"] or 1) > (given["max_items"] or DEFAULT_ITEMS):
        problems.append(f"{where}: 'min_items' cannot exceed 'max_items'.")
    return problems


def _coded_items(
    where: str, question: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(choices, rows, problems): malformed entries are reported here, once, and left out."""
    problems: list[str] = []
    choices = question.get("choices") or []
    rows = question.get("rows") or []
    if not isinstance(choices, list) or not all(_coded(choice) for choice in choices):
        problems.append(f"{where}: choices must be objects with a 'code'.")
        choices = [c for c in choices if _coded(c)] if isinstance(choices, list) else []
    if not isinstance(rows, list) or not all(_coded(row) for row in rows):
        problems.append(f"{where}: rows must be objects with a 'code'.")
        rows = [r for r in rows if _coded(r)] if isinstance(rows, list) else []
    return choices, rows, problems


def _choices_problems(
    where: str, kind: QuestionType, choices: list[dict[str, Any]], need_text: _TextCheck
) -> list[str]:
    if not kind.has_choices:
        return [f"{where}: a {kind.name} question takes no choices."] if choices else []
    problems = []
    if not choices:
        problems.append(f"{where}: needs choices.")
    codes = [choice.get("code") for choice in choices]
    if len(set(codes)) != len(codes) or not all(codes):
        problems.append(f"{where}: choice codes must be present and unique.")
    for choice in choices:
        need_text(f"{where} choice {choice.get('code')}", choice.get("label"))
    return problems


def _scale_problems(
    where: str, kind: QuestionType, scale: Any, choices: list[dict[str, Any]]
) -> list[str]:
    if not kind.has_scale:
        return [] if scale is None else [f"{where}: only Likert questions have a 'scale'."]
    if isinstance(scale, bool) or not isinstance(scale, int) or scale not in LIKERT_SCALES:
        return [f"{where}: Likert 'scale' must be 5 or 7."]
    points = [c.get("code") for c in choices if c.get("code") != NOT_APPLICABLE]
    if points != [str(n) for n in range(1, scale + 1)]:
        return [f"{where}: Likert choices must be coded '1'..'{scale}' (plus 'na')."]
    return []


def _bounds_problems(where: str, low: Any, high: Any) -> list[str]:
    problems = []
    for key, value in (("min_value", low), ("max_value", high)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
            or abs(value) >= 1e10  # the column holds 10 digits before the point
        ):
            problems.append(f"{where}: '{key}' must be a number.")
    if not problems and (
        low is not None and high is not None and Decimal(str(high)) < Decimal(str(low))
    ):
        problems.append(f"{where}: max_value is below min_value.")
    return problems


def _coded(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("code"), str | int)


def _condition_target(question: dict[str, Any]) -> ConditionTarget:
    """What skip logic on later pages may know of `question` (malformed parts left out)."""

    def codes(key: str) -> frozenset[str]:
        items = question.get(key)
        return (
            frozenset(str(i["code"]) for i in items if _coded(i))
            if isinstance(items, list)
            else frozenset()
        )

    kind = question.get("type")
    return ConditionTarget(
        type=kind if isinstance(kind, str) else "", choices=codes("choices"), rows=codes("rows")
    )


def _condition_problems(
    where: str, condition: Any, earlier: dict[str, ConditionTarget]
) -> list[str]:
    return [
        f"{where} condition: {problem}"
        for problem in conditions.condition_problems(condition, earlier=earlier)
    ]


@transaction.atomic
def survey_import(*, definition: dict[str, Any], replace: bool = False) -> Survey:
    """Create the survey described by `definition`; with `replace`, update one without responses.

    Raises DefinitionError listing every problem; nothing is written unless all is well.
    """
    problems = validate_definition(definition)
    if problems and not isinstance(definition, dict):
        raise DefinitionError(problems)
    existing = Survey.objects.filter(slug=definition.get("slug")).first()
    if existing and not replace:
        problems.append(f"A survey with slug {existing.slug!r} exists already.")
    if existing and replace and existing.responses.exists():
        problems.append(
            f"Survey {existing.slug!r} has responses; its questions cannot be replaced. "
            "Duplicate it under a new slug instead."
        )
    if problems:
        raise DefinitionError(problems)
    if existing:
        analytics_drop(survey=existing)  # a survey without responses: its store holds nothing
        existing.delete()
    survey = _create_survey(definition)
    for page_position, page_data in enumerate(definition["pages"], start=1):
        page = Page.objects.create(
            survey=survey,
            code=page_data["code"],
            position=page_position,
            title=page_data.get("title") or {},
            intro=page_data.get("intro") or {},
            condition=page_data.get("condition") or None,
        )
        for position, data in enumerate(page_data["questions"], start=1):
            _create_question(page, position, data)
    # bulk_create sends no signals: mark the finished questionnaire as this survey's definition.
    survey_definition_changed(survey_ids=[survey.pk])
    return survey


def _create_survey(definition: dict[str, Any]) -> Survey:
    languages = definition["languages"]
    return Survey.objects.create(
        slug=definition["slug"],
        title=definition["title"],
        description=definition.get("description") or {},
        consent_text=definition["consent_text"],
        thank_you_text=definition.get("thank_you_text") or {},
        status=definition.get("status", Survey.Status.DRAFT),
        languages=languages,
        default_language=definition.get("default_language", languages[0]),
        invitation_only=bool(definition.get("invitation_only", False)),
    )


def _create_question(page: Page, position: int, data: dict[str, Any]) -> Question:
    question = Question.objects.create(
        survey=page.survey,
        page=page,
        code=data["code"],
        position=position,
        type=data["type"],
        text=data["text"],
        help_text=data.get("help_text") or {},
        required=bool(data.get("required", False)),
        classify=bool(data.get("classify", False)),
        condition=data.get("condition") or None,
        scale=data.get("scale"),
        min_value=_decimal(data.get("min_value")),
        max_value=_decimal(data.get("max_value")),
        integer=bool(data.get("integer", False)),
        unit=data.get("unit") or {},
        max_length=data.get("max_length"),
        max_items=data.get("max_items"),
        min_items=data.get("min_items"),
    )
    Choice.objects.bulk_create(
        Choice(
            question=question,
            code=str(choice["code"]),
            position=index,
            label=choice["label"],
            is_other=bool(choice.get("is_other", False)),
            exclusive=bool(choice.get("exclusive", False)),
            missing=_missing(data, choice),
            hidden=bool(choice.get("hidden", False)),
        )
        for index, choice in enumerate(data.get("choices") or [], start=1)
    )
    MatrixRow.objects.bulk_create(
        MatrixRow(question=question, code=row["code"], position=index, text=row["text"])
        for index, row in enumerate(data.get("rows") or [], start=1)
    )
    return question


def survey_export_definition(*, survey: Survey) -> dict[str, Any]:
    """The JSON definition of `survey`, importable by survey_import."""
    pages = [
        {
            "code": page.code,
            "title": page.title,
            "intro": page.intro,
            "condition": page.condition,
            "questions": [_question_definition(question) for question in page.questions.all()],
        }
        for page in survey.pages.prefetch_related("questions__choices", "questions__rows")
    ]
    return {
        "slug": survey.slug,
        "title": survey.title,
        "description": survey.description,
        "consent_text": survey.consent_text,
        "thank_you_text": survey.thank_you_text,
        "languages": survey.languages,
        "default_language": survey.default_language,
        "status": survey.status,
        "invitation_only": survey.invitation_only,
        "pages": pages,
    }


def _question_definition(question: Question) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": question.code,
        "type": question.type,
        "text": question.text,
        "required": question.required,
    }
    optional = {
        "help_text": question.help_text,
        "condition": question.condition,
        "scale": question.scale,
        "min_value": _plain(question.min_value),
        "max_value": _plain(question.max_value),
        "unit": question.unit,
        "max_length": question.max_length,
        "max_items": question.max_items,
        "min_items": question.min_items,
    }
    item.update({key: value for key, value in optional.items() if value not in (None, {})})
    if question.integer:
        item["integer"] = True
    if question.classify:
        item["classify"] = True
    choices = [
        {"code": c.code, "label": c.label}
        | ({"is_other": True} if c.is_other else {})
        | ({"exclusive": True} if c.exclusive else {})
        | ({"hidden": True} if c.hidden else {})
        | (
            {"missing": c.missing}
            if c.missing or _missing_by_default(question.type, c.code)
            else {}
        )
        for c in question.choices.all()
    ]
    if choices:
        item["choices"] = choices
    rows = [{"code": r.code, "text": r.text} for r in question.rows.all()]
    if rows:
        item["rows"] = rows
    return item


def _missing_by_default(question_kind: str, code: str) -> bool:
    """A Likert 'na' is non-substantive unless the definition says otherwise."""
    return question_type(question_kind).has_scale and code == NOT_APPLICABLE


def _missing(question: dict[str, Any], choice: dict[str, Any]) -> bool:
    """A choice's non-substantive flag (`missing`) as the definition gives it."""
    default = _missing_by_default(question["type"], str(choice["code"]))
    return bool(choice.get("missing", default))


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _plain(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
