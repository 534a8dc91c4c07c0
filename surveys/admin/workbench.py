"""The researchers' workbench: surveys and their builder, responses, roles and the audit log.

A staff user's role on a survey (surveys.core.access), not Django's model permissions, decides what
they may see and do here: owners everything including roles, editors the survey's content and
its opening and closing, viewers read only, coders nothing beyond the classifier's review queue.
Superusers act as owners of every survey.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.template.defaultfilters import linebreaksbr
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from surveys import reference
from surveys.admin import views as admin_views
from surveys.admin.widgets import LANGUAGE_NAMES, TranslationField, set_languages_needed
from surveys.core.access import has_permission, surveys_for
from surveys.core.i18n import translate
from surveys.definitions import conditions
from surveys.definitions import services as survey_services
from surveys.definitions.transfer import SUPPORTED_LANGUAGES
from surveys.models import (
    Answer,
    AuditEntry,
    Choice,
    Invitation,
    MatrixRow,
    Page,
    Question,
    Response,
    Survey,
    SurveyRole,
)
from surveys.respondent.services import invitations_create
from surveys.statistics.dashboard import derived_variables
from surveys.variables.catalogue import (
    SurveyVariable,
    response_rows,
    responses_where,
    survey_variables,
)

Role = SurveyRole.Role
ADMIN_CSS = {"all": ["surveys/admin.css"]}


def _staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def _en(texts: Any, survey: Survey | None = None) -> str:
    return translate(texts, "en", survey.default_language if survey else "en")


# --- role scoping shared by every survey-owned model ----------------------------------------------


class SurveyScopedAdmin(admin.ModelAdmin):
    """Lists and objects narrowed to the surveys on which the user's role allows each action."""

    survey_path = "survey"  # ORM path from the model to its survey ("" for Survey itself)
    view_permission = "view"
    change_permission = "edit"
    delete_permission = "edit"
    can_add = True
    list_for_every_researcher = False  # else only for those holding view_permission somewhere

    class Media:
        css = ADMIN_CSS

    def survey_of(self, obj: Any) -> Survey | None:
        if not self.survey_path:
            return obj
        for part in self.survey_path.split("__"):
            obj = getattr(obj, part, None)
        return obj

    def _allowed(self, request: HttpRequest, obj: Any, permission: str) -> bool:
        if not _staff(request):
            return False
        if obj is None:
            return (
                request.user.is_superuser
                or surveys_for(user=request.user, permission=permission).exists()
            )
        survey = self.survey_of(obj)
        if survey is None:
            return bool(request.user.is_superuser)
        return has_permission(user=request.user, survey=survey, permission=permission)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        allowed = surveys_for(user=request.user, permission=self.view_permission).values("pk")
        key = f"{self.survey_path}__in" if self.survey_path else "pk__in"
        return queryset.filter(**{key: allowed})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None and self.list_for_every_researcher:
            return _staff(request)  # the list is narrowed by get_queryset
        return self._allowed(request, obj, self.view_permission)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, obj, self.change_permission)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.can_add and self._allowed(request, None, self.change_permission)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request, obj, self.delete_permission)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # The bulk action checks no object-level role; deletion goes through each object's page.
        actions.pop("delete_selected", None)
        return actions

    def _visible_or_404(self, request: HttpRequest, object_id: str | None) -> None:
        # Objects outside the user's surveys do not exist for them: 404, not a redirect.
        if object_id and self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such object.")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)


class ReadOnlyScopedAdmin(SurveyScopedAdmin):
    """Records that are written elsewhere (by respondents, services or the audit trail)."""

    can_add = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ScopedInline:
    """Inline permissions follow the role on the parent object's survey."""

    parent_survey: Callable[[Any], Survey | None] = staticmethod(lambda obj: obj)

    def _role_allows(self, request: HttpRequest, obj: Any, permission: str) -> bool:
        if not _staff(request):
            return False
        if obj is None:  # adding the parent: its creator becomes the owner
            return True
        survey = self.parent_survey(obj)
        return survey is not None and has_permission(
            user=request.user, survey=survey, permission=permission
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, obj, "view")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, obj, "edit")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, obj, "edit")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._role_allows(request, obj, "edit")


