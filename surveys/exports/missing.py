"""Why a question's cell is empty: not shown (its skip logic hid it) or shown but not answered.

A question's categorical, number and 0/1 flag variables get two reserved codes, declared missing
like a "don't know" choice (`Choice.missing`): SAV declares them user-missing, DTA writes them as
the extended missing values .a (not shown) and .b (not answered), CSV and XLSX write the code or
its label. Free text stays empty (a string has no missing codes in SAV or DTA).
Which of the two a response gets is decided by the survey's own skip logic
(`surveys.definitions.conditions.evaluate`) on that response's answers, rebuilt from its row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import compress, islice, repeat
from operator import eq, is_, itemgetter, setitem
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

    qid: int
    conditions: list[dict[str, Any]]
    depends: list[int]  # positions of the variables of the questions its conditions read
    variables: list[SurveyVariable]  # the variables at those positions


# Distinct answers remembered before the memo starts over (bounds memory).
_MEMO_MAX = 50_000
# Rows whose empty cells are found together, column by column (bounds memory; rows still stream).
REASON_BATCH = 256


class _Reasons:
    """Decides NOT_SHOWN or NOT_ANSWERED for an empty cell, remembering what it decided."""

    def __init__(self, variables: Sequence[SurveyVariable], visibility: _Visibility) -> None:
        self.variables = variables
        self.codes = visibility.codes
        self.visibility = visibility
        self.rules: dict[int, _Rule] = {}
        # By question: the values its conditions read -> the reason they give.
        self.memo: dict[int, dict[tuple[Any, ...], str]] = {}
        self.remembered = 0

    def rule(self, qid: int) -> _Rule:
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
            rule = _Rule(qid, conditions_, depends, [self.variables[i] for i in depends])
            self.rules[qid] = rule
        return rule

    def _decide(self, rule: _Rule, values: Sequence[Any]) -> str:
        answers = _answers(values, rule.variables, self.codes)
        shown = all(conditions.evaluate(c, answers) for c in rule.conditions)
        return NOT_ANSWERED if shown else NOT_SHOWN

    def reasons(self, qid: int, rows: Sequence[Sequence[Any]]) -> list[str]:
        """The reasons of the empty cells of question `qid` in `rows`, through the memo."""
        rule = self.rule(qid)
        if not rule.conditions:
            return [NOT_ANSWERED] * len(rows)
        if not rule.depends:  # conditions on questions not exported: one answer for all
            return [self._remember(rule, ())] * len(rows)
        # The values the conditions read, as a tuple: itemgetter gives one value bare.
        values = list(map(itemgetter(*rule.depends), rows))
        if len(rule.depends) == 1:
            values = [(value,) for value in values]
        memo = self.memo.setdefault(qid, {})
        try:
            found = list(map(memo.get, values))
        except TypeError:  # an unhashable value: decided without the memo
            return [self._decide(rule, key) for key in values]
        if None in found:
            for index, reason in enumerate(found):
                if reason is None:
                    found[index] = self._remember(rule, values[index])
        return found  # type: ignore[return-value]  # every None was replaced

    def _remember(self, rule: _Rule, values: tuple[Any, ...]) -> str:
        memo = self.memo.setdefault(rule.qid, {})
        reason = memo.get(values)
        if reason is None:
            reason = self._decide(rule, values)
            self.remembered += 1
            if self.remembered > _MEMO_MAX:
                self.memo.clear()
                self.remembered = 1
                memo = self.memo.setdefault(rule.qid, {})
            memo[values] = reason
        return reason


def _empty_at(column: Sequence[Any]) -> list[int]:
    """Indexes of the empty values (None or "") of a column, found without a Python step each."""
    empty = list(compress(range(len(column)), map(is_, column, repeat(None))))
    if "" in column:
        empty += compress(range(len(column)), map(eq, column, repeat("")))
        empty.sort()
    return empty


def _batch_reasons(
    batch: list[list[Any]], marked: list[tuple[int, int, bool]], reasons: _Reasons
) -> None:
    """Set each empty marked cell of `batch` to its reason, decided on the rows as read."""
    # The batch read column by column, once (row by row should some row be short).
    columns = list(zip(*batch, strict=True)) if len(set(map(len, batch))) == 1 else None
    decided: list[tuple[list[list[Any]], int, Iterable[str]]] = []
    for position, qid, ruled in marked:
        column = columns[position] if columns is not None else [row[position] for row in batch]
        empty = [batch[index] for index in _empty_at(column)]
        if empty:
            found = reasons.reasons(qid, empty) if ruled else repeat(NOT_ANSWERED)
            decided.append((empty, position, found))
    # Set once every cell is decided: a reason is no answer another question's conditions see.
    for rows, position, given in decided:
        deque(map(setitem, rows, repeat(position), given), maxlen=0)  # C-level, no Python step


def rows_with_reasons(
    rows: Iterable[list[Any]], *, survey: Survey, variables: Sequence[SurveyVariable]
) -> Iterator[list[Any]]:
    """`rows` with each empty categorical answer replaced by NOT_SHOWN or NOT_ANSWERED.

    Each question's conditions read a few earlier questions: their values are the key of a memo,
    so the skip logic runs once per distinct combination, not once per response. Rows are
    marked REASON_BATCH at a time, column by column.
    """
    reasons: _Reasons | None = None
    marked: list[tuple[int, int, bool]] = []
    for position, variable in enumerate(variables):
        if has_reasons(variable):
            reasons = reasons or _Reasons(variables, _visibility(survey))
            qid = variable.source[1]
            marked.append((position, qid, bool(reasons.rule(qid).conditions)))
    if reasons is None:
        yield from rows
        return
    source = iter(rows)
    while batch := list(islice(source, REASON_BATCH)):
        _batch_reasons(batch, marked, reasons)
        yield from batch
