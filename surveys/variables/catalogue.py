"""A survey's data as variables: one column per question, matrix row or choice flag.

Exports, the statistics API and raw-data endpoints all read responses through this module. Other
apps add derived variables (the classifier adds categories and confidences) by registering a
provider, so that surveys never imports them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, Protocol

from django.db.models import QuerySet

from surveys import reference
from surveys.core.i18n import translate
from surveys.models import Answer, Question, Response, Survey

Kind = Literal["categorical", "multi_flag", "numeric", "text", "datetime"]
Texts = dict[str, str]

_CHOICE_KINDS = {
    Question.Type.SINGLE_CHOICE,
    Question.Type.LIKERT,
    Question.Type.OCCUPATION,
    Question.Type.COUNTRY,
}
_YES_NO_LABELS: dict[str, Texts] = {
    "1": {"en": "Yes", "zh-hans": "是"},
    "0": {"en": "No", "zh-hans": "否"},
}
_FLAG_LABELS: dict[str, Texts] = {
    "1": {"en": "selected", "zh-hans": "已选"},
    "0": {"en": "not selected", "zh-hans": "未选"},
}


@dataclass(frozen=True)
class SurveyVariable:
    """One column of a survey's data, with translated wording and value labels."""

    name: str
    label: Texts
    kind: Kind
    value_labels: dict[str, Texts] = field(default_factory=dict)
    definitions: dict[str, Texts] = field(default_factory=dict)
    measure: Literal["nominal", "ordinal", "scale"] = "nominal"
    # Where the value comes from: ("response", attribute), ("answer", question_id, row),
    # ("flag", question_id, choice_code), ("other", question_id) or (provider name, key).
    source: tuple[Any, ...] = ()
    group: str = ""  # the question code or provider key the column belongs to
    boolean: bool = False  # a yes/no answer, stored as a boolean and shown as "1"/"0"

    @property
    def categorical(self) -> bool:
        """Usable as a category in counts and cross-tabulations."""
        return self.kind in {"categorical", "multi_flag"}

    def label_in(self, language: str) -> str:
        return translate(self.label, language)

    def value_label(self, code: Any, language: str) -> str:
        texts = self.value_labels.get(str(code))
        return translate(texts, language) if texts else str(code)


