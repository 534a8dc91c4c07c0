"""The classifier's categories as survey variables, for exports, statistics and the admin.

For every question flagged for classification (and every occupation question, whose "other, please
specify" texts occupation-isco codes) and every codebook that codes it, a response gets
the category (one column for a single-label codebook, one 0/1 column per category for a multi-label
one), the confidence of the coding and its review status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet

from classifier.audit.selectors import audit_summary, category_shares
from classifier.models import Category, Classification, Codebook, codebooks_coding
from classifier.runs.lines import (
    Line,
    exposure_estimates,
    fill_exposure,
    fill_line_value,
    is_line_variable,
    line_is_provisional,
    line_variables,
)
from surveys.definitions.question_types import question_type
from surveys.models import Question, Response, Survey
from surveys.variables.catalogue import EstimateScope, SurveyVariable

# Keys are the ReviewStatus members, which are str values.
_REVIEW_LABELS: dict[str, dict[str, str]] = {
    Classification.ReviewStatus.AUTO_CODED: {"en": "Auto-coded", "zh-hans": "自动编码"},
    Classification.ReviewStatus.PROVISIONAL: {
        "en": "Provisional (model label, audit not yet large enough)",
        "zh-hans": "暂定（模型标签，审核样本尚不足）",
    },
    Classification.ReviewStatus.NEEDS_REVIEW: {"en": "Needs review", "zh-hans": "待复核"},
    Classification.ReviewStatus.REVIEWED: {"en": "Reviewed by a coder", "zh-hans": "已人工复核"},
}
_FLAG_LABELS = {"1": {"en": "coded", "zh-hans": "是"}, "0": {"en": "not coded", "zh-hans": "否"}}


def _slug(value: str) -> str:
    return value.replace("-", "_")


def _codebooks_for(question: Question, codebooks: list[Codebook]) -> list[Codebook]:
    return codebooks_coding(question.code, codebooks, classify=question.classify)


def _label(question: Question, codebook: Codebook, suffix: dict[str, str]) -> dict[str, str]:
    return {
        lang: f"{question.text.get(lang, '')} — {codebook.name.get(lang, codebook.slug)}"
        f"{suffix.get(lang, '')}"
        for lang in ("en", "zh-hans")
    }


def _done(variables: Sequence[SurveyVariable]) -> QuerySet[Classification]:
    """The finished codings `variables` read: of their questions, under their codebooks."""
    return Classification.objects.filter(
        answer__question_id__in={variable.source[2] for variable in variables},
        codebook_id__in={variable.source[3] for variable in variables},
        status=Classification.Status.DONE,
    )


def _fill_value(
    values: dict[str, Any],
    variable: SurveyVariable,
    labels: list[str],
    confidence: Any,
    review: str,
) -> None:
    """Set `variable` from the classification of a question's one answer."""
    part = variable.source[1]
    if part == "label":
        values[variable.name] = labels[0] if labels else None
    elif part == "flag":
        values[variable.name] = 1 if variable.source[4] in labels else 0
    elif part == "confidence":
        values[variable.name] = confidence
    elif part == "review":
        values[variable.name] = review or None


