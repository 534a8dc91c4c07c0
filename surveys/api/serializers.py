"""Input serializers for the API's query parameters, output serializers for its answers.

Inputs check shape (types, dates, ranges, the VAR:CODE syntax); names are resolved against the
survey by `surveys.statistics.selectors`, whose errors the views turn into 400 answers too.
"""

from __future__ import annotations

import math
from typing import Any

from django.http import QueryDict
from rest_framework import serializers

from surveys.statistics.estimators import MIN_K

MAX_PAGE_SIZE = 500
TOO_MANY_VARIABLES = (
    "At most two variables: one 'variable' and at most one 'by' (each given once, no commas)."
)


def _given(data: Any, name: str) -> list[str]:
    if isinstance(data, QueryDict):
        return data.getlist(name)
    value = data.get(name) if hasattr(data, "get") else None
    return [] if value is None else [value]


class StatisticsParamsSerializer(serializers.Serializer):
    """Query parameters of the statistics endpoint."""

    variable = serializers.CharField(
        max_length=200, help_text="Name of the variable (see the survey's 'variables')."
    )
    by = serializers.CharField(
        max_length=200,
        required=False,
        help_text="A second, categorical variable: cross-tabulate (rows) or group the means.",
    )
    stat = serializers.ChoiceField(
        choices=["count", "mean"],
        default="count",
        help_text="count: counts and percentages; mean: means of a numeric or Likert variable.",
    )
    language = serializers.CharField(
        max_length=10, required=False, help_text="Only responses given in this language."
    )
    status = serializers.ChoiceField(
        choices=["complete", "in_progress", "all"],
        default="complete",
        help_text="Which responses count (complete by default).",
    )
    filter = serializers.ListField(
        child=serializers.CharField(max_length=300),
        required=False,
        max_length=20,
        help_text=(
            "VARIABLE:CODE, repeatable (up to 20): only responses with that value. VARIABLE is a "
            "name from the survey's variables, CODE one of its codes (1/0 for yes/no and "
            "multiple-choice flags). Codes of one variable are alternatives (any may match); "
            "different variables must all match: filter=country:US&filter=country:CN"
            "&filter=lost_work:1."
        ),
    )
    k = serializers.IntegerField(
        required=False,
        min_value=MIN_K,
        max_value=10_000,
        error_messages={
            "min_value": f"k must be at least {MIN_K}.",
            "invalid": f"k must be a whole number, at least {MIN_K}.",
        },
        help_text="Minimum cell size; raised to the survey's own minimum when lower.",
    )
    weights = serializers.CharField(
        max_length=200,
        required=False,
        help_text="Categorical variable whose categories are the post-stratification strata.",
    )
    targets = serializers.CharField(
        max_length=5000,
        required=False,
        help_text=(
            "Target shares of the strata: CODE:SHARE,CODE:SHARE… (normalised to sum 1), e.g. "
            "en:0.5,zh-hans:0.5; every stratum present in the selection needs one."
        ),
    )
    lang = serializers.CharField(
        max_length=10, required=False, help_text="Language of labels (default: the survey's)."
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # 'from' is a Python keyword, so the date bounds are added here rather than declared.
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False, help_text="Responses submitted on or after this date (YYYY-MM-DD)."
        )
        fields["to"] = serializers.DateField(
            required=False, help_text="Responses submitted on or before this date (YYYY-MM-DD)."
        )
        return fields

    def validate_filter(self, value: list[str]) -> list[tuple[str, str]]:
        pairs = []
        for item in value:
            name, colon, code = item.partition(":")
            if not colon or not name or not code:
                raise serializers.ValidationError(
                    f"Malformed filter {item!r}: write VARIABLE:CODE, for example country:CN."
                )
            pairs.append((name, code))
        return pairs

    def validate_targets(self, value: str) -> dict[str, float]:
        shares: dict[str, float] = {}
        for item in value.split(","):
            code, colon, share = item.strip().partition(":")
            if not colon or not code:
                raise serializers.ValidationError(
                    f"Malformed target {item!r}: write CODE:SHARE,CODE:SHARE…, "
                    "for example en:0.6,zh-hans:0.4."
                )
            try:
                number = float(share)
            except ValueError:
                raise serializers.ValidationError(
                    f"The share of {code!r} is not a number: {share!r}."
                ) from None
            if not math.isfinite(number) or number < 0:
                raise serializers.ValidationError(
                    f"The share of {code!r} must be a finite, non-negative number."
                )
            if code in shares:
                raise serializers.ValidationError(f"Stratum {code!r} is given twice.")
            shares[code] = number
        if sum(shares.values()) <= 0:
            raise serializers.ValidationError("Target shares must sum to a positive number.")
        return shares

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("variable", "by"):
            if len(_given(self.initial_data, name)) > 1 or "," in (attrs.get(name) or ""):
                raise serializers.ValidationError({name: TOO_MANY_VARIABLES})
        start, end = attrs.get("from"), attrs.get("to")
        if start and end and start > end:
            raise serializers.ValidationError({"from": f"'from' ({start}) is after 'to' ({end})."})
        if bool(attrs.get("weights")) != bool(attrs.get("targets")):
            raise serializers.ValidationError(
                {"weights": "Weighting needs both 'weights' (a variable) and 'targets'."}
            )
        return attrs