class AnsweredDeletionGuard(forms.BaseInlineFormSet):
    """Refuses, with a plain message, to delete pages or questions that respondents answered."""

    def clean(self) -> None:
        # Before super().clean(): Django's own check lists every protected answer by id.
        for form in self.forms:
            if not (self.can_delete and self._should_delete_form(form)) or not form.instance.pk:
                continue
            instance = form.instance
            answers = (
                Answer.objects.filter(question__page=instance)
                if isinstance(instance, Page)
                else Answer.objects.filter(question=instance)
            )
            count = answers.values("response").distinct().count()
            if count:
                kind = instance._meta.verbose_name
                raise forms.ValidationError(
                    f"The {kind} “{instance.code}” cannot be deleted: {count} response(s) "
                    "answered it, and answers keep their questions. Duplicate the survey to "
                    "change its questionnaire.",
                    code="answered",
                )
        super().clean()


def _protected_summary(objs: list[Any]) -> list[str]:
    """One readable line per kind of protected object, instead of thousands of answer ids."""
    lines = []
    for obj in objs:
        if isinstance(obj, Survey):
            responses = obj.responses.count()
            if responses:
                lines.append(
                    f"Survey “{obj.slug}” has {responses} response(s): a survey with responses "
                    "cannot be deleted (close it instead)."
                )
        else:
            answers = (
                Answer.objects.filter(question__page=obj)
                if isinstance(obj, Page)
                else Answer.objects.filter(question=obj)
            )
            responses = answers.values("response").distinct().count()
            if responses:
                lines.append(
                    f"{obj._meta.verbose_name.capitalize()} “{obj.code}” was answered in "
                    f"{responses} response(s): answers keep their questions. Duplicate the "
                    "survey to change its questionnaire."
                )
    return lines


class ProtectedSummaryMixin:
    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(  # type: ignore[misc]
            objs, request
        )
        # The role check on the object itself decided; its contents go with it.
        if protected:
            protected = _protected_summary(list(objs)) or protected[:20]
        return deleted, counts, set(), protected


# --- skip-logic validation ------------------------------------------------------------------------


def _leaves(condition: Any) -> list[dict[str, Any]]:
    if not isinstance(condition, dict):
        return []
    for key in ("all", "any"):
        if key in condition:
            return [leaf for part in condition[key] for leaf in _leaves(part)]
    if "not" in condition:
        return _leaves(condition["not"])
    return [condition]


def condition_problems(
    condition: Any, *, survey: Survey | None, before_position: int | None
) -> list[str]:
    """Why `condition` cannot work on a page at `before_position` of `survey` (empty if fine)."""
    if condition in (None, {}, ""):
        return []
    try:
        conditions.validate(condition)
    except conditions.ConditionError as error:
        return [str(error)]
    earlier: dict[str, Question] = {}
    if survey is not None and survey.pk and before_position is not None:
        earlier = {
            q.code: q
            for q in Question.objects.filter(
                survey=survey, page__position__lt=before_position
            ).prefetch_related("choices", "rows")
        }
    problems = []
    for leaf in _leaves(condition):
        code = leaf["question"]
        question = earlier.get(code)
        if question is None:
            problems.append(
                f"“{code}” is not a question on an earlier page; skip logic can only use "
                "answers already given."
            )
            continue
        if "row" in leaf:
            rows = {row.code for row in question.rows.all()}
            if question.type != Question.Type.LIKERT_MATRIX or leaf["row"] not in rows:
                problems.append(f"“{code}” has no matrix row “{leaf['row']}”.")
        elif question.type == Question.Type.LIKERT_MATRIX:
            problems.append(f"“{code}” is a matrix: name one of its rows with 'row'.")
        if question.type in Question.CHOICE_TYPES and leaf["op"] in {
            "equals",
            "not_equals",
            "in",
            "not_in",
            "contains",
        }:
            codes = {choice.code for choice in question.choices.all()}
            values = leaf["value"] if isinstance(leaf["value"], list) else [leaf["value"]]
            unknown = [str(v) for v in values if str(v) not in codes]
            if unknown:
                problems.append(
                    f"“{code}” has no choice {', '.join(repr(v) for v in unknown)} "
                    f"(its choices: {', '.join(sorted(codes))})."
                )
    return problems


