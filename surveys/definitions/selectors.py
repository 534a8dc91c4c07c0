"""Read-only queries about survey definitions."""

from __future__ import annotations

from django.db.models import Prefetch

from surveys.definitions.conditions import ConditionTarget
from surveys.definitions.question_types import question_type
from surveys.definitions.wording import QuestionWords
from surveys.models import Answer, Choice, MatrixRow, Question, Survey


def earlier_questions(*, survey: Survey | None, before_position: int | None) -> list[Question]:
    """The questions of `survey` on pages before `before_position` (all with None), in order.

    With their choices (hidden ones too: skip logic may still name them) and matrix rows.
    """
    if survey is None or not survey.pk:
        return []
    questions = Question.objects.filter(survey=survey)
    if before_position is not None:
        questions = questions.filter(page__position__lt=before_position)
    return list(
        questions.order_by("page__position", "position").prefetch_related(
            Prefetch("choices", queryset=Choice.objects.order_by("position")),
            Prefetch("rows", queryset=MatrixRow.objects.order_by("position")),
        )
    )


def condition_targets(
    *, survey: Survey | None, before_position: int | None
) -> dict[str, ConditionTarget]:
    """{code: skip-logic target} of the questions of `survey` on pages before `before_position`."""
    if before_position is None:
        return {}
    return {
        question.code: ConditionTarget(
            type=question.type,
            choices=frozenset(choice.code for choice in question.choices.all()),
            rows=frozenset(row.code for row in question.rows.all()),
        )
        for question in earlier_questions(survey=survey, before_position=before_position)
    }


def question_words(question: Question) -> QuestionWords:
    """What a plain-words description of skip logic needs to know of `question`."""
    return QuestionWords(
        type=question.type,
        text=question.text or {},
        choices={choice.code: choice.label or {} for choice in question.choices.all()},
        rows={row.code: row.text or {} for row in question.rows.all()},
    )


def condition_words(*, survey: Survey) -> dict[str, QuestionWords]:
    """{code: QuestionWords} of every question of `survey`, for describing its skip logic."""
    return {
        question.code: question_words(question)
        for question in earlier_questions(survey=survey, before_position=None)
    }


def choice_answer_count(*, question: Question, code: str) -> int:
    """How many answers (test responses' too) chose `code` of `question`, or rated its row `code`.

    A choice or matrix row with answers must stay: exports label the stored codes with it.
    """
    answers = Answer.objects.filter(question=question)
    if question_type(question.type).has_rows:
        return answers.filter(row=code).count()
    single = answers.filter(choice=code).count()
    # Multiple choice keeps a JSON list, which SQLite cannot search: read the lists themselves.
    listed = answers.exclude(choices=[]).values_list("choices", flat=True).iterator()
    return single + sum(1 for codes in listed if code in (codes or []))
