"""Skip logic in plain words, and the operators the builder's menus offer per question type.

No Django import: the builder, the preview and the codebook may all read a condition aloud. A
condition is described from what the survey says of its questions (`QuestionWords`), in any of
the survey's languages; codes that the survey does not know are shown as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from surveys.definitions.question_types import QUESTION_TYPES

_EN = {
    "equals": "{q} is {v}",
    "not_equals": "{q} is not {v}",
    "in": "{q} is one of {v}",
    "not_in": "{q} is none of {v}",
    "contains": "{q} includes {v}",
    "gt": "{q} is more than {v}",
    "gte": "{q} is at least {v}",
    "lt": "{q} is less than {v}",
    "lte": "{q} is at most {v}",
    "answered": "{q} is answered",
    "not_answered": "{q} is not answered",
    "all": " and ",
    "any": " or ",
    "not": "not ({c})",
    "list": ", ",
    "row": "{row} ({q})",
    "true": "Yes",
    "false": "No",
    "always": "Always shown.",
    "shown_when": "Shown when {c}.",
}
_ZH = {
    "equals": "{q}为{v}",
    "not_equals": "{q}不为{v}",
    "in": "{q}为{v}之一",
    "not_in": "{q}不是{v}中的任何一项",
    "contains": "{q}包括{v}",
    "gt": "{q}大于{v}",
    "gte": "{q}至少为{v}",
    "lt": "{q}小于{v}",
    "lte": "{q}至多为{v}",
    "answered": "已回答{q}",
    "not_answered": "未回答{q}",
    "all": "，并且",
    "any": "，或者",
    "not": "并非（{c}）",
    "list": "、",
    "row": "{row}（{q}）",
    "true": "是",
    "false": "否",
    "always": "始终显示。",
    "shown_when": "在以下情况显示：{c}。",
}
PHRASES: Mapping[str, Mapping[str, str]] = {"en": _EN, "zh-hans": _ZH}
_QUESTION_LENGTH = 60

# The operators the builder's menus offer, by what a question's answer is.
_CODE_OPS = ("equals", "not_equals")
_ORDER_OPS = ("gt", "gte", "lt", "lte")
_ANSWERED = ("answered", "not_answered")
OPERATOR_LABELS: Mapping[str, str] = {
    "equals": "is",
    "not_equals": "is not",
    "contains": "includes",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "answered": "is answered",
    "not_answered": "is not answered",
}


def menu_operators(question_type: str) -> tuple[str, ...]:
    """The operators the builder offers for skip logic on a question of this type."""
    kind = QUESTION_TYPES.get(question_type)
    if kind is None:
        return _ANSWERED
    if kind.value_field == "choices":
        return ("contains", *_ANSWERED)
    if kind.has_scale:
        return (*_CODE_OPS, *_ORDER_OPS, *_ANSWERED)
    if kind.value_field == "number":
        return (*_CODE_OPS, *_ORDER_OPS, *_ANSWERED)
    if kind.value_field in ("choice", "boolean"):
        return (*_CODE_OPS, *_ANSWERED)
    return _ANSWERED


@dataclass(frozen=True)
class QuestionWords:
    """What a description needs of one question: its wording, choice labels and matrix rows."""

    type: str
    text: Mapping[str, str]
    choices: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    rows: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def describe(
    condition: Any,
    questions: Mapping[str, QuestionWords],
    language: str,
    *,
    fallback: str = "en",
) -> str:
    """`condition` as a sentence in `language` ("Shown when ...", or "Always shown.")."""
    phrases = PHRASES.get(language, _EN)
    if not condition:
        return phrases["always"]
    words = _Words(questions, language, fallback, phrases)
    return phrases["shown_when"].format(c=words.clause(condition))


@dataclass(frozen=True)
class _Words:
    questions: Mapping[str, QuestionWords]
    language: str
    fallback: str
    phrases: Mapping[str, str]

    def text(self, texts: Mapping[str, str]) -> str:
        return (
            texts.get(self.language) or texts.get(self.fallback) or next(iter(texts.values()), "")
        )

    def clause(self, condition: Any) -> str:
        if not isinstance(condition, Mapping):
            return str(condition)
        for key in ("all", "any"):
            if isinstance(condition.get(key), list):
                return self.phrases[key].join(self.clause(part) for part in condition[key])
        if "not" in condition:
            return self.phrases["not"].format(c=self.clause(condition["not"]))
        op = str(condition.get("op", ""))
        template = self.phrases.get(op, "{q} " + op + " {v}")
        question = self.questions.get(str(condition.get("question", "")))
        return template.format(
            q=self.question(condition, question), v=self.value(condition.get("value"), question)
        )

    def question(self, condition: Mapping[str, Any], question: QuestionWords | None) -> str:
        code = str(condition.get("question", ""))
        if question is None:
            return code
        name = self.text(question.text) or code
        if len(name) > _QUESTION_LENGTH:
            name = name[: _QUESTION_LENGTH - 1] + "…"
        name = f"“{name}”"
        row = condition.get("row")
        if row is None:
            return name
        row_text = self.text(question.rows.get(str(row), {})) or str(row)
        return self.phrases["row"].format(row=f"“{row_text}”", q=name)

    def value(self, value: Any, question: QuestionWords | None) -> str:
        if isinstance(value, list):
            return self.phrases["list"].join(self.value(item, question) for item in value)
        if isinstance(value, bool):
            return self.phrases["true" if value else "false"]
        if question is not None and str(value) in question.choices:
            return f"“{self.text(question.choices[str(value)])}”"
        return str(value)
