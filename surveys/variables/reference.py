"""The occupation reference as variables: each respondent's occupation group's exposure.

For a survey that measures exposure (a classified multiple-short-text question, whose lines the
task-exposure codebook codes), a response also gets the paper's human-rated alpha, beta and gamma
of the ISCO-08 group it chose (`<occupation>_ref_alpha`, ...; `surveys.reference.exposure`), so
that exports carry the reference beside the respondent's own scores and the codebook says where
it comes from. Missing for "other" and unanswered occupations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from surveys.models import Answer, Question, Response, Survey
from surveys.reference.exposure import MEASURES, reference_scores
from surveys.variables.catalogue import SurveyVariable

_LABELS = {
    "en": "Reference exposure of the occupation group (Eloundou et al. 2023, human-rated): {m}",
    "zh-hans": "职业组的参考暴露度（Eloundou 等 2023，人工评分）：{m}",
}


class OccupationReferenceVariables:
    """A `VariableProvider` of the reference alpha, beta and gamma of each response's occupation."""

    name = "occupation_reference"

    def variables(self, survey: Survey) -> list[SurveyVariable]:
        questions = Question.objects.filter(survey=survey)
        if not questions.filter(type=Question.Type.MULTIPLE_SHORT_TEXT, classify=True).exists():
            return []
        occupation = (
            questions.filter(type=Question.Type.OCCUPATION)
            .order_by("page__position", "position")
            .first()
        )
        if occupation is None:
            return []
        return [
            SurveyVariable(
                f"{occupation.code}_ref_{measure}",
                {lang: text.format(m=measure) for lang, text in _LABELS.items()},
                "numeric",
                measure="scale",
                source=(self.name, occupation.pk, measure),
                group=occupation.code,
            )
            for measure in MEASURES
        ]

    def values(
        self, survey: Survey, variables: Sequence[SurveyVariable], response_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        if not variables:
            return {}
        references = reference_scores()
        # No ordering: the model's (by response start, page and question) joins the responses
        # and sorts, some 50 ms a chunk, for a dict keyed by response.
        answers = (
            Answer.objects.filter(
                response_id__in=response_ids, question_id=variables[0].source[1], row=""
            )
            .order_by()
            .values_list("response_id", "choice")
        )
        # One dict of values per occupation group, shared by its responses (read, never changed).
        by_code = {
            code: {v.name: getattr(scores, v.source[2]) for v in variables}
            for code, scores in references.items()
        }
        return {response_id: by_code[code] for response_id, code in answers if code in by_code}

    def filter(
        self, responses: QuerySet[Response], variable: SurveyVariable, code: str
    ) -> QuerySet[Response]:
        """Numeric reference scores are not categories: no response matches a code."""
        return responses.none()
