"""The builder's forms: survey settings, pages and questions (with skip logic), choices, rows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from surveys.admin.conditions import ConditionField
from surveys.admin.widgets import LANGUAGE_NAMES, TranslationField, set_languages_needed
from surveys.definitions.conditions import condition_problems
from surveys.definitions.question_types import LIKERT_SCALES, QUESTION_TYPES
from surveys.definitions.selectors import condition_targets, earlier_questions
from surveys.definitions.transfer import SUPPORTED_LANGUAGES
from surveys.models import DEFAULT_ITEMS, Choice, MatrixRow, Page, Question, Survey
from surveys.statistics.requests import StatisticsInputError, statistics_request_build


def skip_logic_problems(
    condition: Any, *, survey: Survey | None, before_position: int | None
) -> list[str]:
    """Why `condition` cannot work on a page at `before_position` of `survey` (empty if fine)."""
    earlier = condition_targets(survey=survey, before_position=before_position)
    return condition_problems(condition, earlier=earlier)


def next_page_position(survey: Survey | None) -> int:
    """Where a new page of `survey` goes: after its last page."""
    if survey is None or not survey.pk:
        return 1
    last = survey.pages.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 1


def offer_skip_logic(form: forms.BaseForm, survey: Survey | None, before_position: int) -> None:
    """Fill the skip-logic menus of `form` with the questions on pages before `before_position`."""
    field = form.fields.get("condition")
    if isinstance(field, ConditionField):
        questions = earlier_questions(survey=survey, before_position=before_position)
        field.set_questions(questions, survey.languages if survey else ["en"])


class ResultsTablesField(forms.CharField):
    """The public results page's tables, one a line: `variable` or `variable by other`.

    Stored as [{"variable": ...}, {"variable": ..., "by": ...}]; the lines read back the same.
    """

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(
                f"{table.get('variable', '')} by {table['by']}"
                if table.get("by")
                else str(table.get("variable", ""))
                for table in value
                if isinstance(table, dict)
            )
        return str(value or "")

    def to_python(self, value: Any) -> list[dict[str, str]]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        tables: list[dict[str, str]] = []
        for line in str(value or "").splitlines():
            words = line.split()
            if not words:
                continue
            if len(words) == 1:
                tables.append({"variable": words[0]})
            elif len(words) == 3 and words[1] == "by":
                tables.append({"variable": words[0], "by": words[2]})
            else:
                raise forms.ValidationError(
                    f"{line.strip()!r}: write one variable, or 'variable by other', per line."
                )
        return tables


def results_tables_problems(survey: Survey, tables: list[dict[str, str]]) -> list[str]:
    """Why the tables chosen for the public results page cannot be shown (empty when they can).

    The statistics' own request checks decide: each table must be a count of a categorical
    variable, by another one or not.
    """
    problems = []
    seen: set[tuple[str, str]] = set()
    for table in tables:
        key = (table["variable"], table.get("by", ""))
        if key in seen:
            problems.append(f"{' by '.join(filter(None, key))}: listed twice.")
            continue
        seen.add(key)
        try:
            statistics_request_build(survey=survey, variable=key[0], by=key[1] or None)
        except StatisticsInputError as error:
            problems.append(f"{' by '.join(filter(None, key))}: {error.message}")
    return problems


class SurveyAdminForm(forms.ModelForm):
    title = TranslationField(required=True)
    description = TranslationField(required=False, multiline=True)
    consent_text = TranslationField(required=True, multiline=True, rows=6)
    thank_you_text = TranslationField(required=False, multiline=True)
    languages = forms.MultipleChoiceField(
        choices=[(code, LANGUAGE_NAMES[code]) for code in SUPPORTED_LANGUAGES],
        widget=forms.CheckboxSelectMultiple,
        help_text="Respondents choose among these; every text needs each of them.",
    )
    default_language = forms.ChoiceField(
        choices=[(code, LANGUAGE_NAMES[code]) for code in SUPPORTED_LANGUAGES]
    )
    results_tables = ResultsTablesField(
        required=False,
        label="Public results page",
        help_text="One table a line: a variable (its frequency table) or 'variable by other' "
        "(a cross-tabulation), names as the API lists them. The page /results/<slug>/ is "
        "published while the statistics are public and this lists a table; it shows what "
        "anonymous API callers get.",
    )

    class Meta:
        model = Survey
        fields = [
            "slug",
            "title",
            "description",
            "consent_text",
            "thank_you_text",
            "languages",
            "default_language",
            "opens_at",
            "closes_at",
            "invitation_only",
            "min_cell_size",
            "public_statistics",
            "results_tables",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "languages" in self.fields and self.is_bound:
            widget = self.fields["languages"].widget
            languages = widget.value_from_datadict(
                self.data, self.files, self.add_prefix("languages")
            )
        else:
            languages = self.instance.languages or list(SUPPORTED_LANGUAGES)
        if "languages" in self.fields and not self.instance.pk:
            self.fields["languages"].initial = list(SUPPORTED_LANGUAGES)
        set_languages_needed(self, languages)

    def clean_min_cell_size(self) -> int:
        value = self.cleaned_data["min_cell_size"]
        if value is not None and value < 5:
            raise forms.ValidationError("Cells under 5 respondents are never published: use 5+.")
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        languages = cleaned.get("languages")
        default = cleaned.get("default_language")
        if languages and default and default not in languages:
            self.add_error("default_language", "The default language must be one offered.")
        tables = cleaned.get("results_tables")
        if tables and self.instance.pk:
            for problem in results_tables_problems(self.instance, tables):
                self.add_error("results_tables", problem)
        elif tables:
            self.add_error("results_tables", "Save the survey and its questions first.")
        return cleaned


class PageAdminForm(forms.ModelForm):
    title = TranslationField(required=False)
    intro = TranslationField(required=False, multiline=True, rows=2)
    condition = ConditionField()

    class Meta:
        model = Page
        fields = ["survey", "code", "title", "intro", "condition"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        survey = self._survey()
        set_languages_needed(self, survey.languages if survey else None)
        offer_skip_logic(self, survey, self._position(survey))

    def _position(self, survey: Survey | None) -> int:
        """The page's position; a new page goes last (the up and down buttons move it)."""
        return self.instance.position or next_page_position(survey)

    _inline_survey: Survey | None = None  # set when the form is a row of the survey's pages

    def _survey(self) -> Survey | None:
        if self.instance.survey_id:
            return self.instance.survey
        if self._inline_survey is not None:
            return self._inline_survey
        raw = self.data.get(self.add_prefix("survey")) if self.is_bound else None
        if raw is None:
            raw = self.initial.get("survey")  # "Add a page" from a survey: ?survey=<id>
        return Survey.objects.filter(pk=raw).first() if raw and str(raw).isdigit() else None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        condition = cleaned.get("condition")
        if condition == {}:
            cleaned["condition"] = None
        survey = cleaned.get("survey") or self._survey()
        for problem in skip_logic_problems(
            condition, survey=survey, before_position=self._position(survey)
        ):
            self.add_error("condition", problem)
        return cleaned


