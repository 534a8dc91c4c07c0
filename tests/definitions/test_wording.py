"""Skip logic in plain words, and the comparisons the builder offers per question type."""

from __future__ import annotations

import pytest

from surveys.definitions.question_types import QUESTION_TYPES
from surveys.definitions.wording import OPERATOR_LABELS, QuestionWords, describe, menu_operators

WORDS = {
    "uses_ai": QuestionWords("yes_no", {"en": "Do you use AI?", "zh-hans": "您使用人工智能吗？"}),
    "job": QuestionWords(
        "single_choice",
        {"en": "Your job?", "zh-hans": "您的职业？"},
        choices={"actor": {"en": "Actor", "zh-hans": "演员"}, "vfx": {"en": "VFX artist"}},
    ),
    "grid": QuestionWords(
        "likert_matrix",
        {"en": "How much do you agree?"},
        choices={"4": {"en": "Agree"}},
        rows={"rates": {"en": "Rates have fallen"}},
    ),
}


@pytest.mark.parametrize(
    ("condition", "language", "expected"),
    [
        (None, "en", "Always shown."),
        (
            {"question": "uses_ai", "op": "equals", "value": True},
            "en",
            "Shown when “Do you use AI?” is Yes.",
        ),
        (
            {"question": "uses_ai", "op": "equals", "value": True},
            "zh-hans",
            "在以下情况显示：“您使用人工智能吗？”为是。",
        ),
        (
            {"question": "job", "op": "in", "value": ["actor", "vfx"]},
            "en",
            "Shown when “Your job?” is one of “Actor”, “VFX artist”.",
        ),
        (  # a label missing in Chinese falls back to English
            {"question": "job", "op": "not_equals", "value": "vfx"},
            "zh-hans",
            "在以下情况显示：“您的职业？”不为“VFX artist”。",
        ),
        (
            {"question": "grid", "row": "rates", "op": "gte", "value": "4"},
            "en",
            "Shown when “Rates have fallen” (“How much do you agree?”) is at least “Agree”.",
        ),
        (
            {
                "any": [
                    {"question": "uses_ai", "op": "answered"},
                    {"not": {"question": "years", "op": "gt", "value": 5}},
                ]
            },
            "en",
            "Shown when “Do you use AI?” is answered or not (years is more than 5).",
        ),
    ],
)
def test_conditions_read_aloud(condition, language, expected):
    assert describe(condition, WORDS, language) == expected


def test_long_question_texts_are_shortened():
    words = {"q": QuestionWords("short_text", {"en": "x" * 200})}
    sentence = describe({"question": "q", "op": "answered"}, words, "en")
    assert "…" in sentence and len(sentence) < 100


def test_every_type_gets_comparisons_the_validator_knows():
    from surveys.definitions.conditions import OPERATORS

    for name in QUESTION_TYPES:
        offered = menu_operators(name)
        assert {"answered", "not_answered"} <= set(offered)
        assert set(offered) <= OPERATORS and set(offered) <= set(OPERATOR_LABELS)
    assert "contains" in menu_operators("multiple_choice")
    assert "gt" in menu_operators("number") and "gt" not in menu_operators("single_choice")
    assert menu_operators("long_text") == ("answered", "not_answered")