class ConditionField(forms.JSONField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.Textarea(attrs={"rows": 2, "cols": 60, "class": "condition-input"})
        )
        kwargs.setdefault(
            "help_text",
            'Skip logic as JSON, e.g. {"question": "lost_work", "op": "equals", "value": true}; '
            "empty means always shown.",
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


# --- survey builder forms -------------------------------------------------------------------------


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
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "languages" in self.fields and self.is_bound:
            languages = self.data.getlist(self.add_prefix("languages"))
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
        cleaned = super().clean()
        languages = cleaned.get("languages")
        default = cleaned.get("default_language")
        if languages and default and default not in languages:
            self.add_error("default_language", "The default language must be one offered.")
        return cleaned


class PageAdminForm(forms.ModelForm):
    title = TranslationField(required=False)
    intro = TranslationField(required=False, multiline=True, rows=2)
    condition = ConditionField()

    class Meta:
        model = Page
        fields = ["survey", "position", "code", "title", "intro", "condition"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        survey = self._survey()
        set_languages_needed(self, survey.languages if survey else None)

    def _survey(self) -> Survey | None:
        if self.instance.survey_id:
            return self.instance.survey
        raw = self.data.get(self.add_prefix("survey")) if self.is_bound else None
        return Survey.objects.filter(pk=raw).first() if raw and str(raw).isdigit() else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        condition = cleaned.get("condition")
        if condition == {}:
            cleaned["condition"] = None
        survey = cleaned.get("survey") or self._survey()
        for problem in condition_problems(
            condition, survey=survey, before_position=cleaned.get("position")
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
            "position",
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
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        page = self._page()
        set_languages_needed(self, page.survey.languages if page else None)

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
        cleaned = super().clean()
        page: Page | None = cleaned.get("page") or self._page()

        def value(name: str) -> Any:
            return cleaned.get(name) if name in self.fields else getattr(self.instance, name)

        kind = value("type")
        if page is None:
            return cleaned
        survey = page.survey
        instance = self.instance
        if instance.pk and instance.survey_id != survey.pk:
            self._error("page", "A question stays in its survey: pick a page of that survey.")
        code = cleaned.get("code")
        if (
            code
            and Question.objects.filter(survey=survey, code=code).exclude(pk=instance.pk).exists()
        ):
            self._error("code", f"Survey “{survey.slug}” already has a question “{code}”.")
        if instance.pk and kind != instance.type and instance.answers.exists():
            self._error("type", "This question has answers: its type cannot change.")
        if value("classify") and kind != Question.Type.LONG_TEXT:
            self._error("classify", "Only long free-text questions can be classified.")
        scale = value("scale")
        likert = kind in {Question.Type.LIKERT, Question.Type.LIKERT_MATRIX}
        if likert and scale not in (5, 7):
            self._error("scale", "A Likert question needs a scale of 5 or 7 points.")
        if not likert and scale is not None:
            self._error("scale", "Only Likert questions have a scale.")
        low, high = value("min_value"), value("max_value")
        if isinstance(low, Decimal) and isinstance(high, Decimal) and high < low:
            self._error("max_value", "The maximum is below the minimum.")
        condition = cleaned.get("condition")
        if condition == {}:
            cleaned["condition"] = None
        for problem in condition_problems(condition, survey=survey, before_position=page.position):
            self._error("condition", problem)
        return cleaned


class QuestionInlineForm(QuestionAdminForm):
    text = TranslationField(required=True)

    class Meta(QuestionAdminForm.Meta):
        fields = ["position", "code", "type", "text", "required"]


class ChoiceAdminForm(forms.ModelForm):
    label = TranslationField(required=True)

    class Meta:
        model = Choice
        fields = ["position", "code", "label", "is_other", "exclusive"]


class MatrixRowAdminForm(forms.ModelForm):
    text = TranslationField(required=True)

    class Meta:
        model = MatrixRow
        fields = ["position", "code", "text"]


def _with_survey_languages(form_class: type[forms.ModelForm], survey: Survey | None) -> Any:
    """The inline form class with its translation fields asking for the survey's languages."""

    class Form(form_class):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            set_languages_needed(self, survey.languages if survey else None)

    Form.__name__ = form_class.__name__
    return Form


# --- surveys --------------------------------------------------------------------------------------


def _questions_outline(page: Page) -> SafeString:
    if not page.pk:
        return format_html("{}", "Save the page to add questions.")
    items = format_html_join(
        "",
        '<li><a href="{}">{}</a> <span class="muted">{} · {}</span></li>',
        (
            (
                reverse("admin:surveys_question_change", args=[q.pk]),
                q.code,
                q.get_type_display(),
                _en(q.text, page.survey),
            )
            for q in page.questions.order_by("position")
        ),
    )
    add = reverse("admin:surveys_question_add") + f"?page={page.pk}"
    return format_html(
        '<ol class="outline">{}</ol><a class="addlink" href="{}">Add a question</a>', items, add
    )


class PageInline(ScopedInline, admin.StackedInline):
    model = Page
    form = PageAdminForm
    formset = AnsweredDeletionGuard
    extra = 0
    show_change_link = True
    fields = [("position", "code"), "title", "intro", "condition", "questions_summary"]
    readonly_fields = ["questions_summary"]
    classes = ["page-inline"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = _with_survey_languages(self.form, obj)
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="questions")
    def questions_summary(self, obj: Page) -> SafeString:
        if not obj.pk:
            return format_html("{}", "Save the page to add questions.")
        return format_html(
            '{} · <a href="{}">edit the questions of this page</a>',
            ", ".join(obj.questions.order_by("position").values_list("code", flat=True))
            or "no questions yet",
            reverse("admin:surveys_page_change", args=[obj.pk]),
        )


@admin.register(Survey)
class SurveyAdmin(ProtectedSummaryMixin, SurveyScopedAdmin):
    survey_path = ""
    delete_permission = "manage_roles"
    list_for_every_researcher = True
    form = SurveyAdminForm
    list_display = ["slug", "title_en", "status", "responses", "your_role", "links"]
    list_filter = ["status", "invitation_only", "public_statistics"]
    search_fields = ["slug", "title"]
    inlines = [PageInline]
    actions = ["create_invitations"]
    change_form_template = "admin/surveys/survey/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Survey]:
        mine = SurveyRole.objects.filter(survey=OuterRef("pk"), user=request.user.pk)
        return (
            super()
            .get_queryset(request)
            .annotate(
                response_count=Count("responses"),
                my_role=Subquery(mine.values("role")[:1]),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _staff(request)  # any researcher may start a survey; they become its owner

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets: list[Any] = [
            ("Survey", {"fields": ["slug", "title", "description"]}),
            ("What respondents read", {"fields": ["consent_text", "thank_you_text"]}),
            (
                "Languages and schedule",
                {
                    "fields": [
                        "languages",
                        "default_language",
                        ("opens_at", "closes_at"),
                        "invitation_only",
                    ]
                },
            ),
            ("Disclosure control", {"fields": ["min_cell_size", "public_statistics"]}),
        ]
        if obj is not None:
            fieldsets[0][1]["fields"] = ["slug", "status", "title", "description"]
            fieldsets.append(("Questionnaire", {"fields": ["outline", "checks"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []
        fields = ["status", "outline", "checks"]
        if not has_permission(user=request.user, survey=obj, permission="manage_roles"):
            fields += ["min_cell_size", "public_statistics"]
        if obj.responses.exists():
            fields.append("slug")  # links that respondents hold must keep working
        return fields

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view

        def bound(function: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            def wrapped(request: HttpRequest, pk: int) -> HttpResponse:
                return function(request, model_admin=self, pk=pk)

            return view(wrapped)

        urls = [
            path("<int:pk>/dashboard/", bound(admin_views.dashboard), name="surveys_dashboard"),
            path("<int:pk>/preview/", bound(admin_views.preview), name="surveys_preview"),
            path("<int:pk>/duplicate/", bound(admin_views.duplicate), name="surveys_duplicate"),
            path("<int:pk>/status/", bound(admin_views.set_status), name="surveys_status"),
            path("<int:pk>/roles/", bound(admin_views.roles), name="surveys_roles"),
            path("<int:pk>/export/", bound(admin_views.export), name="surveys_export"),
        ]
        return urls + super().get_urls()

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        survey = self.get_object(request, unquote(object_id))
        context = {**(extra_context or {}), **admin_views.survey_tools(request, survey)}
        return super().change_view(request, object_id, form_url, context)

    def save_model(self, request: HttpRequest, obj: Survey, form: Any, change: bool) -> None:
        if not change:
            obj.status = Survey.Status.DRAFT
        super().save_model(request, obj, form, change)
        if not change:
            survey_services.survey_make_owner(survey=obj, user=request.user)
        elif form.changed_data:
            survey_services.audit_survey_change(
                actor=request.user,
                survey=obj,
                summary=f"Changed settings of {obj.slug}: {', '.join(form.changed_data)}",
            )

    def delete_model(self, request: HttpRequest, obj: Survey) -> None:
        survey_services.audit_survey_change(
            actor=request.user, survey=obj, summary=f"Deleted survey {obj.slug}"
        )
        super().delete_model(request, obj)

    @admin.display(description="title")
    def title_en(self, obj: Survey) -> str:
        return _en(obj.title, obj)

    @admin.display(description="responses", ordering="response_count")
    def responses(self, obj: Survey) -> int:
        return getattr(obj, "response_count", 0)

    @admin.display(description="your role")
    def your_role(self, obj: Survey) -> str:
        return getattr(obj, "my_role", None) or "— (superuser)"

    @admin.display(description="")
    def links(self, obj: Survey) -> SafeString:
        return format_html(
            '<a href="{}">dashboard</a> · <a href="{}">preview</a>',
            reverse("admin:surveys_dashboard", args=[obj.pk]),
            reverse("admin:surveys_preview", args=[obj.pk]),
        )

    @admin.display(description="pages and questions")
    def outline(self, obj: Survey) -> SafeString:
        pages = obj.pages.order_by("position").prefetch_related("questions")
        if not pages:
            return format_html("{}", "No pages yet: add one below.")
        return format_html_join(
            "",
            '<div class="outline-page"><a href="{}">{}. {}</a> {}</div>',
            (
                (
                    reverse("admin:surveys_page_change", args=[page.pk]),
                    page.position,
                    page.code,
                    _questions_outline(page),
                )
                for page in pages
            ),
        )

    @admin.display(description="checks")
    def checks(self, obj: Survey) -> SafeString:
        problems = survey_services.survey_problems(survey=obj)
        if not problems:
            return format_html('<span class="ok">{}</span>', "Ready to open: no problems found.")
        return format_html(
            '<ul class="problems">{}</ul>',
            format_html_join("", "<li>{}</li>", ((p,) for p in problems)),
        )

    @admin.action(description="Create 20 single-use invitation links (shown once)")
    def create_invitations(
        self, request: HttpRequest, queryset: QuerySet[Survey]
    ) -> HttpResponse | None:
        surveys = list(queryset[:2])
        if len(surveys) != 1:
            self.message_user(request, "Select exactly one survey.", messages.WARNING)
            return None
        survey = surveys[0]
        if not has_permission(user=request.user, survey=survey, permission="edit"):
            self.message_user(
                request, "Only the survey's owners and editors can invite.", messages.ERROR
            )
            return None
        links = [
            request.build_absolute_uri(
                reverse("surveys:landing", args=[survey.slug]) + f"?invitation={token}"
            )
            for token in invitations_create(survey=survey, count=20)
        ]
        response = HttpResponse("\n".join(links) + "\n", content_type="text/plain")
        response["Content-Disposition"] = f'attachment; filename="{survey.slug}-invitations.txt"'
        return response


# --- pages and questions --------------------------------------------------------------------------


class QuestionInline(ScopedInline, admin.TabularInline):
    model = Question
    form = QuestionInlineForm
    formset = AnsweredDeletionGuard
    parent_survey = staticmethod(lambda page: page.survey)
    extra = 0
    show_change_link = True
    fields = ["position", "code", "type", "text", "required"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = _with_survey_languages(self.form, obj.survey if obj else None)
        return super().get_formset(request, obj, **kwargs)


class BuilderAdmin(ProtectedSummaryMixin, SurveyScopedAdmin):
    """Pages and questions: owners and editors change them; problems are shown after saving."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        editable = surveys_for(user=request.user, permission="edit")
        if db_field.name == "survey":
            kwargs["queryset"] = editable
        elif db_field.name == "page":
            kwargs["queryset"] = Page.objects.filter(survey__in=editable).select_related("survey")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        survey = self.survey_of(form.instance)
        if survey is None:
            return
        code = form.instance.code
        relevant = [
            p
            for p in survey_services.survey_problems(survey=survey)
            if f"question {code}" in p or f"({code})" in p
        ]
        for problem in relevant[:10]:
            self.message_user(request, f"Check before opening: {problem}", messages.WARNING)


@admin.register(Page)
class PageAdmin(BuilderAdmin):
    form = PageAdminForm
    list_display = ["code", "survey", "position", "title_en", "question_count"]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "survey__slug"]
    inlines = [QuestionInline]
    fields = ["survey", ("position", "code"), "title", "intro", "condition"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Page]:
        return (
            super()
            .get_queryset(request)
            .select_related("survey")
            .annotate(n_questions=Count("questions"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["survey"] if obj else []

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        survey = Survey.objects.filter(pk=initial.get("survey") or 0).first()
        if survey and "position" not in initial:
            last = survey.pages.order_by("-position").values_list("position", flat=True).first()
            initial["position"] = (last or 0) + 1
        return initial

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for inline_form in formset.forms:
            inline_form.instance.survey = form.instance.survey
        super().save_formset(request, form, formset, change)

    @admin.display(description="title")
    def title_en(self, obj: Page) -> str:
        return _en(obj.title, obj.survey)

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, obj: Page) -> int:
        return getattr(obj, "n_questions", 0)


class ChoiceInline(ScopedInline, admin.TabularInline):
    model = Choice
    form = ChoiceAdminForm
    parent_survey = staticmethod(lambda question: question.survey)
    extra = 0
    fields = ["position", "code", "label", "is_other", "exclusive"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = _with_survey_languages(self.form, obj.survey if obj else None)
        return super().get_formset(request, obj, **kwargs)


class MatrixRowInline(ChoiceInline):
    model = MatrixRow
    form = MatrixRowAdminForm
    fields = ["position", "code", "text"]


@admin.register(Question)
class QuestionAdmin(BuilderAdmin):
    form = QuestionAdminForm
    list_display = ["code", "survey", "page", "position", "type", "required", "classify"]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter), "type", "classify"]
    search_fields = ["code", "survey__slug"]
    inlines = [ChoiceInline, MatrixRowInline]
    fieldsets = [
        (None, {"fields": ["page", ("position", "code"), "type", "text", "help_text"]}),
        ("Answering", {"fields": ["required", "condition"]}),
        (
            "Type settings",
            {
                "fields": [
                    "scale",
                    ("min_value", "max_value", "integer"),
                    "unit",
                    "max_length",
                    "classify",
                ],
                "description": "Scale for Likert questions; bounds and unit for numbers; a "
                "length limit for text; classification for long free text.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return super().get_queryset(request).select_related("survey", "page")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        page = Page.objects.filter(pk=initial.get("page") or 0).first()
        if page and "position" not in initial:
            last = page.questions.order_by("-position").values_list("position", flat=True).first()
            initial["position"] = (last or 0) + 1
        return initial

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "page" and field is not None:
            field.label_from_instance = lambda page: f"{page.survey.slug} / {page.code}"
        return field

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        obj.survey = obj.page.survey
        super().save_model(request, obj, form, change)


# --- responses ------------------------------------------------------------------------------------


def _selected_survey(request: HttpRequest) -> Survey | None:
    raw = request.GET.get("survey__id__exact", "")
    if not raw.isdigit():
        return None
    return surveys_for(user=request.user, permission="view").filter(pk=int(raw)).first()


def _variable_filter(
    *,
    title: str,
    parameter: str,
    options: list[tuple[str, str]],
    apply: Callable[[QuerySet[Response], str], QuerySet[Response]],
) -> type[admin.SimpleListFilter]:
    """A list filter over one survey variable (built per request: it depends on the survey)."""

    def lookups(self: Any, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return options

    def queryset(self: Any, request: HttpRequest, queryset: QuerySet[Response]) -> Any:
        value = self.value()
        if value is None:
            return queryset
        if value not in dict(options):
            return queryset.none()
        return apply(queryset, value)

    return type(
        f"Filter_{parameter}",
        (admin.SimpleListFilter,),
        {"title": title, "parameter_name": parameter, "lookups": lookups, "queryset": queryset},
    )


def _where(variable: SurveyVariable, code: str | None = None) -> Any:
    def apply(queryset: QuerySet[Response], value: str) -> QuerySet[Response]:
        return responses_where(responses=queryset, variable=variable, code=code or value)

    return apply


def response_filters(survey: Survey) -> list[type[admin.SimpleListFilter]]:
    """Occupation, country and classification filters of `survey`'s responses."""
    filters: list[type[admin.SimpleListFilter]] = []
    base = survey_variables(survey=survey, derived=False)
    for kind, title in (
        (Question.Type.OCCUPATION, "occupation"),
        (Question.Type.COUNTRY, "country"),
    ):
        for question in Question.objects.filter(survey=survey, type=kind).order_by(
            "page__position", "position"
        ):
            variable = next((v for v in base if v.source == ("answer", question.pk, "")), None)
            if variable is None:
                continue
            codes = (
                Answer.objects.filter(question=question)
                .exclude(choice="")
                .order_by()
                .values_list("choice", flat=True)
                .distinct()
            )
            options = sorted(
                ((code, variable.value_label(code, "en")) for code in codes),
                key=lambda option: option[1],
            )
            filters.append(
                _variable_filter(
                    title=f"{title} ({question.code})" if title != question.code else title,
                    parameter=f"v_{variable.name}",
                    options=options,
                    apply=_where(variable),
                )
            )
    derived = derived_variables(survey=survey)
    groups: dict[str, list[SurveyVariable]] = {}
    for variable in derived:
        if variable.kind == "multi_flag":
            groups.setdefault(variable.group, []).append(variable)
    for variable in derived:
        if variable.kind == "categorical":
            filters.append(
                _variable_filter(
                    title=variable.label_in("en"),
                    parameter=f"v_{variable.name}",
                    options=[
                        (code, variable.value_label(code, "en")) for code in variable.value_labels
                    ],
                    apply=_where(variable),
                )
            )
        elif variable.kind == "multi_flag" and variable.group in groups:
            flags = groups.pop(variable.group)
            by_name = {flag.name: flag for flag in flags}
            label = flags[0].label_in("en")
            filters.append(
                _variable_filter(
                    title=label.rsplit(":", 1)[0] if ":" in label else label,
                    parameter="g_" + re.sub(r"\W+", "_", variable.group),
                    options=[
                        (flag.name, flag.label_in("en").rsplit(":", 1)[-1].strip())
                        for flag in flags
                    ],
                    apply=lambda queryset, name, by_name=by_name: responses_where(
                        responses=queryset, variable=by_name[name], code="1"
                    ),
                )
            )
    return filters


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def response_answer_rows(response: Response, language: str = "en") -> list[tuple[str, str, str]]:
    """(page, question with row, answer) in questionnaire order, with labels instead of codes."""
    survey = response.survey
    answers = list(
        response.answers.select_related("question", "question__page").order_by(
            "question__page__position", "question__position", "row"
        )
    )
    question_ids = {a.question_id for a in answers}
    choices = {
        (c.question_id, c.code): c.label for c in Choice.objects.filter(question__in=question_ids)
    }
    rows = {
        (r.question_id, r.code): r.text for r in MatrixRow.objects.filter(question__in=question_ids)
    }
    countries = dict(reference.countries(language))

    def t(texts: Any) -> str:
        return translate(texts, language, survey.default_language)

    result = []
    for answer in answers:
        question = answer.question
        kind = question.type
        label = t(question.text)
        if answer.row:
            label = f"{label} — {t(rows.get((question.pk, answer.row), answer.row))}"
        if kind == Question.Type.YES_NO:
            value = "" if answer.boolean is None else ("Yes" if answer.boolean else "No")
        elif kind == Question.Type.NUMBER:
            value = " ".join(filter(None, [_number(answer.number), t(question.unit)]))
        elif kind in Question.TEXT_TYPES:
            value = answer.text
        elif kind == Question.Type.MULTIPLE_CHOICE:
            value = ", ".join(t(choices.get((question.pk, c), c)) for c in answer.choices)
        elif kind == Question.Type.OCCUPATION:
            value = reference.occupation_label(answer.choice, language) if answer.choice else ""
        elif kind == Question.Type.COUNTRY:
            value = countries.get(answer.choice, answer.choice)
        else:
            value = t(choices.get((question.pk, answer.choice), answer.choice))
        if answer.text and kind not in Question.TEXT_TYPES:
            value = f"{value} — “{answer.text}”"
        result.append((f"{question.page.position}. {question.page.code}", label, value))
    return result


def response_classification_rows(response: Response) -> list[tuple[str, str]]:
    """(variable label, value label) of the derived (classification) variables of `response`."""
    variables = derived_variables(survey=response.survey)
    if not variables:
        return []
    rows: list[tuple[str, str]] = []
    for _response, values in response_rows(
        survey=response.survey,
        variables=variables,
        responses=Response.objects.filter(pk=response.pk),
    ):
        flags: dict[str, tuple[str, list[str]]] = {}
        for variable, value in zip(variables, values, strict=True):
            if value is None:
                continue
            label = variable.label_in("en")
            if variable.kind == "multi_flag":
                # One line per multi-label coding: "question — codebook: the categories coded".
                group, _sep, category = label.rpartition(":")
                if variable.group not in flags:
                    flags[variable.group] = (group or label, [])
                    rows.append((variable.group, ""))
                if value == 1:
                    flags[variable.group][1].append(category.strip() or variable.name)
                continue
            shown = f"{float(value):.2f}" if variable.kind == "numeric" else None
            rows.append((label, shown or variable.value_label(value, "en")))
    return [
        (flags[a][0], ", ".join(flags[a][1]) or "none") if a in flags and not b else (a, b)
        for a, b in rows
    ]


@admin.register(Response)
class ResponseAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "public_id",
        "survey",
        "language",
        "status",
        "started_at",
        "submitted_at",
        "duration",
    ]
    list_select_related = ["survey"]
    search_fields = ["public_id", "answers__text"]
    date_hierarchy = "submitted_at"
    fields = [
        ("public_id", "survey"),
        ("language", "status"),
        ("started_at", "submitted_at", "duration"),
        "answers_table",
        "classification_table",
    ]
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [
            "public_id",
            "survey",
            "language",
            "status",
            "started_at",
            "submitted_at",
            "duration",
            "answers_table",
            "classification_table",
        ]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters: list[Any] = [
            ("survey", admin.RelatedOnlyFieldListFilter),
            "status",
            "language",
        ]
        survey = _selected_survey(request)
        if survey is not None:
            filters += response_filters(survey)
        return filters

    @admin.display(description="time spent")
    def duration(self, obj: Response) -> str:
        seconds = sum(int(v) for v in (obj.page_seconds or {}).values())
        if not seconds:
            return "—"
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest:02d} s"

    @admin.display(description="answers")
    def answers_table(self, obj: Response) -> SafeString:
        rows = response_answer_rows(obj)
        if not rows:
            return format_html("{}", "No answers.")
        body = format_html_join(
            "",
            "<tr><td>{}</td><th scope='row'>{}</th><td>{}</td></tr>",
            ((page, label, linebreaksbr(value)) for page, label, value in rows),
        )
        return format_html(
            '<table class="answers"><thead><tr><th scope="col">page</th>'
            '<th scope="col">question</th><th scope="col">answer</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="classification")
    def classification_table(self, obj: Response) -> SafeString:
        rows = response_classification_rows(obj)
        if not rows:
            return format_html("{}", "Not classified (yet).")
        body = format_html_join(
            "", "<tr><th scope='row'>{}</th><td>{}</td></tr>", ((a, b) for a, b in rows)
        )
        return format_html('<table class="answers"><tbody>{}</tbody></table>', body)


# --- invitations, roles, audit --------------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyScopedAdmin):
    list_display = ["survey", "created_at", "used_at"]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter)]
    fields = ["survey", "created_at", "used_at"]
    readonly_fields = fields


@admin.register(SurveyRole)
class SurveyRoleAdmin(ReadOnlyScopedAdmin):
    """Who holds which role; changed on each survey's roles page (audited, keeps an owner)."""

    view_permission = "manage_roles"
    list_display = ["survey", "user", "role", "created_at", "edit_link"]
    list_filter = ["role", ("survey", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "survey__slug"]
    fields = ["survey", "user", "role", "created_at"]
    readonly_fields = fields
    list_select_related = ["survey", "user"]

    @admin.display(description="")
    def edit_link(self, obj: SurveyRole) -> SafeString:
        return format_html(
            '<a href="{}">change roles</a>', reverse("admin:surveys_roles", args=[obj.survey_id])
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyScopedAdmin):
    view_permission = "manage_roles"
    list_display = ["created_at", "actor_name", "survey_slug", "action", "summary"]
    list_filter = [
        "action",
        ("survey", admin.RelatedOnlyFieldListFilter),
        ("actor", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["summary"]
    date_hierarchy = "created_at"
    fields = ["created_at", "actor_name", "survey_slug", "action", "summary", "details"]
    readonly_fields = fields
