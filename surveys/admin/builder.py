"""The survey builder: surveys with their pages, pages with their questions, questions with choices.

Owners and editors change them; problems that would stop a survey from opening are shown after
saving. The survey's own pages (dashboard, preview, roles, ...) are in surveys.admin.views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from surveys.admin import views as admin_views
from surveys.admin.forms import (
    ChoiceAdminForm,
    MatrixRowAdminForm,
    PageAdminForm,
    QuestionAdminForm,
    QuestionInlineForm,
    SurveyAdminForm,
    SurveyQuestionInlineForm,
    next_page_position,
    with_survey_languages,
)
from surveys.admin.scoping import (
    AnsweredChoiceGuard,
    AnsweredDeletionGuard,
    ProtectedSummaryMixin,
    ScopedInline,
    SurveyScopedAdmin,
    english,
    is_staff,
)
from surveys.analytics.services import analytics_drop, analytics_survey_edited
from surveys.core.access import has_permission, surveys_for
from surveys.definitions import services as survey_services
from surveys.definitions.selectors import condition_words
from surveys.definitions.wording import describe
from surveys.models import Choice, MatrixRow, Page, Question, Survey, SurveyRole
from surveys.respondent.services import invitations_create
from surveys.respondent.testing import responses_test_delete

# --- surveys --------------------------------------------------------------------------------------


def _move_buttons(survey: Survey, kind: str, pk: int) -> SafeString:
    # Submit buttons of the survey's own form, sent to the move view instead (no nested forms).
    url = reverse("admin:surveys_move", args=[survey.pk])
    return format_html(
        '<span class="move-buttons">'
        '<button type="submit" class="move" name="move" value="{}:{}:up" formaction="{}" '
        'formnovalidate title="Move up" aria-label="Move {} up">↑</button>'
        '<button type="submit" class="move" name="move" value="{}:{}:down" formaction="{}" '
        'formnovalidate title="Move down" aria-label="Move {} down">↓</button></span>',
        kind,
        pk,
        url,
        kind,
        kind,
        pk,
        url,
        kind,
    )


def _condition_line(condition: Any, words: Any, survey: Survey) -> SafeString:
    if not condition:
        return format_html("{}", "")
    return format_html(
        '<div class="condition-words">{}</div>',
        format_html_join(
            "",
            '<p lang="{}">{}</p>',
            ((code, describe(condition, words, code)) for code in survey.languages or ["en"]),
        ),
    )


def _questions_outline(page: Page, words: Any) -> SafeString:
    survey = page.survey
    items = format_html_join(
        "",
        '<li id="question-{}">{} <a href="{}">{}</a> <span class="muted">{} · {}</span>{}</li>',
        (
            (
                q.code,
                _move_buttons(survey, "question", q.pk),
                reverse("admin:surveys_question_change", args=[q.pk]),
                q.code,
                q.get_type_display(),
                english(q.text, survey),
                _condition_line(q.condition, words, survey),
            )
            for q in page.questions.all()
        ),
    )
    add = reverse("admin:surveys_question_add") + f"?page={page.pk}"
    return format_html(
        '<ol class="outline">{}</ol><a class="addlink" href="{}">Add a question to this page</a>',
        items,
        add,
    )


class PageInline(ScopedInline, admin.StackedInline):
    model = Page
    form = PageAdminForm
    formset = AnsweredDeletionGuard
    extra = 0
    show_change_link = True
    fields = ["code", "title", "intro", "condition", "questions_summary"]
    readonly_fields = ["questions_summary"]
    classes = ["page-inline"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = with_survey_languages(self.form, obj)
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


class SurveyQuestionInline(ScopedInline, admin.TabularInline):
    """The survey's questions on its own page: add them, reword them, move them between pages.

    Choices, type settings and skip logic are on the question's own page (its change link).
    """

    model = Question
    fk_name = "survey"
    form = SurveyQuestionInlineForm
    formset = AnsweredDeletionGuard
    extra = 0
    show_change_link = True
    fields = ["page", "code", "type", "text", "required"]
    verbose_name_plural = "questions (choices, settings and skip logic: “change”)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return super().get_queryset(request).order_by("page__position", "position")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = with_survey_languages(self.form, obj)
        formset = super().get_formset(request, obj, **kwargs)
        page_field: Any = formset.form.base_fields["page"]  # a ModelChoiceField
        # A plain menu: pages are added above, not through the related-object pop-ups.
        page_field.widget = getattr(page_field.widget, "widget", page_field.widget)
        page_field.queryset = Page.objects.filter(survey=obj).order_by("position")
        page_field.label_from_instance = lambda page: f"{page.position}. {page.code}"
        return formset


@admin.register(Survey)
class SurveyAdmin(ProtectedSummaryMixin, SurveyScopedAdmin):
    survey_path = ""
    delete_permission = "manage_roles"
    list_for_every_researcher = True
    form = SurveyAdminForm
    list_display = ["slug", "title_en", "status", "responses", "your_role", "links"]
    list_filter = ["status", "invitation_only", "public_statistics"]
    search_fields = ["slug", "title"]
    inlines = [PageInline, SurveyQuestionInline]
    actions = ["create_invitations", "delete_test_responses"]
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
        return is_staff(request)  # any researcher may start a survey; they become its owner

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
            (
                "Disclosure control and publishing",
                {"fields": ["min_cell_size", "public_statistics", "results_tables"]},
            ),
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
            fields += ["min_cell_size", "public_statistics", "results_tables"]
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
            path("<int:pk>/move/", bound(admin_views.move), name="surveys_move"),
            path(
                "<int:pk>/test-responses/delete/",
                bound(admin_views.delete_test_responses),
                name="surveys_delete_tests",
            ),
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

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        inlines = super().get_inline_instances(request, obj)
        # A new survey has no pages to put questions on yet.
        return [i for i in inlines if obj is not None or not isinstance(i, SurveyQuestionInline)]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is Question:
            place_questions_last(formset)
        else:
            place_new_last(formset, form.instance.pages)
        super().save_formset(request, form, formset, change)
        if formset.model is Question:
            analytics_survey_edited(survey=form.instance)

    def delete_model(self, request: HttpRequest, obj: Survey) -> None:
        survey_services.audit_survey_change(
            actor=request.user, survey=obj, summary=f"Deleted survey {obj.slug}"
        )
        analytics_drop(survey=obj)
        super().delete_model(request, obj)

    @admin.display(description="title")
    def title_en(self, obj: Survey) -> str:
        return english(obj.title, obj)

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
        pages = list(
            obj.pages.order_by("position").prefetch_related(
                Prefetch("questions", queryset=Question.objects.order_by("position"))
            )
        )
        if not pages:
            return format_html("{}", "No pages yet: add one below.")
        words = condition_words(survey=obj)
        return format_html_join(
            "",
            '<div class="outline-page" id="page-{}">{} <a href="{}">{}. {}</a>{}{}</div>',
            (
                (
                    page.code,
                    _move_buttons(obj, "page", page.pk),
                    reverse("admin:surveys_page_change", args=[page.pk]),
                    number,
                    page.code,
                    _condition_line(page.condition, words, obj),
                    _questions_outline(page, words),
                )
                for number, page in enumerate(pages, start=1)
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

    @admin.action(description="Delete the test responses of the selected surveys (audited)")
    def delete_test_responses(self, request: HttpRequest, queryset: QuerySet[Survey]) -> None:
        deleted = 0
        for survey in queryset:
            if not has_permission(user=request.user, survey=survey, permission="edit"):
                self.message_user(
                    request,
                    f"{survey.slug}: only its owners and editors can delete test responses.",
                    messages.ERROR,
                )
                continue
            deleted += responses_test_delete(survey=survey, actor=request.user)
        self.message_user(request, f"Deleted {deleted} test response(s).", messages.SUCCESS)

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


def place_questions_last(formset: Any) -> None:
    """New questions, and questions moved to another page, go last on their page."""
    last: dict[int, int] = {}
    for inline_form in formset.forms:
        question = inline_form.instance
        moved = question.pk is not None and "page" in inline_form.changed_data
        if not question.page_id or not (
            moved or (question.pk is None and inline_form.has_changed())
        ):
            continue
        if question.page_id not in last:
            top = Question.objects.filter(page_id=question.page_id).aggregate(last=Max("position"))
            last[question.page_id] = top["last"] or 0
        last[question.page_id] += 1
        question.position = last[question.page_id]


def place_new_last(formset: Any, existing: Any) -> None:
    """Give the new rows of an inline formset the positions after the last existing one."""
    last = existing.aggregate(last=Max("position"))["last"] or 0
    for inline_form in formset.forms:
        instance = inline_form.instance
        if instance.pk is None and not instance.position and inline_form.has_changed():
            last += 1
            instance.position = last


class QuestionInline(ScopedInline, admin.TabularInline):
    model = Question
    form = QuestionInlineForm
    formset = AnsweredDeletionGuard
    parent_survey = staticmethod(lambda page: page.survey)
    extra = 0
    show_change_link = True
    fields = ["code", "type", "text", "required"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = with_survey_languages(self.form, obj.survey if obj else None)
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

    def _back_to_survey(self, request: HttpRequest, obj: Any, anchor: str) -> HttpResponse | None:
        if "_continue" in request.POST or "_addanother" in request.POST:
            return None
        survey = self.survey_of(obj)
        if survey is None:
            return None
        url = reverse("admin:surveys_survey_change", args=[survey.pk])
        return HttpResponseRedirect(f"{url}#{anchor}-{obj.code}")

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        back = self._back_to_survey(request, obj, self.model._meta.model_name or "")
        return back or super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Any) -> Any:
        back = self._back_to_survey(request, obj, self.model._meta.model_name or "")
        return back or super().response_change(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        survey = self.survey_of(form.instance)
        if survey is None:
            return
        # New questions, rows or choices: the analytics store is rebuilt to hold them.
        analytics_survey_edited(survey=survey)
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
    fields = ["survey", "code", "title", "intro", "condition"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Page]:
        return (
            super()
            .get_queryset(request)
            .select_related("survey")
            .annotate(n_questions=Count("questions"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["survey"] if obj else []

    def save_model(self, request: HttpRequest, obj: Page, form: Any, change: bool) -> None:
        if not obj.position:
            obj.position = next_page_position(obj.survey)
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for inline_form in formset.forms:
            inline_form.instance.survey = form.instance.survey
        place_new_last(formset, form.instance.questions)
        super().save_formset(request, form, formset, change)

    @admin.display(description="title")
    def title_en(self, obj: Page) -> str:
        return english(obj.title, obj.survey)

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, obj: Page) -> int:
        return getattr(obj, "n_questions", 0)


class QuestionPartInline(ScopedInline, admin.TabularInline):
    """A question's choices or matrix rows, edited in the languages of its survey."""

    parent_survey = staticmethod(lambda question: question.survey)
    formset = AnsweredChoiceGuard
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs["form"] = with_survey_languages(self.form, obj.survey if obj else None)
        return super().get_formset(request, obj, **kwargs)


