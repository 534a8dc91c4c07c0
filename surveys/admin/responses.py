"""Responses in the workbench: read-only, filtered by survey variables, answers shown as labels."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from surveys import reference
from surveys.admin.scoping import ReadOnlyScopedAdmin
from surveys.core.access import surveys_for
from surveys.core.i18n import translate
from surveys.definitions.question_types import QUESTION_TYPES, question_type
from surveys.models import Answer, Choice, MatrixRow, Question, Response, Survey
from surveys.variables.catalogue import SurveyVariable, derived_variables, survey_variables
from surveys.variables.filters import response_filter, responses_where
from surveys.variables.reader import response_rows


def _selected_survey(request: HttpRequest) -> Survey | None:
    raw = request.GET.get("survey__id__exact", "")
    if not raw.isdigit():
        return None
    return surveys_for(user=request.user, permission="view").filter(pk=int(raw)).first()


def _variable_filter(
    *,
    title: str,
    parameter: str,
    options: list[tuple[str, str]],
    apply: Callable[[QuerySet[Response], str], QuerySet[Response]],
) -> type[admin.SimpleListFilter]:
    """A list filter over one survey variable (built per request: it depends on the survey)."""

    def lookups(self: Any, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return options

    def queryset(self: Any, request: HttpRequest, queryset: QuerySet[Response]) -> Any:
        value = self.value()
        if value is None:
            return queryset
        if value not in dict(options):
            return queryset.none()
        return apply(queryset, value)

    return type(
        f"Filter_{parameter}",
        (admin.SimpleListFilter,),
        {"title": title, "parameter_name": parameter, "lookups": lookups, "queryset": queryset},
    )


def response_filters(survey: Survey) -> list[type[admin.SimpleListFilter]]:
    """Occupation, country and classification filters of `survey`'s responses."""
    return [*_coded_list_filters(survey), *_derived_filters(survey)]


def _coded_list_filters(survey: Survey) -> list[type[admin.SimpleListFilter]]:
    """One filter per occupation or country question, offering the codes answered so far."""
    filters: list[type[admin.SimpleListFilter]] = []
    base = survey_variables(survey=survey, derived=False)
    for kind in QUESTION_TYPES.values():
        title = kind.coded_list
        if title is None:
            continue
        for question in Question.objects.filter(survey=survey, type=kind.name).order_by(
            "page__position", "position"
        ):
            variable = next((v for v in base if v.source == ("answer", question.pk, "")), None)
            if variable is None:
                continue
            codes = (
                Answer.objects.filter(question=question)
                .exclude(choice="")
                .order_by()
                .values_list("choice", flat=True)
                .distinct()
            )
            options = sorted(
                ((code, variable.value_label(code, "en")) for code in codes),
                key=lambda option: option[1],
            )
            filters.append(
                _variable_filter(
                    title=f"{title} ({question.code})" if title != question.code else title,
                    parameter=f"v_{variable.name}",
                    options=options,
                    apply=response_filter(variable),
                )
            )
    return filters


def _derived_filters(survey: Survey) -> list[type[admin.SimpleListFilter]]:
    """One filter per classification variable; multi-label codings as one filter per group."""
    filters: list[type[admin.SimpleListFilter]] = []
    derived = derived_variables(survey=survey)
    groups: dict[str, list[SurveyVariable]] = {}
    for variable in derived:
        if variable.kind == "multi_flag":
            groups.setdefault(variable.group, []).append(variable)
    for variable in derived:
        if variable.kind == "categorical":
            filters.append(
                _variable_filter(
                    title=variable.label_in("en"),
                    parameter=f"v_{variable.name}",
                    options=[
                        (code, variable.value_label(code, "en")) for code in variable.value_labels
                    ],
                    apply=response_filter(variable),
                )
            )
        elif variable.kind == "multi_flag" and variable.group in groups:
            filters.append(_flag_group_filter(variable.group, groups.pop(variable.group)))
    return filters


def _flag_group_filter(group: str, flags: list[SurveyVariable]) -> type[admin.SimpleListFilter]:
    by_name = {flag.name: flag for flag in flags}
    label = flags[0].label_in("en")
    return _variable_filter(
        title=label.rsplit(":", 1)[0] if ":" in label else label,
        parameter="g_" + re.sub(r"\W+", "_", group),
        options=[(flag.name, flag.label_in("en").rsplit(":", 1)[-1].strip()) for flag in flags],
        apply=lambda queryset, name: responses_where(
            responses=queryset, variable=by_name[name], code="1"
        ),
    )


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def response_answer_rows(response: Response, language: str = "en") -> list[tuple[str, str, str]]:
    """(page, question with row, answer) in questionnaire order, with labels instead of codes."""
    survey = response.survey
    answers = list(
        response.answers.select_related("question", "question__page").order_by(
            "question__page__position", "question__position", "row"
        )
    )
    question_ids = {a.question_id for a in answers}
    choices = {
        (c.question_id, c.code): c.label for c in Choice.objects.filter(question__in=question_ids)
    }
    rows = {
        (r.question_id, r.code): r.text for r in MatrixRow.objects.filter(question__in=question_ids)
    }
    countries = dict(reference.countries(language))

    def t(texts: Any) -> str:
        return translate(texts, language, survey.default_language)

    result = []
    for answer in answers:
        question = answer.question
        label = t(question.text)
        if answer.row:
            label = f"{label} — {t(rows.get((question.pk, answer.row), answer.row))}"
        value = _answer_label(
            answer=answer, t=t, choices=choices, countries=countries, language=language
        )
        result.append((f"{question.page.position}. {question.page.code}", label, value))
    return result


