"""The review queue and the coding form; human labels and coding assignments."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.text import Truncator

from classifier.admin import workbench
from classifier.admin.common import admin_user, fmt
from classifier.audit.selectors import audit_summary
from classifier.coding.selectors import (
    audits_for_user,
    classification_is_blind,
    classifications_for_user,
    user_codes_anything,
    user_has_blind_work,
    user_reviews_all,
)
from classifier.coding.services import classification_code, coding_assignments_create
from classifier.errors import CodingError
from classifier.models import (
    Category,
    Classification,
    CodingAssignment,
    HumanLabel,
    SurveyAudit,
)

BLIND = "hidden: coded blind (audit sample or double coding)"


class ReviewStatusFilter(admin.SimpleListFilter):
    """Review status, defaulting to the review queue (needs review) rather than everything."""

    title = "review status"
    parameter_name = "review"
    default = Classification.ReviewStatus.NEEDS_REVIEW.value

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            *[(value, str(label)) for value, label in Classification.ReviewStatus.choices],
            ("unclassified", "Not classified yet"),
            ("all", "All"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or self.default
        if value == "all":
            return queryset
        if value == "unclassified":
            return queryset.filter(review_status="")
        return queryset.filter(review_status=value)

    def choices(self, changelist: Any) -> Any:
        current = self.value() or self.default
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


class LabelFilter(admin.SimpleListFilter):
    title = "label"
    parameter_name = "label"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        categories = Category.objects.select_related("codebook")
        codebook = request.GET.get("codebook__id__exact")
        if codebook and codebook.isdigit():
            categories = categories.filter(codebook_id=int(codebook))
        seen: dict[str, str] = {}
        for category in categories:
            seen.setdefault(category.code, category.text("label"))
        return list(seen.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        # Codes are slugs, so matching the quoted code in the JSON list is exact on every backend.
        return queryset.filter(labels__icontains=f'"{self.value()}"')


class CodingForm(forms.ModelForm):
    """A coder's labels for one classification: choices are the codebook's categories."""

    codes = forms.MultipleChoiceField(label="Codes", required=False)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    coder: Any = None

    class Meta:
        model = Classification
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        codebook = self.instance.codebook
        choices = [(c.code, f"{c.code}: {c.text('label')}") for c in codebook.categories.all()]
        if codebook.multilabel:
            self.fields["codes"] = forms.MultipleChoiceField(
                label="Codes (all that apply)",
                choices=choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
        else:
            self.fields["codes"] = forms.ChoiceField(
                label="Code", choices=choices, widget=forms.RadioSelect
            )
        mine = self.instance.human_labels.filter(coder=self.coder).first() if self.coder else None
        # Blind coding starts from nothing: pre-selecting the model's label would anchor the coder.
        blind = classification_is_blind(classification=self.instance, user=self.coder)
        labels = mine.labels if mine else ([] if blind else self.instance.labels)
        self.fields["codes"].initial = labels if codebook.multilabel else (labels or [None])[0]
        if mine:
            self.fields["note"].initial = mine.note

    def clean_codes(self) -> list[str]:
        value = self.cleaned_data.get("codes")
        if isinstance(value, str):
            return [value]
        return list(value or [])


@admin.register(Classification)
class ClassificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "answer_excerpt",
        "codebook",
        "labels_display",
        "confidence_display",
        "review_status",
        "audit",
        "status",
        "source",
        "model_version",
    ]
    # The review queue's order: audit items first, then uncertain answers of frequent kinds.
    ordering = ["-priority", "pk"]
    list_display_links = ["id", "answer_excerpt"]
    list_filter = [
        ReviewStatusFilter,
        "codebook",
        LabelFilter,
        ("answer__response__survey", admin.RelatedOnlyFieldListFilter),
        ("answer__question", admin.RelatedOnlyFieldListFilter),
        "audit",
        "status",
        "source",
    ]
    search_fields = ["answer__text"]
    actions = ["assign_to_coders"]
    form = CodingForm
    readonly_fields = [
        "answer_text",
        "question",
        "codebook",
        "model_output",
        "human_codings",
        "review_status",
        "status",
        "attempts",
        "error",
        "source",
    ]
    fieldsets = [
        (
            "Answer",
            {
                "fields": [
                    "answer_text",
                    "question",
                    "codebook",
                    "model_output",
                    "human_codings",
                    ("review_status", "source", "status", "attempts"),
                    "error",
                ]
            },
        ),
        ("Your coding", {"fields": ["codes", "note"]}),
    ]

    def get_list_display(self, request: HttpRequest) -> Any:
        hidden = {"labels_display", "confidence_display", "source"}
        if user_has_blind_work(user=request.user):
            return [name for name in self.list_display if name not in hidden]
        return self.list_display

    def get_list_filter(self, request: HttpRequest) -> Any:
        if user_has_blind_work(user=request.user):
            return [f for f in self.list_filter if f not in (LabelFilter, "source")]
        return self.list_filter

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None or not classification_is_blind(classification=obj, user=request.user):
            return self.fieldsets
        hidden = {"model_output", "human_codings", "source"}
        answer = [
            field if isinstance(field, str) else tuple(f for f in field if f not in hidden)
            for field in self.fieldsets[0][1]["fields"]
            if field not in hidden
        ]
        blind = {
            "fields": answer,
            "description": f"The model's output and other codings are {BLIND}.",
        }
        return [("Answer", blind), self.fieldsets[1]]

    def get_urls(self) -> list[Any]:
        def view(request: HttpRequest) -> HttpResponse:
            return workbench.workbench(request, model_admin=self)

        urls = [
            path(
                "workbench/",
                self.admin_site.admin_view(view),
                name="classifier_classification_workbench",
            )
        ]
        return urls + super().get_urls()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Classification]:
        queryset = (
            super()
            .get_queryset(request)
            .select_related(
                "answer", "answer__question", "codebook", "model_version", "model_version__codebook"
            )
        )
        return queryset.filter(pk__in=classifications_for_user(user=request.user).values("pk"))

    # Survey roles, not Django model permissions, decide who codes: a coder needs no extra setup.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and user_codes_anything(user=request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_code(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_code(request, obj)

    def _may_code(self, request: HttpRequest, obj: Any) -> bool:
        if not (request.user.is_staff and user_codes_anything(user=request.user)):
            return False
        if obj is None:
            return True
        return classifications_for_user(user=request.user).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # rows go with their answer (withdrawal), never one by one

    def has_assign_permission(self, request: HttpRequest) -> bool:
        return user_reviews_all(user=request.user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change=change, **kwargs)
        # A subclass per request, so the form knows who is coding; type() returns a bare `type`.
        return cast(
            "type[forms.ModelForm[Any]]", type("CodingFormFor", (form,), {"coder": request.user})
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Each survey's audit beside the queue: realised precision with its interval.
        audits = [
            (audit.survey, audit_summary(survey_id=audit.survey_id, codebook=audit.codebook))
            for audit in audits_for_user(user=request.user)
        ]
        return super().changelist_view(request, {**(extra_context or {}), "audits": audits})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            classification_code(
                classification=obj,
                coder=admin_user(request),
                labels=form.cleaned_data["codes"],
                note=form.cleaned_data["note"],
            )
        except CodingError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.display(description="answer")
    def answer_excerpt(self, obj: Classification) -> str:
        return Truncator(obj.answer.text).chars(90)

    @admin.display(description="answer text")
    def answer_text(self, obj: Classification) -> str:
        return obj.answer.text

    @admin.display(description="question")
    def question(self, obj: Classification) -> str:
        return f"{obj.answer.question.code}: {obj.answer.question.text.get('en', '')}"

    def _blind_to_model(self, obj: Classification) -> bool:
        # Until a person codes it, an audit item's model label stays hidden from coders.
        return obj.audit and obj.source == Classification.Source.MODEL

    @admin.display(description="labels")
    def labels_display(self, obj: Classification) -> str:
        if self._blind_to_model(obj):
            return "(blind)"
        return ", ".join(obj.labels) or "—"

    @admin.display(description="confidence", ordering="confidence")
    def confidence_display(self, obj: Classification) -> str:
        return "(blind)" if self._blind_to_model(obj) else fmt(obj.confidence)

    @admin.display(description="model output")
    def model_output(self, obj: Classification) -> str:
        if obj.model_version is None:
            return "not classified yet"
        if classification_is_blind(classification=obj):
            return BLIND
        threshold = obj.model_version.threshold
        output = (
            f"{', '.join(obj.model_labels) or '(no code)'} at confidence {fmt(obj.confidence)} "
            f"({obj.model_version}, auto-codes at ≥ {fmt(threshold)})"
        )
        if obj.review_reason:
            output += f"; never auto-coded: {obj.review_reason}"
        return output

    @admin.display(description="human codings")
    def human_codings(self, obj: Classification) -> str:
        if classification_is_blind(classification=obj):
            return BLIND
        codings = obj.human_labels.select_related("coder")
        if not codings:
            return "—"
        return format_html_join(
            "",
            "<div>{}: {}{}</div>",
            (
                (
                    label.coder.get_username(),
                    ", ".join(label.labels) or "(no code)",
                    f" — {label.note}" if label.note else "",
                )
                for label in codings
            ),
        )

    @admin.action(description="Assign to coders", permissions=["assign"])
    def assign_to_coders(
        self, request: HttpRequest, queryset: QuerySet[Classification]
    ) -> HttpResponse | None:
        form = AssignForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            coders = list(form.cleaned_data["coders"])
            created = coding_assignments_create(
                classification_ids=list(queryset.values_list("pk", flat=True)),
                coders=coders,
                assigned_by=admin_user(request),
            )
            self.message_user(
                request,
                f"{created} new assignments of {queryset.count()} answers to {len(coders)} coders.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Assign to coders",
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/classifier/assign_coders.html", context)


class AssignForm(forms.Form):
    coders = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True, is_staff=True).order_by("pk"),
        widget=forms.CheckboxSelectMultiple,
        help_text="Pick two coders to double-code the selected answers.",
    )


@admin.register(SurveyAudit)
class SurveyAuditAdmin(admin.ModelAdmin):
    """Each survey's audit per codebook: precision, its interval and the survey's threshold."""

    list_display = [
        "survey",
        "codebook",
        "status",
        "audited",
        "precision_display",
        "threshold_display",
        "updated_at",
    ]
    list_filter = ["codebook", "ready"]
    exclude = ["salt", "label_counts"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SurveyAudit]:
        return audits_for_user(user=request.user)

    # Like the review queue: survey roles decide, not Django model permissions.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and user_codes_anything(user=request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.has_module_permission(request):
            return False
        return obj is None or audits_for_user(user=request.user).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="labels")
    def status(self, obj: SurveyAudit) -> str:
        return audit_summary(survey_id=obj.survey_id, codebook=obj.codebook).status

    @admin.display(description="realised precision (95% interval, n)")
    def precision_display(self, obj: SurveyAudit) -> str:
        if obj.precision is None:
            return "—"
        return (
            f"{fmt(obj.precision, 2)} ({fmt(obj.precision_low, 2)}–{fmt(obj.precision_high, 2)}, "
            f"n={obj.auto_audited})"
        )

    @admin.display(description="threshold (one-sided 95% bound)")
    def threshold_display(self, obj: SurveyAudit) -> str:
        if obj.threshold is None:
            return "none reaches the target"
        return f"{fmt(obj.threshold)} ({fmt(obj.threshold_lower, 2)})"


@admin.register(HumanLabel)
class HumanLabelAdmin(admin.ModelAdmin):
    list_display = ["classification", "coder", "labels", "created_at"]
    list_filter = ["classification__codebook", "coder"]
    readonly_fields = ["classification", "coder", "labels", "note", "created_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CodingAssignment)
class CodingAssignmentAdmin(admin.ModelAdmin):
    list_display = ["classification", "coder", "assigned_by", "assigned_at"]
    list_filter = ["classification__codebook", "coder"]
    readonly_fields = ["classification", "coder", "assigned_by", "assigned_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
