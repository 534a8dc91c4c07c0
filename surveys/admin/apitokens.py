"""API tokens in the admin: who holds one and until when; issuing one shows its secret once.

Replaces django-rest-knox's own admin, which lists the digests and leaves expiry to be typed in.
A token is never edited: delete it to revoke it, add one to issue it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from surveys.core.apitokens import api_token_issue

admin.site.unregister(AuthToken)


class IssueTokenForm(forms.ModelForm):
    lifetime_hours = forms.IntegerField(
        min_value=1,
        max_value=24 * 366,
        help_text="How long the token works; the default is EXPOSURE_API_TOKEN_TTL_HOURS.",
    )

    class Meta:
        model = AuthToken
        fields = ["user"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lifetime_hours"].initial = settings.EXPOSURE_API_TOKEN_TTL_HOURS


SHOWN = ("user", "token_key", "created", "expiry")
ISSUE = ("user", "lifetime_hours")


@admin.register(AuthToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "token_key", "created", "expiry", "state"]
    list_select_related = ["user"]
    search_fields = ["user__username", "token_key"]
    readonly_fields = SHOWN
    fields = SHOWN
    raw_id_fields = ["user"]
    ordering = ["-created"]

    @admin.display(description="state")
    def state(self, obj: AuthToken) -> str:
        return "expired" if obj.expiry and obj.expiry < timezone.now() else "valid"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = IssueTokenForm
            kwargs["fields"] = ISSUE
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ISSUE if obj is None else SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else SHOWN

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token is issued or revoked, never edited

    def save_model(self, request: HttpRequest, obj: AuthToken, form: Any, change: bool) -> None:
        hours = form.cleaned_data["lifetime_hours"]
        issued = api_token_issue(user=obj.user, ttl=timedelta(hours=hours))
        for field in ("digest", "token_key", "created", "expiry"):
            setattr(obj, field, getattr(issued.record, field))
        obj._state.adding, obj._state.db = False, issued.record._state.db
        # Kept on the request, not on this admin (one instance serves every thread).
        request.api_token_issued = issued  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: AuthToken, post_url_continue: Any = None
    ) -> TemplateResponse:
        # The secret goes into this page only: not into a message, which may travel in a cookie.
        issued = request.api_token_issued  # type: ignore[attr-defined]
        context = {
            **self.admin_site.each_context(request),
            "title": "API token issued",
            "holder": obj.user,
            "token": issued.token,
            "expiry": issued.expiry,
            "list_url": reverse("admin:knox_authtoken_changelist"),
        }
        return TemplateResponse(request, "admin/knox/authtoken/issued.html", context)