class ExposureParamsSerializer(StatisticsParamsSerializer):
    """Query parameters of the exposure endpoint: the statistics' scope, weights and k."""

    variable = None  # type: ignore[assignment]
    by = None  # type: ignore[assignment]
    stat = None  # type: ignore[assignment]
    question = serializers.CharField(
        max_length=64,
        required=False,
        help_text="The task question (a classified multiple short text); default: the first.",
    )


class ExposureOutputSerializer(serializers.Serializer):
    survey = serializers.SlugField()
    question = serializers.CharField()
    by = serializers.CharField(help_text="The occupation variable the groups come from.")
    k = serializers.IntegerField(help_text="Minimum cell size applied.")
    weighted = serializers.BooleanField()
    weighting = serializers.JSONField(allow_null=True)
    overall = serializers.JSONField(help_text="alpha, beta, gamma: mean, low, high, n, suppressed.")
    provisional = serializers.JSONField(
        allow_null=True,
        help_text=(
            "share: the share of the coded tasks whose code is a model label that is not final "
            "(provisional, or waiting for a coder); any: whether there is one. Null when hidden."
        ),
    )
    corrected = serializers.JSONField(
        allow_null=True,
        help_text=(
            "alpha, beta, gamma corrected by the survey's audit sample (prediction-powered "
            "inference): mean, low, high (95%), n (respondents), audited (audited tasks). Null "
            "for callers without raw access, without an available correction, or when hidden."
        ),
    )
    groups = serializers.JSONField(
        help_text=(
            "Per ISCO-08 group: code, label, respondents (alpha, beta, gamma: mean with a 95% "
            "interval; null when suppressed), provisional and corrected (as at the top level) "
            "and reference (the paper's human-rated alpha, beta, gamma, their range over the "
            "group's SOC codes, the SOC codes; null without one)."
        )
    )
    estimates = serializers.JSONField(
        allow_null=True,
        help_text=(
            "The audit correction: method (ppi), confidence, available, reason (why not), "
            "audited_tasks and the audit's summary (status provisional|final, precision). Null "
            "for callers without access to the raw responses."
        ),
    )
    reference_source = serializers.CharField()


def _page_size_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        error_messages={
            "min_value": f"page_size must be between 1 and {MAX_PAGE_SIZE}.",
            "max_value": f"page_size must be between 1 and {MAX_PAGE_SIZE}.",
            "invalid": f"page_size must be a whole number between 1 and {MAX_PAGE_SIZE}.",
        },
    )


def _cursor_field() -> serializers.CharField:
    return serializers.CharField(
        required=False, max_length=1000, help_text="The opaque cursor of the next/previous link."
    )


class _SyncParamsSerializer(serializers.Serializer):
    # DRF skips an optional parameter sent empty ("?updated_since="), which would silently sync
    # everything: a parameter that is given must have a value.
    not_blank: tuple[str, ...] = ("page_size",)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in self.not_blank:
            if any(not value.strip() for value in _given(self.initial_data, name)):
                raise serializers.ValidationError(
                    {name: f"{name} is empty: leave it out, or give a value."}
                )
        return attrs


class ResponsesParamsSerializer(_SyncParamsSerializer):
    """Query parameters of the raw responses endpoint (besides the opaque cursor)."""

    not_blank = ("updated_since", "page_size")

    updated_since = serializers.DateTimeField(
        required=False,
        help_text=(
            "Only responses changed after this moment (ISO 8601). For incremental sync, pass "
            "the largest updated_at received so far; withdrawn responses are listed by "
            "responses/deleted/."
        ),
    )
    page_size = _page_size_field()
    status = serializers.ChoiceField(
        choices=["complete", "in_progress", "all"],
        default="complete",
        help_text="Which responses to list (complete by default).",
    )
    cursor = _cursor_field()


class TombstonesParamsSerializer(_SyncParamsSerializer):
    """Query parameters of the withdrawn responses endpoint (besides the opaque cursor)."""

    not_blank = ("deleted_since", "page_size")

    deleted_since = serializers.DateTimeField(
        required=False,
        help_text=(
            "Only responses withdrawn after this moment (ISO 8601). For incremental sync, pass "
            "the largest deleted_at received so far."
        ),
    )
    page_size = _page_size_field()
    cursor = _cursor_field()


# --- outputs ------------------------------------------------------------------------------------


class SurveyListOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.DictField(child=serializers.CharField(allow_blank=True))
    status = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    default_language = serializers.CharField()
    public_statistics = serializers.BooleanField()
    min_cell_size = serializers.IntegerField()
    role = serializers.CharField(allow_null=True)
    responses_complete = serializers.IntegerField()