def _answer_label(
    *,
    answer: Answer,
    t: Callable[[Any], str],
    choices: Mapping[tuple[int, str], Any],
    countries: Mapping[str, str],
    language: str,
) -> str:
    """The answer as a reader sees it: labels for codes, the unit, and any "other" text."""
    question = answer.question
    kind = question_type(question.type)
    if kind.value_field == "boolean":
        value = "" if answer.boolean is None else ("Yes" if answer.boolean else "No")
    elif kind.value_field == "number":
        value = " ".join(filter(None, [_number(answer.number), t(question.unit)]))
    elif kind.is_text:
        value = answer.text
    elif kind.value_field == "choices":
        value = ", ".join(t(choices.get((question.pk, c), c)) for c in answer.choices)
    elif kind.coded_list == "occupation":
        value = reference.occupation_label(answer.choice, language) if answer.choice else ""
    elif kind.coded_list == "country":
        value = countries.get(answer.choice, answer.choice)
    else:
        value = t(choices.get((question.pk, answer.choice), answer.choice))
    if answer.text and not kind.is_text:  # the "other, please specify" text
        value = f"{value} — “{answer.text}”"
    return value


def _numeric(value: Any) -> str:
    """Counts (tasks coded, provisional) as whole numbers; scores and confidences to 2 places."""
    return str(value) if isinstance(value, int) else f"{float(value):.2f}"


def response_classification_rows(response: Response) -> list[tuple[str, str]]:
    """(variable label, value label) of the derived (classification) variables of `response`."""
    variables = derived_variables(survey=response.survey)
    if not variables:
        return []
    rows: list[tuple[str, str]] = []
    for _response, values in response_rows(
        survey=response.survey,
        variables=variables,
        responses=Response.objects.filter(pk=response.pk),
    ):
        flags: dict[str, tuple[str, list[str]]] = {}
        for variable, value in zip(variables, values, strict=True):
            if value is None:
                continue
            label = variable.label_in("en")
            if variable.kind == "multi_flag":
                # One line per multi-label coding: "question — codebook: the categories coded".
                group, _sep, category = label.rpartition(":")
                if variable.group not in flags:
                    flags[variable.group] = (group or label, [])
                    rows.append((variable.group, ""))
                if value == 1:
                    flags[variable.group][1].append(category.strip() or variable.name)
                continue
            shown = _numeric(value) if variable.kind == "numeric" else None
            rows.append((label, shown or variable.value_label(value, "en")))
    return [
        (flags[a][0], ", ".join(flags[a][1]) or "none") if a in flags and not b else (a, b)
        for a, b in rows
    ]


@admin.register(Response)
class ResponseAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "public_id",
        "survey",
        "language",
        "status",
        "started_at",
        "submitted_at",
        "duration",
    ]
    list_select_related = ["survey"]
    search_fields = ["public_id", "answers__text"]
    date_hierarchy = "submitted_at"
    fields = [
        ("public_id", "survey"),
        ("language", "status"),
        ("started_at", "submitted_at", "duration"),
        "answers_table",
        "classification_table",
    ]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            "public_id",
            "survey",
            "language",
            "status",
            "started_at",
            "submitted_at",
            "duration",
            "answers_table",
            "classification_table",
        ]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters: list[Any] = [
            ("survey", admin.RelatedOnlyFieldListFilter),
            "status",
            "language",
        ]
        survey = _selected_survey(request)
        if survey is not None:
            filters += response_filters(survey)
        return filters

    @admin.display(description="time spent")
    def duration(self, obj: Response) -> str:
        seconds = obj.time_spent_seconds
        if not seconds:
            return "—"
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest:02d} s"

    @admin.display(description="answers")
    def answers_table(self, obj: Response) -> SafeString:
        rows = response_answer_rows(obj)
        if not rows:
            return format_html("{}", "No answers.")
        body = format_html_join(
            "",
            "<tr><td>{}</td><th scope='row'>{}</th><td>{}</td></tr>",
            ((page, label, linebreaksbr(value)) for page, label, value in rows),
        )
        return format_html(
            '<table class="answers"><thead><tr><th scope="col">page</th>'
            '<th scope="col">question</th><th scope="col">answer</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="classification")
    def classification_table(self, obj: Response) -> SafeString:
        rows = response_classification_rows(obj)
        if not rows:
            return format_html("{}", "Not classified (yet).")
        body = format_html_join(
            "", "<tr><th scope='row'>{}</th><td>{}</td></tr>", ((a, b) for a, b in rows)
        )
        return format_html('<table class="answers"><tbody>{}</tbody></table>', body)