class VariableProvider(Protocol):
    """Adds derived variables to a survey's data (registered by other apps at start-up)."""

    name: str

    def variables(self, survey: Survey) -> list[SurveyVariable]: ...

    def values(
        self, survey: Survey, variables: Sequence[SurveyVariable], response_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        """{response id: {variable name: value}} for the given responses (one or few queries).

        `response_ids` may also be a query of ids, which the ORM uses as a subquery.
        """
        ...

    def filter(
        self, responses: QuerySet[Response], variable: SurveyVariable, code: str
    ) -> QuerySet[Response]:
        """The responses whose value of `variable` is `code`."""
        ...


_providers: dict[str, VariableProvider] = {}


def register_provider(provider: VariableProvider) -> None:
    """Register (or replace) a provider of derived variables under its name."""
    _providers[provider.name] = provider


def _response_variables() -> list[SurveyVariable]:
    return [
        SurveyVariable(
            "response_id",
            {"en": "Response identifier", "zh-hans": "答卷编号"},
            "text",
            source=("response", "public_id"),
        ),
        SurveyVariable(
            "language",
            {"en": "Language of the response", "zh-hans": "作答语言"},
            "categorical",
            value_labels={
                "en": {"en": "English", "zh-hans": "英语"},
                "zh-hans": {"en": "Simplified Chinese", "zh-hans": "简体中文"},
            },
            source=("response", "language"),
        ),
        SurveyVariable(
            "status",
            {"en": "Status", "zh-hans": "状态"},
            "categorical",
            value_labels={
                "complete": {"en": "Complete", "zh-hans": "已完成"},
                "in_progress": {"en": "In progress", "zh-hans": "进行中"},
            },
            source=("response", "status"),
        ),
        SurveyVariable(
            "started_at",
            {"en": "Started (UTC, to the minute)", "zh-hans": "开始时间（UTC）"},
            "datetime",
            source=("response", "started_at"),
            measure="scale",
        ),
        SurveyVariable(
            "submitted_at",
            {"en": "Submitted (UTC, to the minute)", "zh-hans": "提交时间（UTC）"},
            "datetime",
            source=("response", "submitted_at"),
            measure="scale",
        ),
        SurveyVariable(
            "duration_seconds",
            {"en": "Time spent on the pages (seconds)", "zh-hans": "作答用时（秒）"},
            "numeric",
            source=("response", "duration"),
            measure="scale",
        ),
    ]


def _question_variables(question: Question) -> list[SurveyVariable]:
    kind = question.type
    choices = {c.code: c.label for c in question.choices.all()}
    qid = question.pk
    code = question.code
    ordinal = (
        "ordinal" if kind in {Question.Type.LIKERT, Question.Type.LIKERT_MATRIX} else "nominal"
    )
    out: list[SurveyVariable] = []
    if kind == Question.Type.LIKERT_MATRIX:
        for row in question.rows.all():
            label = {
                lang: f"{translate(question.text, lang)} — {translate(row.text, lang)}"
                for lang in {*question.text, *row.text}
            }
            out.append(
                SurveyVariable(
                    f"{code}_{row.code}",
                    label,
                    "categorical",
                    value_labels=choices,
                    measure=ordinal,
                    source=("answer", qid, row.code),
                    group=code,
                )
            )
        return out
    if kind == Question.Type.MULTIPLE_CHOICE:
        for choice in question.choices.all():
            label = {
                lang: f"{translate(question.text, lang)} — {translate(choice.label, lang)}"
                for lang in {*question.text, *choice.label}
            }
            out.append(
                SurveyVariable(
                    f"{code}_{choice.code}",
                    label,
                    "multi_flag",
                    value_labels=_FLAG_LABELS,
                    source=("flag", qid, choice.code),
                    group=code,
                )
            )
    elif kind in _CHOICE_KINDS:
        value_labels = choices
        if kind == Question.Type.OCCUPATION:
            value_labels = {o.isco: o.label for o in reference.occupations()}
            value_labels[reference.OTHER] = {"en": "Other", "zh-hans": "其他"}
        elif kind == Question.Type.COUNTRY:
            english = dict(reference.countries("en"))
            chinese = dict(reference.countries("zh-hans"))
            value_labels = {
                c: {"en": english[c], "zh-hans": chinese.get(c, english[c])} for c in english
            }
        out.append(
            SurveyVariable(
                code,
                question.text,
                "categorical",
                value_labels=value_labels,
                measure=ordinal,
                source=("answer", qid, ""),
                group=code,
            )
        )
    elif kind == Question.Type.YES_NO:
        out.append(
            SurveyVariable(
                code,
                question.text,
                "categorical",
                value_labels=_YES_NO_LABELS,
                boolean=True,
                source=("answer", qid, ""),
                group=code,
            )
        )
    elif kind == Question.Type.NUMBER:
        out.append(
            SurveyVariable(
                code,
                question.text,
                "numeric",
                measure="scale",
                source=("answer", qid, ""),
                group=code,
            )
        )
    else:
        out.append(
            SurveyVariable(code, question.text, "text", source=("answer", qid, ""), group=code)
        )
    has_other = kind == Question.Type.OCCUPATION or any(c.is_other for c in question.choices.all())
    if has_other:
        label = {
            lang: f"{translate(question.text, lang)} — other (specified)" for lang in question.text
        }
        out.append(
            SurveyVariable(f"{code}_other_text", label, "text", source=("other", qid), group=code)
        )
    return out


def survey_variables(*, survey: Survey, derived: bool = True) -> list[SurveyVariable]:
    """Every variable of `survey`, in questionnaire order, then those of registered providers."""
    questions = (
        Question.objects.filter(survey=survey)
        .order_by("page__position", "position")
        .prefetch_related("choices", "rows")
    )
    variables = _response_variables()
    for question in questions:
        variables += _question_variables(question)
    if derived:
        for provider in _providers.values():
            variables += provider.variables(survey)
    return _unique_names(variables)


def _unique_names(variables: list[SurveyVariable]) -> list[SurveyVariable]:
    """Codes are free-form, so two columns may collide (q 'a_b' vs q 'a' row 'b'): number them."""
    seen: set[str] = set()
    result = []
    for variable in variables:
        name, n = variable.name, 1
        while name in seen:
            n += 1
            name = f"{variable.name}_{n}"
        seen.add(name)
        result.append(variable if name == variable.name else replace(variable, name=name))
    return result


def variable_by_name(*, survey: Survey, name: str) -> SurveyVariable | None:
    """The variable called `name`, or None."""
    return next((v for v in survey_variables(survey=survey) if v.name == name), None)


def _answer_value(
    kind: str, boolean_question: bool, choice: str, number: Any, boolean: bool | None, text: str
) -> Any:
    if boolean_question:
        return None if boolean is None else ("1" if boolean else "0")
    if kind == "numeric":
        return number
    if kind == "text":
        return text
    return choice


def response_rows(
    *,
    survey: Survey,
    variables: Sequence[SurveyVariable],
    responses: QuerySet[Response],
    chunk_size: int = 2000,
) -> Iterator[tuple[Response, list[Any]]]:
    """Yield (response, values aligned with `variables`) in constant memory, chunk by chunk."""
    by_source: dict[tuple[Any, ...], int] = {v.source: i for i, v in enumerate(variables)}
    by_name = {v.name: i for i, v in enumerate(variables)}
    question_ids = {
        v.source[1] for v in variables if v.source and v.source[0] in {"answer", "flag", "other"}
    }
    types = dict(Question.objects.filter(pk__in=question_ids).values_list("pk", "type"))
    multi = {pk for pk, kind in types.items() if kind == Question.Type.MULTIPLE_CHOICE}
    yes_no = {pk for pk, kind in types.items() if kind == Question.Type.YES_NO}
    flags = [
        (i, v.source[1])
        for i, v in enumerate(variables)
        if v.kind == "multi_flag" and v.source and v.source[0] == "flag"
    ]
    from_response = [
        (i, v.source[1]) for i, v in enumerate(variables) if v.source and v.source[0] == "response"
    ]
    providers = {}
    for variable in variables:
        provider = _providers.get(variable.source[0]) if variable.source else None
        if provider is not None:
            providers.setdefault(provider.name, (provider, []))[1].append(variable)
    last_id = 0
    base = responses.order_by("pk")
    while True:
        chunk = list(base.filter(pk__gt=last_id)[:chunk_size])
        if not chunk:
            return
        last_id = chunk[-1].pk
        ids = [r.pk for r in chunk]
        rows: dict[int, list[Any]] = {r.pk: [None] * len(variables) for r in chunk}
        # Plain tuples, not model instances: this loop runs once per stored answer.
        answers = Answer.objects.filter(
            response_id__in=ids, question_id__in=question_ids
        ).values_list(
            "response_id", "question_id", "row", "choice", "choices", "number", "boolean", "text"
        )
        # A multiple-choice question answered without an option is "not selected", not missing.
        answered_multi: set[tuple[int, int]] = set()
        for (
            response_id,
            question_id,
            row_code,
            choice,
            choices,
            number,
            boolean,
            text,
        ) in answers.iterator(chunk_size=5000):
            row = rows[response_id]
            if question_id in multi:
                answered_multi.add((response_id, question_id))
            position = by_source.get(("answer", question_id, row_code))
            if position is not None:
                row[position] = _answer_value(
                    variables[position].kind, question_id in yes_no, choice, number, boolean, text
                )
            for code in choices or ():
                flag = by_source.get(("flag", question_id, code))
                if flag is not None:
                    row[flag] = 1
            other = by_source.get(("other", question_id))
            if other is not None and text:
                row[other] = text
        for response in chunk:
            row = rows[response.pk]
            for i, question_id in flags:
                if row[i] is None and (response.pk, question_id) in answered_multi:
                    row[i] = 0
            for i, attribute in from_response:
                row[i] = _response_value(response, attribute)
        for provider, wanted in providers.values():
            derived = provider.values(survey, wanted, ids)
            for response_id, values in derived.items():
                row = rows.get(response_id)
                if row is None:
                    continue
                for variable in wanted:
                    if variable.name in values:
                        row[by_name[variable.name]] = values[variable.name]
        for response in chunk:
            yield response, rows[response.pk]


def _response_value(response: Response, attribute: str) -> Any:
    if attribute == "duration":
        seconds = sum(int(v) for v in (response.page_seconds or {}).values())
        return Decimal(seconds) if response.page_seconds else None
    return getattr(response, attribute)


def responses_where(
    *, responses: QuerySet[Response], variable: SurveyVariable, code: str
) -> QuerySet[Response]:
    """Narrow `responses` to those whose value of a categorical `variable` is `code`.

    Raises ValueError when the variable cannot be filtered on.
    """
    origin = variable.source[0] if variable.source else ""
    if origin == "answer" and variable.categorical:
        question_id, row = variable.source[1], variable.source[2]
        answers = Answer.objects.filter(question_id=question_id, row=row)
        if variable.boolean:
            answers = answers.filter(boolean=code == "1")
        else:
            answers = answers.filter(choice=code)
        return responses.filter(pk__in=answers.values("response_id"))
    if origin == "flag":
        question_id, choice = variable.source[1], variable.source[2]
        answered = Answer.objects.filter(question_id=question_id)
        # JSON lists are matched in Python: portable across SQLite and PostgreSQL.
        chosen = [
            response_id
            for response_id, choices in answered.values_list("response_id", "choices")
            if choice in choices
        ]
        if code == "1":
            return responses.filter(pk__in=chosen)
        return responses.filter(pk__in=answered.values("response_id")).exclude(pk__in=chosen)
    if origin == "response" and variable.categorical:
        return responses.filter(**{variable.source[1]: code})
    provider = _providers.get(origin)
    if provider is not None and variable.categorical:
        return provider.filter(responses, variable, code)
    raise ValueError(f"Variable {variable.name!r} is not categorical and cannot be filtered on.")
