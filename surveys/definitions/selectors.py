"""Read-only queries about survey definitions."""

from __future__ import annotations

from surveys.definitions.conditions import ConditionTarget
from surveys.models import Question, Survey


def condition_targets(
    *, survey: Survey | None, before_position: int | None
) -> dict[str, ConditionTarget]:
    """{code: skip-logic target} of the questions of `survey` on pages before `before_position`."""
    if survey is None or not survey.pk or before_position is None:
        return {}
    questions = Question.objects.filter(
        survey=survey, page__position__lt=before_position
    ).prefetch_related("choices", "rows")
    return {
        question.code: ConditionTarget(
            type=question.type,
            choices=frozenset(choice.code for choice in question.choices.all()),
            rows=frozenset(row.code for row in question.rows.all()),
        )
        for question in questions
    }