class ChoiceInline(QuestionPartInline):
    model = Choice
    form = ChoiceAdminForm
    fields = ["position", "code", "label", "is_other", "exclusive", "hidden"]


class MatrixRowInline(QuestionPartInline):
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
        (None, {"fields": ["page", "code", "type", "text", "help_text"]}),
        ("Answering", {"fields": ["required", "condition"]}),
        (
            "Type settings",
            {
                "fields": [
                    "scale",
                    ("min_value", "max_value", "integer"),
                    "unit",
                    "max_length",
                    ("min_items", "max_items"),
                    "classify",
                ],
                "description": "Scale for Likert questions; bounds and unit for numbers; a "
                "length limit for text (per line of a multiple short text, with its number of "
                "lines); classification for long free text and multiple short text.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return super().get_queryset(request).select_related("survey", "page")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "page" and field is not None:
            field.label_from_instance = lambda page: f"{page.survey.slug} / {page.code}"
        return field

    def save_model(self, request: HttpRequest, obj: Question, form: Any, change: bool) -> None:
        obj.survey = obj.page.survey
        if not obj.position or "page" in form.changed_data:
            # A new question, or one moved to another page, goes last on its page.
            last = obj.page.questions.exclude(pk=obj.pk).aggregate(last=Max("position"))["last"]
            obj.position = (last or 0) + 1
        super().save_model(request, obj, form, change)
