"""Codebooks and their categories, with the agreement report between coders and the model."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from classifier.admin.common import fmt
from classifier.coding.selectors import codebook_agreement
from classifier.models import Category, Codebook
from classifier.training.selectors import codebook_active_version


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
        version = codebook_active_version(codebook=obj)
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
        result = codebook_agreement(codebook=codebook)
        pairs = [
            {
                "coder_a": pair.coder_a,
                "coder_b": pair.coder_b,
                "n": pair.n,
                "kappa": fmt(pair.kappa),
                "percent": fmt(pair.percent),
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
            "alpha": fmt(result.alpha),
            "alpha_units": result.alpha_units,
            "model_n": result.model_n,
            "model_kappa": fmt(result.model_kappa),
            "model_accuracy": fmt(result.model_accuracy),
        }
        return TemplateResponse(request, "admin/classifier/agreement.html", context)
