"""Invitations, roles and the audit log: read-only lists (roles change on each survey's page)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from surveys.admin.scoping import ReadOnlyScopedAdmin
from surveys.models import AuditEntry, Invitation, SurveyRole


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyScopedAdmin):
    list_display = ["survey", "created_at", "used_at"]
    list_filter = [("survey", admin.RelatedOnlyFieldListFilter)]
    fields = readonly_fields = ("survey", "created_at", "used_at")


@admin.register(SurveyRole)
class SurveyRoleAdmin(ReadOnlyScopedAdmin):
    """Who holds which role; changed on each survey's roles page (audited, keeps an owner)."""

    view_permission = "manage_roles"
    list_display = ["survey", "user", "role", "created_at", "edit_link"]
    list_filter = ["role", ("survey", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "survey__slug"]
    fields = readonly_fields = ("survey", "user", "role", "created_at")
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
    fields = readonly_fields = (
        "created_at",
        "actor_name",
        "survey_slug",
        "action",
        "summary",
        "details",
    )
