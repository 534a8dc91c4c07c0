"""Skip logic: conditions that show a page or question when earlier answers meet them.

A condition is JSON::

    {"question": "lost_work", "op": "equals", "value": true}
    {"question": "exposure", "row": "rates_fallen", "op": "gte", "value": "4"}
    {"all": [cond, ...]}  {"any": [cond, ...]}  {"not": cond}

Answers are given as ``{question_code: value}`` where a value is a code (str) for single choice,
Likert, occupation and country; a list of codes for multiple choice; a Decimal for numbers; a bool
for yes/no; a str for text; and ``{row_code: code}`` for a Likert matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

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
MAX_DEPTH = 10


class ConditionError(ValueError):
    """A condition that cannot be evaluated, with a message saying why."""


def referenced_questions(condition: Mapping[str, Any] | None) -> set[str]:
    """Every question code that `condition` refers to."""
    if not condition:
        return set()
    if "all" in condition or "any" in condition:
        parts = condition.get("all") or condition.get("any") or []
        return set().union(*(referenced_questions(part) for part in parts))
    if "not" in condition:
        return referenced_questions(condition["not"])
    return {condition["question"]} if "question" in condition else set()


def validate(condition: Any, *, depth: int = 0) -> None:
    """Raise ConditionError unless `condition` is well formed (structure only, not references)."""
    if depth > MAX_DEPTH:
        raise ConditionError("Condition is nested too deeply.")
    if not isinstance(condition, Mapping):
        raise ConditionError("A condition must be an object.")
    keys = set(condition)
    for combinator in ("all", "any"):
        if combinator in keys:
            if keys != {combinator}:
                raise ConditionError(f"'{combinator}' must stand alone in its object.")
            parts = condition[combinator]
            if not isinstance(parts, list) or not parts:
                raise ConditionError(f"'{combinator}' needs a non-empty list of conditions.")
            for part in parts:
                validate(part, depth=depth + 1)
            return
    if "not" in keys:
        if keys != {"not"}:
            raise ConditionError("'not' must stand alone in its object.")
        validate(condition["not"], depth=depth + 1)
        return
    question = condition.get("question")
    if not isinstance(question, str) or not question:
        raise ConditionError("A condition needs a 'question' code.")
    op = condition.get("op")
    if not isinstance(op, str) or op not in OPERATORS:  # a list or object here is unhashable
        raise ConditionError(f"Unknown operator {op!r}; use one of {', '.join(sorted(OPERATORS))}.")
    allowed = {"question", "op", "value", "row"}
    if extra := keys - allowed:
        raise ConditionError(f"Unknown keys in condition: {', '.join(sorted(extra))}.")
    if "row" in condition and not isinstance(condition["row"], str):
        raise ConditionError("'row' must be a row code.")
    if op in _NO_VALUE:
        return
    if "value" not in condition:
        raise ConditionError(f"Operator '{op}' needs a 'value'.")
    value = condition["value"]
    if op in _LIST_VALUE and not isinstance(value, list):
        raise ConditionError(f"Operator '{op}' needs a list as 'value'.")
    if op in _ORDER and _number(value) is None:
        raise ConditionError(f"Operator '{op}' needs a number as 'value'.")


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
    op = condition["op"]
    answered = value not in (None, "", [], {})
    if op == "answered":
        return answered
    if op == "not_answered":
        return not answered
    if not answered:
        # An unanswered question meets no comparison, except a negative one.
        return op in {"not_equals", "not_in"}
    target = condition.get("value")
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
