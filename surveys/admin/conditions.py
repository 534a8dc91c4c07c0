"""Skip logic built from menus: question, operator, value (from the question's choices or range).

The menus compose the same JSON condition that survey definitions import and export; the form
then checks it with the one skip-logic check (surveys.definitions.conditions). A condition the
menus cannot show (nested, negated, "one of" lists) is kept as it is, described in plain words,
until the researcher builds a new one or removes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from surveys.admin.widgets import LANGUAGE_NAMES
from surveys.core.i18n import translate
from surveys.definitions.question_types import QUESTION_TYPES
from surveys.definitions.selectors import question_words
from surveys.definitions.wording import OPERATOR_LABELS, QuestionWords, describe, menu_operators
from surveys.models import Question

ROWS = 3  # conditions the menus offer (more are combined by a nested definition, imported)
_NO_VALUE = {"answered", "not_answered"}
_TYPE_IN = "typed"  # values typed into the box: numbers, occupation and country codes


@dataclass(frozen=True)
class MenuTarget:
    """One entry of the question menu: a question, or one row of a Likert matrix."""

    key: str  # "code" or "code:row"
    code: str
    row: str | None
    label: str
    type: str
    values: tuple[tuple[str, str], ...]  # (JSON of the value, label) for choice-like questions
    hint: str  # what to type, for the others

    @property
    def operators(self) -> tuple[str, ...]:
        return menu_operators(self.type)


def _values(question: Question, language: str) -> tuple[tuple[str, str], ...]:
    kind = QUESTION_TYPES.get(question.type)
    if kind is None:
        return ()
    if kind.value_field == "boolean":
        return (("true", "Yes"), ("false", "No"))
    if kind.has_choices:
        return tuple(
            (
                json.dumps(choice.code),
                translate(choice.label, language, "en") + (" (hidden)" if choice.hidden else ""),
            )
            for choice in question.choices.all()
        )
    return ()


def _hint(question: Question) -> str:
    kind = QUESTION_TYPES.get(question.type)
    if kind is None or (kind.value_field != "number" and not kind.coded_list):
        return ""
    if kind.coded_list:
        return f"a {kind.coded_list} code"
    low = "" if question.min_value is None else f"{question.min_value.normalize():f}"
    high = "" if question.max_value is None else f"{question.max_value.normalize():f}"
    return f"a number from {low or '…'} to {high or '…'}" if low or high else "a number"


def menu_targets(questions: Sequence[Question], language: str = "en") -> list[MenuTarget]:
    """The question menu for skip logic over `questions` (earlier pages' questions, in order)."""
    targets = []
    for question in questions:
        text = translate(question.text, language, "en")
        label = f"{question.code}: {text[:70]}"
        values, hint = _values(question, language), _hint(question)
        kind = QUESTION_TYPES.get(question.type)
        rows = list(question.rows.all()) if kind and kind.has_rows else []
        if rows:
            for row in rows:
                row_label = f"{label} / {translate(row.text, language, 'en')[:40]}"
                targets.append(
                    MenuTarget(
                        f"{question.code}:{row.code}",
                        question.code,
                        row.code,
                        row_label,
                        question.type,
                        values,
                        hint,
                    )
                )
            continue
        targets.append(
            MenuTarget(question.code, question.code, None, label, question.type, values, hint)
        )
    return targets


def menu_rows(condition: Any) -> tuple[str, list[Mapping[str, Any]]] | None:
    """("all"|"any", leaves) when the menus can show `condition`; None when they cannot."""
    if not condition:
        return "all", []
    if not isinstance(condition, Mapping):
        return None
    match, leaves = "all", [condition]
    for key in ("all", "any"):
        if isinstance(condition.get(key), list):
            match, leaves = key, condition[key]
    if len(leaves) > ROWS or not all(_menu_leaf(leaf) for leaf in leaves):
        return None
    return match, leaves


def _menu_leaf(leaf: Any) -> bool:
    if not isinstance(leaf, Mapping) or "question" not in leaf:
        return False
    return leaf.get("op") in OPERATOR_LABELS and not isinstance(leaf.get("value"), list | dict)


class ConditionWidget(forms.Widget):
    """Rows of three menus (question, operator, value) and the condition in plain words."""

    template_name = "surveys/admin/widgets/condition.html"

    class Media:
        js = ["surveys/condition.js"]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.targets: list[MenuTarget] = []
        self.words: Mapping[str, QuestionWords] = {}
        self.languages: Sequence[str] = ("en",)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, Any]:
        rows = [
            {
                part: str(data.get(f"{name}-{i}-{part}", "")).strip()
                for part in ("question", "op", "choice", "typed")
            }
            for i in range(ROWS)
        ]
        return {
            "match": data.get(f"{name}-match", "all"),
            "rows": rows,
            "kept": data.get(f"{name}-kept", ""),
            "remove": bool(data.get(f"{name}-remove")),
        }

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-match" not in data and f"{name}-kept" not in data

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        if isinstance(value, dict) and "rows" in value:  # a posted form shown again with errors
            rows, match, kept, condition = value["rows"], value["match"], value["kept"], None
        else:
            condition = value or None
            shown = menu_rows(condition)
            rows = _row_context(shown[1] if shown else [])
            match = shown[0] if shown else "all"
            kept = "" if shown else json.dumps(condition, ensure_ascii=False)
        context["widget"].update(
            {
                "targets": [
                    {
                        "key": t.key,
                        "label": t.label,
                        "operators": " ".join(t.operators),
                        "hint": t.hint,
                    }
                    for t in self.targets
                ],
                "operators": list(OPERATOR_LABELS.items()),
                "values": [
                    {"key": t.key, "value": v, "label": label}
                    for t in self.targets
                    for v, label in t.values
                ],
                "rows": rows,
                "match": match,
                "kept": kept,
                "words": [
                    (LANGUAGE_NAMES.get(code, code), code, describe(condition, self.words, code))
                    for code in self.languages
                ]
                if condition
                else [],
            }
        )
        return context


