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


def _referenced(rules: Sequence[dict[str, Any]]) -> set[str]:
    """The question codes a list of conditions reads."""
    codes: set[str] = set()
    stack: list[Any] = list(rules)
    while stack:
        part = stack.pop()
        if not isinstance(part, dict):
            continue
        for key in ("all", "any"):
            stack.extend(part.get(key) or [])
        if "not" in part:
            stack.append(part["not"])
        if isinstance(part.get("question"), str):
            codes.add(part["question"])
    return codes


@dataclass(frozen=True)
class _Rule:
    """How one question decides between its two reasons, worked out once per export."""

    conditions: list[dict[str, Any]]
    depends: list[int]  # positions of the variables of the questions its conditions read
    variables: list[SurveyVariable]  # the variables at those positions


# Distinct answers remembered before the memo starts over (bounds memory).
_MEMO_MAX = 50_000


class _Reasons:
    """Decides NOT_SHOWN or NOT_ANSWERED for an empty cell, remembering what it decided."""

    def __init__(self, variables: Sequence[SurveyVariable], visibility: _Visibility) -> None:
        self.variables = variables
        self.codes = visibility.codes
        self.visibility = visibility
        self.rules: dict[int, _Rule] = {}
        self.memo: dict[tuple[int, tuple[Any, ...]], str] = {}

    def _rule(self, qid: int) -> _Rule:
        rule = self.rules.get(qid)
        if rule is None:
            conditions_ = self.visibility.conditions.get(qid, [])
            read = _referenced(conditions_)
            depends = [
                i
                for i, variable in enumerate(self.variables)
                if variable.source
                and variable.source[0] in {"answer", "flag"}
                and self.codes.get(variable.source[1]) in read
            ]
            rule = _Rule(conditions_, depends, [self.variables[i] for i in depends])
            self.rules[qid] = rule
        return rule

    def _decide(self, rule: _Rule, values: Sequence[Any]) -> str:
        answers = _answers(values, rule.variables, self.codes)
        shown = all(conditions.evaluate(c, answers) for c in rule.conditions)
        return NOT_ANSWERED if shown else NOT_SHOWN

    def reason(self, qid: int, row: Sequence[Any]) -> str:
        rule = self._rule(qid)
        if not rule.conditions:
            return NOT_ANSWERED
        values = tuple([row[i] for i in rule.depends])
        try:
            reason = self.memo.get((qid, values))
        except TypeError:  # an unhashable value: decided without the memo
            return self._decide(rule, values)
        if reason is None:
            reason = self._decide(rule, values)
            if len(self.memo) >= _MEMO_MAX:
                self.memo.clear()
            self.memo[(qid, values)] = reason
        return reason


def rows_with_reasons(
    rows: Iterable[list[Any]], *, survey: Survey, variables: Sequence[SurveyVariable]
) -> Iterator[list[Any]]:
    """`rows` with each empty categorical answer replaced by NOT_SHOWN or NOT_ANSWERED.

    Each question's conditions read a few earlier questions: their values are the key of a memo,
    so the skip logic runs once per distinct combination, not once per response.
    """
    marked = [
        (position, variable.source[1])
        for position, variable in enumerate(variables)
        if has_reasons(variable)
    ]
    if not marked:
        yield from rows
        return
    reasons = _Reasons(variables, _visibility(survey))
    for row in rows:
        # Decided on the row as read: a reason set here is no answer another question sees.
        decided = [
            (position, reasons.reason(qid, row))
            for position, qid in marked
            if row[position] in (None, "")
        ]
        for position, reason in decided:
            row[position] = reason
        yield row