class ClassificationVariables:
    """A `surveys.variables.catalogue.VariableProvider` for classification results."""

    name = "classification"

    def variables(self, survey: Survey) -> list[SurveyVariable]:
        questions = list(
            # Occupations too: their "other, please specify" texts (occupation-isco).
            Question.objects.filter(survey=survey)
            .filter(Q(classify=True) | Q(type=Question.Type.OCCUPATION))
            .order_by("page__position", "position")
        )
        if not questions:
            return []
        codebooks = list(Codebook.objects.order_by("slug").prefetch_related("categories"))
        out: list[SurveyVariable] = []
        for question in questions:
            for codebook in _codebooks_for(question, codebooks):
                out += self._for(question, codebook)
        return out

    def _for(self, question: Question, codebook: Codebook) -> list[SurveyVariable]:
        base = f"cls_{question.code}_{_slug(codebook.slug)}"
        categories: list[Category] = list(codebook.categories.all())

        def label(suffix: dict[str, str]) -> dict[str, str]:
            return _label(question, codebook, suffix)

        if question_type(question.type).has_items:
            return line_variables(question, codebook, categories, label)

        group = f"{question.code}:{codebook.slug}"
        out: list[SurveyVariable] = []
        if codebook.multilabel:
            for category in categories:
                out.append(
                    SurveyVariable(
                        f"{base}_{_slug(category.code)}",
                        label(
                            {
                                lang: f": {category.label.get(lang, category.code)}"
                                for lang in ("en", "zh-hans")
                            }
                        ),
                        "multi_flag",
                        value_labels=_FLAG_LABELS,
                        definitions={"1": category.definition},
                        source=(self.name, "flag", question.pk, codebook.pk, category.code),
                        group=group,
                    )
                )
        else:
            out.append(
                SurveyVariable(
                    base,
                    label({}),
                    "categorical",
                    value_labels={c.code: c.label for c in categories},
                    definitions={c.code: c.definition for c in categories},
                    source=(self.name, "label", question.pk, codebook.pk),
                    group=group,
                )
            )
        out.append(
            SurveyVariable(
                f"{base}_conf",
                label({"en": " (confidence)", "zh-hans": "（置信度）"}),
                "numeric",
                measure="scale",
                source=(self.name, "confidence", question.pk, codebook.pk),
                group=group,
            )
        )
        out.append(
            SurveyVariable(
                f"{base}_review",
                label({"en": " (review status)", "zh-hans": "（复核状态）"}),
                "categorical",
                value_labels=dict(_REVIEW_LABELS),
                source=(self.name, "review", question.pk, codebook.pk),
                group=group,
            )
        )
        return out

    def estimates(
        self, survey: Survey, variable: SurveyVariable, *, scope: EstimateScope | None = None
    ) -> dict[str, Any] | None:
        """The audited shares of a category variable: PPI beside the naive auto-coded figure.

        For an exposure score asked with a `scope`: the audit-corrected mean alpha, beta and
        gamma of the scope's respondents and groups (`lines.exposure_estimates`).
        """
        part = variable.source[1] if len(variable.source) > 1 else ""
        if part not in {"label", "flag", "exposure"} or (part == "exposure") != bool(scope):
            return None
        codebook = Codebook.objects.filter(pk=variable.source[3]).first()
        if codebook is None:
            return None
        if scope is not None:
            return exposure_estimates(
                survey_id=survey.pk,
                question_id=variable.source[2],
                codebook=codebook,
                scope=scope,
            )
        shares = category_shares(
            survey_id=survey.pk, question_id=variable.source[2], codebook=codebook
        )
        if part == "flag":
            shares = {code: v for code, v in shares.items() if code == variable.source[4]}
        return {
            "method": "ppi",
            "confidence": 0.95,
            "audit": audit_summary(survey_id=survey.pk, codebook=codebook).as_dict(),
            "shares": shares,
        }

    def has_values(self, survey: Survey, variables: Sequence[SurveyVariable]) -> bool:
        """Whether any response of `survey` has a value of `variables`: a coding done."""
        if not variables:
            return False
        return _done(variables).filter(answer__response__survey=survey).exists()

    def values(
        self, survey: Survey, variables: Sequence[SurveyVariable], response_ids: Sequence[int]
    ) -> dict[int, dict[str, Any]]:
        wanted: dict[tuple[int, int], list[SurveyVariable]] = {}
        for variable in variables:
            wanted.setdefault((variable.source[2], variable.source[3]), []).append(variable)
        if not wanted:
            return {}
        rows = (
            _done(variables)
            .filter(answer__response_id__in=response_ids)
            .values_list(
                "answer__response_id",
                "answer__question_id",
                "codebook_id",
                "labels",
                "confidence",
                "review_status",
                "answer__row",
                "source",
            )
        )
        result: dict[int, dict[str, Any]] = {}
        # Lines of multiple short texts: their labels per (response, question, codebook).
        coded_lines: dict[tuple[int, int, int], list[Line]] = {}
        for response_id, question_id, codebook_id, labels, confidence, review, row, source in rows:
            values = result.setdefault(response_id, {})
            if row:
                key = (response_id, question_id, codebook_id)
                coded_lines.setdefault(key, []).append(
                    (
                        labels[0] if labels else None,
                        line_is_provisional(source=source, review_status=review),
                    )
                )
            for variable in wanted.get((question_id, codebook_id), []):
                if variable.source[1] == "exposure":
                    continue
                if is_line_variable(variable):
                    fill_line_value(values, variable, row, labels, confidence)
                else:
                    _fill_value(values, variable, labels, confidence, review)
        for (response_id, question_id, codebook_id), labels_of_lines in coded_lines.items():
            exposure = [v for v in wanted[question_id, codebook_id] if v.source[1] == "exposure"]
            fill_exposure(result[response_id], exposure, labels_of_lines)
        return result

    def filter(
        self, responses: QuerySet[Response], variable: SurveyVariable, code: str
    ) -> QuerySet[Response]:
        """Responses whose value of `variable` is `code` (a category, or a review status)."""
        part, question_id, codebook_id = variable.source[1:4]
        rows = Classification.objects.filter(
            answer__question_id=question_id,
            codebook_id=codebook_id,
            status=Classification.Status.DONE,
        )
        if part == "review":
            return responses.filter(
                pk__in=rows.filter(review_status=code).values("answer__response_id")
            )
        if part == "label" and len(variable.source) > 4:  # one line of a multiple short text
            rows = rows.filter(answer__row=variable.source[4])
        category = variable.source[4] if part == "flag" else code
        # Labels are a JSON list; matching in Python keeps this portable across SQLite/PostgreSQL.
        matching = [
            response_id
            for response_id, labels in rows.values_list("answer__response_id", "labels")
            if (category in labels) == (part != "flag" or code == "1")
        ]
        return responses.filter(pk__in=matching)
