"""Researcher and coder screens: review queue, coding form, agreement, model versions, jobs."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from classifier import selectors, services
from classifier.errors import CodingError
from classifier.models import (
    Category,
    Classification,
    Codebook,
    CodingAssignment,
    HumanLabel,
    Job,
    ModelVersion,
)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


# --- codebooks and agreement ---------------------------------------------------------------------


class CategoryInline(admin.TabularInline):
    model = Category
    extra = 0
    fields = ["position", "code", "label", "definition", "examples"]


@admin.register(Codebook)
class CodebookAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_en", "multilabel", "target_precision", "active_version", "links"]
    search_fields = ["slug"]
    inlines = [CategoryInline]

    @admin.display(description="name")
    def name_en(self, obj: Codebook) -> str:
        return obj.text("name")

    @admin.display(description="active model")
    def active_version(self, obj: Codebook) -> str:
        version = selectors.codebook_active_version(codebook=obj)
        return str(version) if version else "—"

    @admin.display(description="")
    def links(self, obj: Codebook) -> str:
        return format_html(
            '<a href="{}">agreement</a>',
            reverse("admin:classifier_codebook_agreement", args=[obj.pk]),
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/agreement/",
                self.admin_site.admin_view(self.agreement_view),
                name="classifier_codebook_agreement",
            ),
            *super().get_urls(),
        ]

    def agreement_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        codebook = get_object_or_404(Codebook, pk=pk)
        result = selectors.codebook_agreement(codebook=codebook)
        pairs = [
            {
                "coder_a": pair.coder_a,
                "coder_b": pair.coder_b,
                "n": pair.n,
                "kappa": _fmt(pair.kappa),
                "percent": _fmt(pair.percent),
            }
            for pair in result.pairs
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Agreement: {codebook.text('name')}",
            "codebook": codebook,
            "coders": result.coders,
            "pairs": pairs,
            "alpha": _fmt(result.alpha),
            "alpha_units": result.alpha_units,
            "model_n": result.model_n,
            "model_kappa": _fmt(result.model_kappa),
            "model_accuracy": _fmt(result.model_accuracy),
        }
        return TemplateResponse(request, "admin/classifier/agreement.html", context)


# --- the review queue and the coding form --------------------------------------------------------


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
        labels = mine.labels if mine else self.instance.labels
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
        "status",
        "source",
        "model_version",
    ]
    list_display_links = ["id", "answer_excerpt"]
    list_filter = [
        ReviewStatusFilter,
        "codebook",
        LabelFilter,
        ("answer__response__survey", admin.RelatedOnlyFieldListFilter),
        ("answer__question", admin.RelatedOnlyFieldListFilter),
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Classification]:
        queryset = (
            super()
            .get_queryset(request)
            .select_related(
                "answer", "answer__question", "codebook", "model_version", "model_version__codebook"
            )
        )
        return queryset.filter(
            pk__in=selectors.classifications_for_user(user=request.user).values("pk")
        )

    # Survey roles, not Django model permissions, decide who codes: a coder needs no extra setup.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_staff and selectors.user_codes_anything(user=request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_code(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_code(request, obj)

    def _may_code(self, request: HttpRequest, obj: Any) -> bool:
        if not (request.user.is_staff and selectors.user_codes_anything(user=request.user)):
            return False
        if obj is None:
            return True
        return selectors.classifications_for_user(user=request.user).filter(pk=obj.pk).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # rows go with their answer (withdrawal), never one by one

    def has_assign_permission(self, request: HttpRequest) -> bool:
        return selectors.user_reviews_all(user=request.user)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change=change, **kwargs)
        return type("CodingFormFor", (form,), {"coder": request.user})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            services.classification_code(
                classification=obj,
                coder=request.user,
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

    @admin.display(description="labels")
    def labels_display(self, obj: Classification) -> str:
        return ", ".join(obj.labels) or "—"

    @admin.display(description="confidence", ordering="confidence")
    def confidence_display(self, obj: Classification) -> str:
        return _fmt(obj.confidence)

    @admin.display(description="model output")
    def model_output(self, obj: Classification) -> str:
        if obj.model_version is None:
            return "not classified yet"
        threshold = obj.model_version.threshold
        return (
            f"{', '.join(obj.model_labels) or '(no code)'} at confidence {_fmt(obj.confidence)} "
            f"({obj.model_version}, auto-codes at ≥ {_fmt(threshold)})"
        )

    @admin.display(description="human codings")
    def human_codings(self, obj: Classification) -> str:
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
            created = services.coding_assignments_create(
                classification_ids=list(queryset.values_list("pk", flat=True)),
                coders=coders,
                assigned_by=request.user,
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


# --- model versions and jobs ---------------------------------------------------------------------


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "is_active",
        "threshold_display",
        "macro_f1",
        "coverage",
        "realised_precision",
        "training_size",
        "created_at",
    ]
    list_filter = ["codebook", "is_active"]
    actions = ["activate", "retrain", "reclassify_all"]
    readonly_fields = [
        "codebook",
        "version",
        "is_active",
        "threshold",
        "training_size",
        "trained_from",
        "trained_by",
        "sklearn_version",
        "artifact_path",
        "checksum",
        "created_at",
        "summary",
        "metrics_table",
        "confusion_matrix",
    ]
    exclude = ["metrics"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # versions are immutable records; the page is read-only

    @admin.display(description="threshold")
    def threshold_display(self, obj: ModelVersion) -> str:
        return _fmt(obj.threshold)

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: ModelVersion) -> str:
        return _fmt(obj.metrics.get("macro_f1"))

    @admin.display(description="coverage")
    def coverage(self, obj: ModelVersion) -> str:
        return _fmt(obj.metrics.get("coverage"))

    @admin.display(description="realised precision")
    def realised_precision(self, obj: ModelVersion) -> str:
        return _fmt(obj.metrics.get("realised_precision"))

    @admin.display(description="cross-validated summary")
    def summary(self, obj: ModelVersion) -> str:
        m = obj.metrics
        rows = [
            ("texts", m.get("n")),
            ("folds", m.get("folds")),
            ("accuracy", m.get("accuracy")),
            ("macro-F1", m.get("macro_f1")),
            ("Cohen's kappa", m.get("cohen_kappa")),
            ("target precision", m.get("target_precision")),
            ("coverage at target", m.get("coverage")),
            ("realised precision", m.get("realised_precision")),
            ("threshold note", m.get("threshold_note")),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "", "<tr><th>{}</th><td>{}</td></tr>", ((k, _fmt(v)) for k, v in rows)
            ),
        )

    @admin.display(description="per category")
    def metrics_table(self, obj: ModelVersion) -> str:
        per_class = obj.metrics.get("per_class") or {}
        if not per_class:
            return "—"
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    code,
                    _fmt(row.get("precision")),
                    _fmt(row.get("recall")),
                    _fmt(row.get("f1")),
                    row.get("support", ""),
                )
                for code, row in per_class.items()
            ),
        )
        return format_html(
            "<table><thead><tr><th>category</th><th>precision</th><th>recall</th><th>F1</th>"
            "<th>support</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.display(description="confusion matrix")
    def confusion_matrix(self, obj: ModelVersion) -> str:
        cm = obj.metrics.get("confusion_matrix") or {}
        labels, matrix = cm.get("labels") or [], cm.get("matrix") or []
        if not labels or not matrix:
            return "—"
        if obj.codebook.multilabel:
            # Per label: [[tn, fp], [fn, tp]].
            body = format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (label, cell[1][1], cell[0][1], cell[1][0], cell[0][0])
                    for label, cell in zip(labels, matrix, strict=False)
                ),
            )
            return format_html(
                "<table><thead><tr><th>label</th><th>true pos.</th><th>false pos.</th>"
                "<th>false neg.</th><th>true neg.</th></tr></thead><tbody>{}</tbody></table>",
                body,
            )
        head = format_html_join("", "<th>{}</th>", ((label,) for label in labels))
        body = format_html_join(
            "",
            "<tr><th>{}</th>{}</tr>",
            (
                (label, format_html_join("", "<td>{}</td>", ((value,) for value in row)))
                for label, row in zip(labels, matrix, strict=False)
            ),
        )
        return format_html(
            "<table><thead><tr><th>true \\ predicted</th>{}</tr></thead><tbody>{}</tbody></table>",
            head,
            body,
        )

    @admin.action(description="Activate the selected version")
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        per_codebook: dict[int, ModelVersion] = {}
        for version in queryset:
            if version.codebook_id in per_codebook:
                self.message_user(
                    request, "Select at most one version per codebook.", messages.ERROR
                )
                return
            per_codebook[version.codebook_id] = version
        for version in per_codebook.values():
            services.model_version_activate(version=version)
            self.message_user(request, f"{version} is now active.", messages.SUCCESS)

    @admin.action(description="Retrain (seed corpus + human labels; new version, not activated)")
    def retrain(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._start_jobs(request, queryset, Job.Kind.RETRAIN)

    @admin.action(description="Re-classify everything with the active model")
    def reclassify_all(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        self._start_jobs(request, queryset, Job.Kind.RECLASSIFY)

    def _start_jobs(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion], kind: str
    ) -> None:
        codebooks = Codebook.objects.filter(versions__in=queryset).distinct()
        for codebook in codebooks:
            job = services.job_start(kind=kind, codebook=codebook, user=request.user)
            url = reverse("admin:classifier_job_change", args=[job.pk])
            self.message_user(
                request,
                format_html('Started <a href="{}">{}</a>.', url, str(job)),
                messages.SUCCESS,
            )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "codebook",
        "status",
        "progress_display",
        "message",
        "error",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status", "codebook"]
    readonly_fields = [
        "kind",
        "codebook",
        "status",
        "progress",
        "options",
        "message",
        "error",
        "model_version",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
    ]
    exclude = ["task_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="progress")
    def progress_display(self, obj: Job) -> str:
        return f"{obj.progress:.0%}"
