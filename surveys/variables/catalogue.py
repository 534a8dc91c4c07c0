"""A survey's data as variables: one column per question, matrix row or choice flag.

`SurveyVariable.source` says where a value comes from; `reader` turns sources into rows and
`filters` into conditions on responses. Other apps add derived variables (the classifier adds
categories and confidences) by registering a provider, so that surveys never imports them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext

from surveys import reference
from surveys.core.i18n import translate
from surveys.models import Question, Response, Survey

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
    # Codes of non-substantive answers (don't know, not applicable, refused): `Choice.missing`.
    missing: frozenset[str] = frozenset()

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


@dataclass(frozen=True)
class EstimateScope:
    """The respondents a provider's estimates are to cover, and each one's group.

    Estimates over a population and its groups (the classifier's audit-corrected exposure
    means) are computed only when a caller names them this way: the exposure table does.
    """

    responses: QuerySet[Response]
    groups: Mapping[int, str]  # response id -> group code (respondents without one: absent)


def provider_estimates(
    survey: Survey, variable: SurveyVariable, scope: EstimateScope | None = None
) -> dict[str, Any] | None:
    """A provider's own estimates for a derived variable (the classifier's audited category
    shares, or with a `scope` its audit-corrected exposure means), or None: providers may offer
    `estimates(survey, variable[, scope=...])`; survey variables have none.
    """
    provider = provider_of(variable)
    estimates = getattr(provider, "estimates", None)
    if not estimates:
        return None
    return estimates(survey, variable, scope=scope) if scope else estimates(survey, variable)


def register_provider(provider: VariableProvider) -> None:
    """Register (or replace) a provider of derived variables under its name."""
    _providers[provider.name] = provider


def provider_of(variable: SurveyVariable) -> VariableProvider | None:
    """The registered provider a derived variable comes from; None for the survey's own."""
    return _providers.get(variable.source[0]) if variable.source else None


def provider_has_values(
    provider: VariableProvider, survey: Survey, variables: Sequence[SurveyVariable]
) -> bool:
    """False when the provider says no response of `survey` has a value of `variables` now.

    Providers may offer `has_values(survey, variables)`, one cheap query, so that a reader of
    many chunks need not ask `values` for each (the classifier's, before anything is classified).
    Without it: True.
    """
    has_values = getattr(provider, "has_values", None)
    return True if has_values is None else bool(has_values(survey, variables))


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


def _joined(question: Question, part: Texts, suffix: str = "") -> Texts:
    """A column's label: the question's text, a dash, and the row's or option's text."""
    return {
        lang: f"{translate(question.text, lang)} — {translate(part, lang)}{suffix}"
        for lang in {*question.text, *part}
    }


def _ordinal(question: Question) -> Literal["ordinal", "nominal"]:
    likert = {Question.Type.LIKERT, Question.Type.LIKERT_MATRIX}
    return "ordinal" if question.type in likert else "nominal"


def _missing_codes(question: Question) -> frozenset[str]:
    return frozenset(c.code for c in question.choices.all() if c.missing)


def _matrix_variables(question: Question, choices: dict[str, Texts]) -> list[SurveyVariable]:
    missing = _missing_codes(question)
    return [
        SurveyVariable(
            f"{question.code}_{row.code}",
            _joined(question, row.text),
            "categorical",
            value_labels=choices,
            measure=_ordinal(question),
            source=("answer", question.pk, row.code),
            group=question.code,
            missing=missing,
        )
        for row in question.rows.all()
    ]


def _flag_variables(question: Question) -> list[SurveyVariable]:
    return [
        SurveyVariable(
            f"{question.code}_{choice.code}",
            _joined(question, choice.label),
            "multi_flag",
            value_labels=_FLAG_LABELS,
            source=("flag", question.pk, choice.code),
            group=question.code,
        )
        for choice in question.choices.all()
    ]


def _choice_labels(question: Question, choices: dict[str, Texts]) -> dict[str, Texts]:
    if question.type == Question.Type.OCCUPATION:
        labels = {o.isco: o.label for o in reference.occupations()}
        labels[reference.OTHER] = {"en": "Other", "zh-hans": "其他"}
        return labels
    if question.type == Question.Type.COUNTRY:
        english = dict(reference.countries("en"))
        chinese = dict(reference.countries("zh-hans"))
        return {c: {"en": english[c], "zh-hans": chinese.get(c, english[c])} for c in english}
    return choices


