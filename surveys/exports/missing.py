"""Why a question's cell is empty: not shown (its skip logic hid it) or shown but not answered.

A question's categorical, number and 0/1 flag variables get two reserved codes, declared missing
like a "don't know" choice (`Choice.missing`): SAV declares them user-missing, DTA writes them as
the extended missing values .a (not shown) and .b (not answered), CSV and XLSX write the code or
its label. Free text stays empty (a string has no missing codes in SAV or DTA).
Which of the two a response gets is decided by the survey's own skip logic
(`surveys.definitions.conditions.evaluate`) on that response's answers, rebuilt from its row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from surveys.definitions import conditions
from surveys.models import Question, Survey
from surveys.variables.catalogue import SurveyVariable

NOT_SHOWN = "-99"
NOT_ANSWERED = "-98"
REASON_LABELS: dict[str, dict[str, str]] = {
    NOT_SHOWN: {"en": "Not shown (skip logic)", "zh-hans": "未显示（跳转逻辑）"},
    NOT_ANSWERED: {"en": "Shown but not answered", "zh-hans": "已显示但未回答"},
}


_KINDS = {"answer": {"categorical", "numeric"}, "flag": {"multi_flag"}}


def has_reasons(variable: SurveyVariable) -> bool:
    """Whether an empty cell of `variable` says why: a question's category, number or flag."""
    origin = variable.source[0] if variable.source else ""
    return variable.kind in _KINDS.get(origin, set()) and not (
        set(REASON_LABELS) & set(variable.value_labels)
    )


@dataclass(frozen=True)
class _Visibility:
    """The conditions that decide whether each question is shown, by question id."""

    codes: dict[int, str]  # question id -> code
    conditions: dict[int, list[dict[str, Any]]]  # question id -> its page's and its own


def _visibility(survey: Survey) -> _Visibility:
    codes: dict[int, str] = {}
    rules: dict[int, list[dict[str, Any]]] = {}
    for question in Question.objects.filter(survey=survey).select_related("page"):
        codes[question.pk] = question.code
        rules[question.pk] = [c for c in (question.page.condition, question.condition) if c]
    return _Visibility(codes, rules)


def _answers(
    row: Sequence[Any], variables: Sequence[SurveyVariable], codes: dict[int, str]
) -> dict[str, Any]:
    """A response's answers keyed by question code, as skip logic reads them."""
    answers: dict[str, Any] = {}
    for variable, value in zip(variables, row, strict=True):
        source = variable.source
        if not source or source[0] not in {"answer", "flag"} or value in (None, ""):
            continue
        if source[1] not in codes:
            continue
        code = codes[source[1]]
        if source[0] == "answer" and source[2]:
            answers.setdefault(code, {})[source[2]] = value
        elif source[0] == "answer":
            answers[code] = (value == "1") if variable.boolean else value
        elif source[0] == "flag" and str(value) == "1":
            answers.setdefault(code, []).append(source[2])
    return answers


def rows_with_reasons(
    rows: Iterable[list[Any]], *, survey: Survey, variables: Sequence[SurveyVariable]
) -> Iterator[list[Any]]:
    """`rows` with each empty categorical answer replaced by NOT_SHOWN or NOT_ANSWERED."""
    marked = [
        (position, variable.source[1])
        for position, variable in enumerate(variables)
        if has_reasons(variable)
    ]
    if not marked:
        yield from rows
        return
    visibility = _visibility(survey)
    for row in rows:
        empty = [(position, qid) for position, qid in marked if row[position] in (None, "")]
        if empty:
            answers = _answers(row, variables, visibility.codes)
            for position, qid in empty:
                shown = all(
                    conditions.evaluate(c, answers) for c in visibility.conditions.get(qid, [])
                )
                row[position] = NOT_ANSWERED if shown else NOT_SHOWN
        yield row