# The fields below marked `type: ignore[assignment]` are named like attributes of Field (label,
# help_text, required), which a Serializer is; the stubs cannot tell that DRF's metaclass moves
# declared fields off the class, so none of those attributes is replaced.
class ChoiceOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.DictField(child=serializers.CharField(allow_blank=True))  # type: ignore[assignment]
    is_other = serializers.BooleanField()
    exclusive = serializers.BooleanField()


class RowOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.DictField(child=serializers.CharField(allow_blank=True))


class QuestionOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    type = serializers.CharField()
    text = serializers.DictField(child=serializers.CharField(allow_blank=True))
    help_text = serializers.DictField(child=serializers.CharField(allow_blank=True))  # type: ignore[assignment]
    required = serializers.BooleanField()  # type: ignore[assignment]
    classify = serializers.BooleanField()
    scale = serializers.IntegerField(allow_null=True)
    min_value = serializers.DecimalField(
        max_digits=14, decimal_places=4, allow_null=True, coerce_to_string=False
    )
    max_value = serializers.DecimalField(
        max_digits=14, decimal_places=4, allow_null=True, coerce_to_string=False
    )
    integer = serializers.BooleanField()
    unit = serializers.DictField(child=serializers.CharField(allow_blank=True))
    condition = serializers.JSONField(allow_null=True)
    choices = ChoiceOutputSerializer(many=True)
    rows = RowOutputSerializer(many=True)


class PageOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    position = serializers.IntegerField()
    title = serializers.DictField(child=serializers.CharField(allow_blank=True))
    condition = serializers.JSONField(allow_null=True)
    questions = QuestionOutputSerializer(many=True)


class VariableOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.DictField(child=serializers.CharField(allow_blank=True))  # type: ignore[assignment]
    kind = serializers.CharField()
    measure = serializers.CharField()
    categorical = serializers.BooleanField()
    group = serializers.CharField(allow_blank=True)
    value_labels = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True))
    )
    definitions = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True))
    )


class CodebookCategoryOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Category code (multi-label: the 0/1 variable's name).")
    variable = serializers.CharField()
    label = serializers.DictField(child=serializers.CharField(allow_blank=True))  # type: ignore[assignment]
    definition = serializers.DictField(child=serializers.CharField(allow_blank=True))


class CodebookOutputSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="question code:codebook slug")
    question = serializers.CharField()
    codebook = serializers.CharField()
    multilabel = serializers.BooleanField()
    variables = serializers.ListField(child=serializers.CharField())
    categories = CodebookCategoryOutputSerializer(many=True)


class SurveyDetailOutputSerializer(SurveyListOutputSerializer):
    description = serializers.DictField(child=serializers.CharField(allow_blank=True))
    pages = PageOutputSerializer(many=True)
    variables = VariableOutputSerializer(many=True)
    codebooks = CodebookOutputSerializer(many=True)


class StatisticsVariableOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    kind = serializers.CharField()
    measure = serializers.CharField()
    categorical = serializers.BooleanField()
    value_labels = serializers.DictField(child=serializers.CharField(allow_blank=True))
    missing_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "Codes of non-substantive answers (don't know, not applicable, refused): counted in "
            "the table's `missing`, never as categories, and left out of means."
        ),
    )


class StatisticsOutputSerializer(serializers.Serializer):
    survey = serializers.SlugField()
    stat = serializers.CharField()
    lang = serializers.CharField()
    variable = StatisticsVariableOutputSerializer()
    by = StatisticsVariableOutputSerializer(allow_null=True)
    filters = serializers.JSONField()
    n = serializers.IntegerField(
        allow_null=True, help_text="Responses selected; null when publishing it would disclose."
    )
    n_suppressed = serializers.BooleanField()
    k = serializers.IntegerField(help_text="Minimum cell size applied.")
    k_requested = serializers.IntegerField(allow_null=True)
    k_note = serializers.CharField(allow_blank=True)
    weighted = serializers.BooleanField()
    weighting = serializers.JSONField(allow_null=True)
    table = serializers.JSONField(
        help_text=(
            "kind=frequency|crosstab (cells with code, label, n, percent, ci, suppressed; "
            "totals) or kind=means (groups and overall). Suppressed figures are null."
        )
    )
    estimates = serializers.JSONField(
        allow_null=True,
        help_text=(
            "For a classifier category variable: the survey's audit (status provisional|final, "
            "realised precision of auto-coding with its 95% interval, the survey's threshold) "
            "and per category the share corrected by the audit sample (ppi: estimate, low, high, "
            "n audited) beside the naive share of auto-coded answers. Over all of the survey's "
            "coded answers (filters not applied). Null for other variables."
        ),
    )
    disclosure = serializers.JSONField(
        help_text=(
            "exact: true for callers who may read the raw responses; otherwise the period "
            "windows were widened to (week, month or quarter) and notes on what was withheld."
        )
    )


class ResponseOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    language = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    values = serializers.DictField(help_text="Values keyed by variable name.")


class TombstoneOutputSerializer(serializers.Serializer):
    id = serializers.CharField(
        source="public_id", help_text="The id the response had: delete it from your copy."
    )
    deleted_at = serializers.DateTimeField()