def _row_context(leaves: list[Mapping[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for leaf in leaves:
        key = str(leaf["question"]) + (f":{leaf['row']}" if "row" in leaf else "")
        raw = leaf.get("value")
        choice = "" if raw is None else json.dumps(raw)
        typed = "" if raw is None or isinstance(raw, bool) else str(raw)
        rows.append({"question": key, "op": str(leaf["op"]), "choice": choice, "typed": typed})
    while len(rows) < ROWS:
        rows.append({"question": "", "op": "", "choice": "", "typed": ""})
    return rows


class ConditionField(forms.Field):
    """A skip-logic condition (dict or None) composed from the menus of `ConditionWidget`."""

    widget = ConditionWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Show this only when earlier answers meet these conditions; leave the menus empty "
            "to show it always.",
        )
        kwargs.pop("encoder", None)  # handed over by JSONField.formfield
        kwargs.pop("decoder", None)
        super().__init__(**kwargs)
        self.targets: dict[str, MenuTarget] = {}

    def set_questions(self, questions: Sequence[Question], languages: Sequence[str]) -> None:
        """Offer the `questions` (those on earlier pages) and describe in the `languages`."""
        targets = menu_targets(questions)
        self.targets = {t.key: t for t in targets}
        widget = self.widget
        assert isinstance(widget, ConditionWidget)
        widget.targets = targets
        widget.words = {q.code: question_words(q) for q in questions}
        widget.languages = tuple(languages) or ("en",)

    def set_words(self, words: Mapping[str, QuestionWords]) -> None:
        """Describe with every question of the survey (conditions may name later ones by error)."""
        widget = self.widget
        assert isinstance(widget, ConditionWidget)
        widget.words = {**words, **widget.words}

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, dict) or "rows" not in value:
            return value or None
        if value["remove"]:
            return None
        leaves = [leaf for row in value["rows"] if (leaf := self._leaf(row)) is not None]
        if not leaves:
            return self._kept(value["kept"])
        if len(leaves) == 1:
            return leaves[0]
        match = value["match"] if value["match"] in ("all", "any") else "all"
        return {match: leaves}

    def _kept(self, raw: str) -> Any:
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ValidationError("The kept condition is not readable: build it again.") from error

    def _leaf(self, row: Mapping[str, str]) -> dict[str, Any] | None:
        if not row["question"]:
            if row["op"] or row["typed"]:
                raise ValidationError("Pick the question of each condition.")
            return None
        target = self.targets.get(row["question"])
        if target is None:
            raise ValidationError(
                f"“{row['question']}” is not a question on an earlier page: pick one from the menu."
            )
        op = row["op"] or "answered"
        if op not in target.operators:
            raise ValidationError(
                f"“{target.code}” cannot be compared with “{OPERATOR_LABELS.get(op, op)}”."
            )
        leaf: dict[str, Any] = {"question": target.code, "op": op}
        if target.row is not None:
            leaf["row"] = target.row
        if op not in _NO_VALUE:
            leaf["value"] = self._value(target, row)
        return leaf

    def _value(self, target: MenuTarget, row: Mapping[str, str]) -> Any:
        if target.values:
            offered = {v for v, _label in target.values}
            if row["choice"] not in offered:
                raise ValidationError(f"Pick one of the answers of “{target.code}” as the value.")
            return json.loads(row["choice"])
        typed = row["typed"]
        if not typed:
            raise ValidationError(f"Type the value to compare “{target.code}” with.")
        if QUESTION_TYPES[target.type].value_field != "number":
            return typed
        try:
            number = Decimal(typed)
        except InvalidOperation as error:
            raise ValidationError(f"“{typed}” is not a number.") from error
        if not number.is_finite():
            raise ValidationError(f"“{typed}” is not a number.")
        return int(number) if number == number.to_integral_value() else float(number)

    def prepare_value(self, value: Any) -> Any:
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or None)
        except ValidationError:
            return True