def _single_variable(question: Question, choices: dict[str, Texts]) -> SurveyVariable:
    """The one column of a question that is neither a matrix nor a multiple choice."""
    kind = question.type
    answer = ("answer", question.pk, "")
    if kind in _CHOICE_KINDS:
        labels = _choice_labels(question, choices)
        return SurveyVariable(
            question.code,
            question.text,
            "categorical",
            value_labels=labels,
            measure=_ordinal(question),
            source=answer,
            group=question.code,
            missing=_missing_codes(question),
        )
    if kind == Question.Type.YES_NO:
        return SurveyVariable(
            question.code,
            question.text,
            "categorical",
            value_labels=_YES_NO_LABELS,
            boolean=True,
            source=answer,
            group=question.code,
        )
    if kind == Question.Type.NUMBER:
        return SurveyVariable(
            question.code, question.text, "numeric", measure="scale", source=answer,
            group=question.code,
        )  # fmt: skip
    return SurveyVariable(question.code, question.text, "text", source=answer, group=question.code)


def _other_label(question: Question, lang: str) -> str:
    """The label of a question's "other (specified)" text variable, worded in `lang`."""
    with translation.override(lang):
        return gettext("%(question)s — other (specified)") % {
            "question": translate(question.text, lang)
        }


def _line_variables(question: Question) -> list[SurveyVariable]:
    """A multiple short text: one text column per line, `<code>_1`..`<code>_n`."""
    return [
        SurveyVariable(
            f"{question.code}_{number}",
            _joined(question, {"en": f"line {number}", "zh-hans": f"第 {number} 行"}),
            "text",
            source=("answer", question.pk, str(number)),
            group=question.code,
        )
        for number in range(1, question.item_count + 1)
    ]


def _question_variables(question: Question) -> list[SurveyVariable]:
    choices = {c.code: c.label for c in question.choices.all()}
    if question.type == Question.Type.LIKERT_MATRIX:
        return _matrix_variables(question, choices)
    if question.type == Question.Type.MULTIPLE_SHORT_TEXT:
        return _line_variables(question)
    if question.type == Question.Type.MULTIPLE_CHOICE:
        out = _flag_variables(question)
    else:
        out = [_single_variable(question, choices)]
    has_other = question.type == Question.Type.OCCUPATION or any(
        c.is_other for c in question.choices.all()
    )
    if has_other:
        label = {lang: _other_label(question, lang) for lang in question.text}
        out.append(
            SurveyVariable(
                f"{question.code}_other_text",
                label,
                "text",
                source=("other", question.pk),
                group=question.code,
            )
        )
    return out


# {survey id: (its updated_at, its own variables)}, per process. Every statistics request and
# export resolves names against the catalogue, which changes only with the questionnaire; any
# change to a page, question, choice or row touches the survey's updated_at (surveys.models), so
# the version is read from the database (one indexed row) and a changed survey is read again.
_CATALOGUES: dict[int, tuple[datetime, list[SurveyVariable]]] = {}
_CATALOGUES_MAX = 64
_CATALOGUES_LOCK = threading.Lock()


def _own_variables(survey: Survey) -> list[SurveyVariable]:
    """The survey's own variables (its responses' attributes and its questions'), cached."""
    version = Survey.objects.filter(pk=survey.pk).values_list("updated_at", flat=True).first()
    cached = _CATALOGUES.get(survey.pk)
    if cached is not None and cached[0] == version:
        return list(cached[1])
    questions = (
        Question.objects.filter(survey=survey)
        .order_by("page__position", "position")
        .prefetch_related("choices", "rows")
    )
    variables = _response_variables()
    for question in questions:
        variables += _question_variables(question)
    if version is not None:
        with _CATALOGUES_LOCK:  # threaded servers: evicting while another thread inserts
            if survey.pk not in _CATALOGUES and len(_CATALOGUES) >= _CATALOGUES_MAX:
                _CATALOGUES.pop(next(iter(_CATALOGUES)))  # the oldest entry
            _CATALOGUES[survey.pk] = (version, list(variables))
    return variables


def survey_variables(*, survey: Survey, derived: bool = True) -> list[SurveyVariable]:
    """Every variable of `survey`, in questionnaire order, then those of registered providers.

    The survey's own are read once per process and questionnaire version (the variables are
    frozen and shared: callers must not change their labels); the providers' every time.
    """
    variables = _own_variables(survey)
    if derived:
        for provider in _providers.values():
            variables += provider.variables(survey)
    return _unique_names(variables)


def derived_variables(*, survey: Survey) -> list[SurveyVariable]:
    """Variables added by registered providers (the classifier's categories), in their order."""
    base = {v.name for v in survey_variables(survey=survey, derived=False)}
    return [v for v in survey_variables(survey=survey) if v.name not in base]


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
