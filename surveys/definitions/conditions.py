"""Skip logic: conditions that show a page or question when earlier answers meet them.

A condition is JSON::

    {"question": "lost_work", "op": "equals", "value": true}
    {"question": "exposure", "row": "rates_fallen", "op": "gte", "value": "4"}
    {"all": [cond, ...]}  {"any": [cond, ...]}  {"not": cond}

Answers are given as ``{question_code: value}`` where a value is a code (str) for single choice,
Likert, occupation and country; a list of codes for multiple choice; a Decimal for numbers; a bool
for yes/no; a str for text; a list of str for multiple short texts; and ``{row_code: code}``
for a Likert matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from surveys.definitions.question_types import QUESTION_TYPES

OPERATORS = {
    "equals",
    "not_equals",
    "in",
    "not_in",
    "contains",
    "gt",
    "gte",
    "lt",
    "lte",
    "answered",
    "not_answered",
}
_NO_VALUE = {"answered", "not_answered"}
_LIST_VALUE = {"in", "not_in"}
_ORDER = {"gt", "gte", "lt", "lte"}
_CODE_OPS = {"equals", "not_equals", "in", "not_in", "contains"}  # values that name choice codes
MAX_DEPTH = 10


class ConditionError(ValueError):
    """A condition that cannot be evaluated, with a message saying why."""


def validate(condition: Any, *, depth: int = 0) -> None:
    """Raise ConditionError unless `condition` is well formed (structure only, not references)."""
    if depth > MAX_DEPTH:
        raise ConditionError("Condition is nested too deeply.")
    if not isinstance(condition, Mapping):
        raise ConditionError("A condition must be an object.")
    for combinator in ("all", "any", "not"):
        if combinator in condition:
            _validate_combination(condition, combinator=combinator, depth=depth)
            return
    _validate_leaf(condition)


def _validate_combination(condition: Mapping[str, Any], *, combinator: str, depth: int) -> None:
    if set(condition) != {combinator}:
        raise ConditionError(f"'{combinator}' must stand alone in its object.")
    if combinator == "not":
        validate(condition["not"], depth=depth + 1)
        return
    parts = condition[combinator]
    if not isinstance(parts, list) or not parts:
        raise ConditionError(f"'{combinator}' needs a non-empty list of conditions.")
    for part in parts:
        validate(part, depth=depth + 1)


def _validate_leaf(condition: Mapping[str, Any]) -> None:
    question = condition.get("question")
    if not isinstance(question, str) or not question:
        raise ConditionError("A condition needs a 'question' code.")
    op = condition.get("op")
    if not isinstance(op, str) or op not in OPERATORS:  # a list or object here is unhashable
        raise ConditionError(f"Unknown operator {op!r}; use one of {', '.join(sorted(OPERATORS))}.")
    allowed = {"question", "op", "value", "row"}
    if extra := set(condition) - allowed:
        raise ConditionError(f"Unknown keys in condition: {', '.join(sorted(extra))}.")
    if "row" in condition and not isinstance(condition["row"], str):
        raise ConditionError("'row' must be a row code.")
    if op not in _NO_VALUE:
        _validate_value(condition, op=op)


def _validate_value(condition: Mapping[str, Any], *, op: str) -> None:
    if "value" not in condition:
        raise ConditionError(f"Operator '{op}' needs a 'value'.")
    value = condition["value"]
    if op in _LIST_VALUE and not isinstance(value, list):
        raise ConditionError(f"Operator '{op}' needs a list as 'value'.")
    if op in _ORDER and _number(value) is None:
        raise ConditionError(f"Operator '{op}' needs a number as 'value'.")


@dataclass(frozen=True)
class ConditionTarget:
    """What skip logic needs to know of a question a condition refers to."""

    type: str
    choices: frozenset[str] = frozenset()
    rows: frozenset[str] = frozenset()


def condition_problems(condition: Any, *, earlier: Mapping[str, ConditionTarget]) -> list[str]:
    """Why `condition` cannot work when only the `earlier` questions are answered (empty if fine).

    The one skip-logic check: the builder forms and the JSON import both call it. A condition must
    be well formed, refer only to questions on earlier pages, name a real row of a matrix (and
    only of a matrix) and, on a question with its own choices, compare with their codes.
    """
    if condition is None or condition == {}:
        return []
    try:
        validate(condition)
    except ConditionError as error:
        return [str(error)]
    problems: list[str] = []
    for leaf in _leaves(condition):
        for problem in _leaf_problems(leaf, earlier.get(leaf["question"])):
            if problem not in problems:  # the same leaf may occur in several branches
                problems.append(problem)
    return problems


def _leaves(condition: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for key in ("all", "any"):
        if key in condition:
            return [leaf for part in condition[key] for leaf in _leaves(part)]
    if "not" in condition:
        return _leaves(condition["not"])
    return [condition]


def _leaf_problems(leaf: Mapping[str, Any], target: ConditionTarget | None) -> list[str]:
    code = leaf["question"]
    if target is None:
        return [f"refers to {code!r}, not a question on an earlier page."]
    kind = QUESTION_TYPES.get(target.type)
    if kind is None:  # an unknown type is reported where the question is defined
        return []
    problems = []
    if "row" in leaf:
        if not kind.has_rows or leaf["row"] not in target.rows:
            problems.append(f"“{code}” has no matrix row “{leaf['row']}”.")
    elif kind.has_rows:
        problems.append(f"“{code}” is a matrix: name one of its rows with 'row'.")
    if kind.has_choices and leaf["op"] in _CODE_OPS:
        values = leaf["value"] if isinstance(leaf["value"], list) else [leaf["value"]]
        unknown = [str(v) for v in values if str(v) not in target.choices]
        if unknown:
            problems.append(
                f"“{code}” has no choice {', '.join(repr(v) for v in unknown)} "
                f"(its choices: {', '.join(sorted(target.choices))})."
            )
    return problems


def evaluate(condition: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    """True when `condition` holds for `answers` (no condition always holds)."""
    if not condition:
        return True
    if "all" in condition:
        return all(evaluate(part, answers) for part in condition["all"])
    if "any" in condition:
        return any(evaluate(part, answers) for part in condition["any"])
    if "not" in condition:
        return not evaluate(condition["not"], answers)
    value = answers.get(condition["question"])
    if "row" in condition:
        value = value.get(condition["row"]) if isinstance(value, Mapping) else None
    target: Any = condition.get("value")  # any JSON value, checked by validate()
    return _holds(condition["op"], value, target)


def _holds(op: str, value: Any, target: Any) -> bool:
    answered = value not in (None, "", [], {})
    if op == "answered":
        return answered
    if op == "not_answered":
        return not answered
    if not answered:
        # An unanswered question meets no comparison, except a negative one.
        return op in {"not_equals", "not_in"}
    if op in {"equals", "not_equals"}:
        same = _same(value, target)
        return same if op == "equals" else not same
    if op in {"in", "not_in"}:
        inside = any(_same(value, item) for item in target)
        return inside if op == "in" else not inside
    if op == "contains":
        items = value if isinstance(value, list) else [value]
        return any(_same(item, target) for item in items)
    left, right = _number(value), _number(target)
    if left is None or right is None:
        return False
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[op]


def _same(value: Any, target: Any) -> bool:
    if isinstance(value, bool) or isinstance(target, bool):
        return _as_bool(value) == _as_bool(target)
    left, right = _number(value), _number(target)
    if left is not None and right is not None:
        return left == right
    if isinstance(value, list):
        return target in value
    return str(value) == str(target)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"yes": True, "true": True, "no": False, "false": False}.get(value.lower())
    return None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None