class QuestionAdminForm(forms.ModelForm):
    text = TranslationField(required=True, multiline=True, rows=2)
    help_text = TranslationField(required=False, multiline=True, rows=2)
    unit = TranslationField(required=False)
    condition = ConditionField()

    class Meta:
        model = Question
        fields = [
            "page",
            "code",
            "type",
            "text",
            "help_text",
            "required",
            "classify",
            "condition",
            "scale",
            "min_value",
            "max_value",
            "integer",
            "unit",
            "max_length",
            "min_items",
            "max_items",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        page = self._page()
        set_languages_needed(self, page.survey.languages if page else None)
        if page is not None:
            offer_skip_logic(self, page.survey, page.position)

    def _error(self, name: str, message: str) -> None:
        self.add_error(name if name in self.fields else None, message)

    def _page(self) -> Page | None:
        if self.instance.page_id:
            return self.instance.page
        raw = self.data.get(self.add_prefix("page")) if self.is_bound else None
        if raw is None:
            raw = self.initial.get("page")
        return Page.objects.select_related("survey").filter(pk=raw).first() if raw else None

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        page: Page | None = cleaned.get("page") or self._page()
        if page is None:
            return cleaned
        self._check_identity(survey=page.survey, code=cleaned.get("code"))
        self._check_type_settings()
        condition = cleaned.get("condition")
        if condition == {}:
            cleaned["condition"] = None
        for problem in skip_logic_problems(
            condition, survey=page.survey, before_position=page.position
        ):
            self._error("condition", problem)
        return cleaned

    def _value(self, name: str) -> Any:
        """The cleaned value of a field on the form, else the instance's current one."""
        if name in self.fields:
            return self.cleaned_data.get(name)
        return getattr(self.instance, name)

    def _check_identity(self, *, survey: Survey, code: str | None) -> None:
        """A question stays in its survey, has a unique code, and keeps its type once answered."""
        instance = self.instance
        if instance.pk and instance.survey_id != survey.pk:
            self._error("page", "A question stays in its survey: pick a page of that survey.")
        if (
            code
            and Question.objects.filter(survey=survey, code=code).exclude(pk=instance.pk).exists()
        ):
            self._error("code", f"Survey “{survey.slug}” already has a question “{code}”.")
        kind = self._value("type")
        if instance.pk and kind != instance.type and instance.answers.exists():
            self._error("type", "This question has answers: its type cannot change.")

    def _check_type_settings(self) -> None:
        """Classification, scale and bounds fit the question's type."""
        spec = QUESTION_TYPES.get(self._value("type"))  # None when the type itself was refused
        if self._value("classify") and not (spec and spec.classifiable):
            self._error(
                "classify", "Only long free text and multiple short text can be classified."
            )
        self._check_items(spec is not None and spec.has_items)
        scale = self._value("scale")
        likert = bool(spec and spec.has_scale)
        if likert and scale not in LIKERT_SCALES:
            self._error("scale", "A Likert question needs a scale of 5 or 7 points.")
        if not likert and scale is not None:
            self._error("scale", "Only Likert questions have a scale.")
        low, high = self._value("min_value"), self._value("max_value")
        if isinstance(low, Decimal) and isinstance(high, Decimal) and high < low:
            self._error("max_value", "The maximum is below the minimum.")

    def _check_items(self, has_items: bool) -> None:
        """Line counts belong to a multiple short text: 1 to 50 lines, at least min_items."""
        low, high = self._value("min_items"), self._value("max_items")
        if not has_items:
            for name, value in (("min_items", low), ("max_items", high)):
                if value is not None:
                    self._error(name, "Only a multiple short text has a number of lines.")
            return
        if high is not None and not 1 <= high <= 50:
            self._error("max_items", "A multiple short text has 1 to 50 lines.")
        if low is not None and low > (high or DEFAULT_ITEMS):
            self._error("min_items", "The minimum number of lines is above the maximum.")


class QuestionInlineForm(QuestionAdminForm):
    text = TranslationField(required=True)

    class Meta(QuestionAdminForm.Meta):
        fields = ["code", "type", "text", "required"]


class SurveyQuestionInlineForm(QuestionAdminForm):
    """A question as a row of its survey's page: which page, code, type, wording, required."""

    text = TranslationField(required=True)

    class Meta(QuestionAdminForm.Meta):
        fields = ["page", "code", "type", "text", "required"]


class ChoiceAdminForm(forms.ModelForm):
    label = TranslationField(required=True)

    class Meta:
        model = Choice
        fields = ["position", "code", "label", "is_other", "exclusive", "hidden"]


class MatrixRowAdminForm(forms.ModelForm):
    text = TranslationField(required=True)

    class Meta:
        model = MatrixRow
        fields = ["position", "code", "text"]


def with_survey_languages(form_class: type[forms.ModelForm], survey: Survey | None) -> Any:
    """The inline form class with its translation fields asking for the survey's languages."""

    class Form(form_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            set_languages_needed(self, survey.languages if survey else None)
            if isinstance(self, PageAdminForm) and survey is not None:
                self._inline_survey = survey
                offer_skip_logic(self, survey, self._position(survey))

    Form.__name__ = form_class.__name__
    return Form
