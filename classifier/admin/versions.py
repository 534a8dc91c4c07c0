"""Model versions (figures, activation) and the retrain / re-classify jobs started from them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from classifier.admin.common import admin_user, fmt
from classifier.models import Codebook, Job, ModelVersion
from classifier.training.holdout import version_worse_than_active
from classifier.training.jobs import job_start
from classifier.training.services import model_version_activate


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "is_active",
        "threshold_display",
        "macro_f1",
        "coverage",
        "realised_precision",
        "audit_accuracy",
        "audit_precision",
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
        return fmt(obj.threshold)

    @admin.display(description="macro-F1")
    def macro_f1(self, obj: ModelVersion) -> str:
        return fmt(obj.metrics.get("macro_f1"))

    @admin.display(description="coverage")
    def coverage(self, obj: ModelVersion) -> str:
        return fmt(obj.metrics.get("coverage"))

    @admin.display(description="realised precision")
    def realised_precision(self, obj: ModelVersion) -> str:
        return fmt(obj.metrics.get("realised_precision"))

    def _audit(self, obj: ModelVersion, key: str) -> str:
        part = (obj.metrics.get("audit") or {}).get(key) or {}
        if part.get("estimate") is None:
            return "—"
        interval = f"{fmt(part['low'], 2)}–{fmt(part['high'], 2)}"
        return f"{fmt(part['estimate'])} ({interval}, n={part['n']})"

    @admin.display(description="audit accuracy (95% interval)")
    def audit_accuracy(self, obj: ModelVersion) -> str:
        return self._audit(obj, "accuracy")

    @admin.display(description="audit precision at threshold (95% interval)")
    def audit_precision(self, obj: ModelVersion) -> str:
        return self._audit(obj, "precision")

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
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((k, fmt(v)) for k, v in rows)),
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
                    fmt(row.get("precision")),
                    fmt(row.get("recall")),
                    fmt(row.get("f1")),
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
    def activate(
        self, request: HttpRequest, queryset: QuerySet[ModelVersion]
    ) -> HttpResponse | None:
        per_codebook: dict[int, ModelVersion] = {}
        for version in queryset:
            if version.codebook_id in per_codebook:
                self.message_user(
                    request, "Select at most one version per codebook.", messages.ERROR
                )
                return None
            per_codebook[version.codebook_id] = version
        worse = [(v, version_worse_than_active(version=v)) for v in per_codebook.values()]
        worse = [(version, reason) for version, reason in worse if reason]
        if worse and "confirm" not in request.POST:
            return self._confirm_activate(request, queryset, worse)
        for version in per_codebook.values():
            model_version_activate(version=version, actor=admin_user(request))
            self.message_user(request, f"{version} is now active.", messages.SUCCESS)
        return None

    def _confirm_activate(
        self,
        request: HttpRequest,
        queryset: QuerySet[ModelVersion],
        worse: list[tuple[ModelVersion, str]],
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Activate a version that does worse on the audit sample?",
            "worse": worse,
            "queryset": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/classifier/confirm_activate.html", context)

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
            job = job_start(kind=kind, codebook=codebook, user=admin_user(request))
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
