"""The question-type registry: what each kind of question is, in one place.

One frozen `QuestionType` per value of ``surveys.models.Question.Type`` (keyed by its string, so
that this module imports no Django and the Django-free writers may read it too). Code that behaves
differently per type asks the registry (``question_type(question.type).value_field``) instead of
listing type names; tests/definitions/test_question_types.py checks that every model type has an
entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

ValueField = Literal["choice", "choices", "number", "boolean", "text"]
Widget = Literal[
    "radio",
    "checkboxes",
    "scale",
    "matrix",
    "yes_no",
    "select",
    "number",
    "text",
    "textarea",
    "lines",
]
CodedList = Literal["occupation", "country"]
ExportKind = Literal["categorical", "multi_flag", "numeric", "text"]
Measure = Literal["nominal", "ordinal", "scale"]

LIKERT_SCALES = (5, 7)
NOT_APPLICABLE = "na"  # the one Likert choice outside the scale's points


@dataclass(frozen=True)
class QuestionType:
    """How one type of question is defined, answered, stored, exported and read by skip logic."""

    name: str
    # The Answer column that holds the value ("text" also for the "other, please specify" text
    # of coded questions, which is kept beside their code).
    value_field: ValueField
    # How the respondent form shows it (surveys/templates/surveys/includes/question.html).
    widget: Widget
    # The definition lists its own choices; skip logic on it must name one of their codes.
    has_choices: bool = False
    # A Likert matrix: one answer per row, each on the question's scale; skip logic names a row.
    has_rows: bool = False
    # Likert: a 5- or 7-point scale coded '1'..'n', plus NOT_APPLICABLE.
    has_scale: bool = False
    # Codes come from a reference list (surveys.reference) rather than the definition.
    coded_list: CodedList | None = None
    # Always offers "other, please specify" (choice questions offer it per choice instead).
    always_other: bool = False
    # Several one-line texts (up to the question's max_items), each stored as its own Answer row
    # "1".."n" and exported, classified and read by skip logic item by item.
    has_items: bool = False
    # Free text the classifier may code.
    classifiable: bool = False
    # The variable(s) an export writes: one categorical, one flag per choice, a number or text.
    export_kind: ExportKind = "categorical"
    measure: Measure = "nominal"

    @property
    def is_text(self) -> bool:
        """The answer is free text (with a length limit)."""
        return self.value_field == "text"

    @property
    def is_coded(self) -> bool:
        """The answer is one or more codes (own choices or a reference list)."""
        return self.value_field in ("choice", "choices")


_TYPES = (
    QuestionType("single_choice", "choice", "radio", has_choices=True),
    QuestionType(
        "multiple_choice", "choices", "checkboxes", has_choices=True, export_kind="multi_flag"
    ),
    QuestionType("likert", "choice", "scale", has_choices=True, has_scale=True, measure="ordinal"),
    QuestionType(
        "likert_matrix",
        "choice",
        "matrix",
        has_choices=True,
        has_rows=True,
        has_scale=True,
        measure="ordinal",
    ),
    QuestionType("number", "number", "number", export_kind="numeric", measure="scale"),
    QuestionType("yes_no", "boolean", "yes_no"),
    QuestionType("short_text", "text", "text", export_kind="text"),
    QuestionType("long_text", "text", "textarea", classifiable=True, export_kind="text"),
    QuestionType(
        "multiple_short_text",
        "text",
        "lines",
        has_items=True,
        classifiable=True,
        export_kind="text",
    ),
    QuestionType("occupation", "choice", "select", coded_list="occupation", always_other=True),
    QuestionType("country", "choice", "select", coded_list="country"),
)

QUESTION_TYPES: Mapping[str, QuestionType] = MappingProxyType({t.name: t for t in _TYPES})


def question_type(name: str) -> QuestionType:
    """The registry entry of a Question.Type value; KeyError for an unknown type."""
    return QUESTION_TYPES[name]
