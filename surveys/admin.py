from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from surveys.models import Answer, Choice, Invitation, MatrixRow, Page, Question, Response, Survey
from surveys.services import invitations_create


class PageInline(admin.TabularInline):
    model = Page
    extra = 0
    fields = ["position", "code", "title", "condition"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["slug", "status", "opens_at", "closes_at", "invitation_only"]
    list_filter = ["status", "invitation_only"]
    search_fields = ["slug"]
    inlines = [PageInline]
    actions = ["create_invitations"]

    @admin.action(description="Create 20 single-use invitation links (shown once)")
    def create_invitations(self, request: HttpRequest, queryset) -> HttpResponse | None:  # type: ignore[no-untyped-def]
        for survey in queryset:
            links = [
                request.build_absolute_uri(
                    reverse("surveys:landing", args=[survey.slug]) + f"?invitation={token}"
                )
                for token in invitations_create(survey=survey, count=20)
            ]
            response = HttpResponse("\n".join(links) + "\n", content_type="text/plain")
            response["Content-Disposition"] = (
                f'attachment; filename="{survey.slug}-invitations.txt"'
            )
            return response
        self.message_user(request, "Select a survey.", messages.WARNING)
        return None


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


class MatrixRowInline(admin.TabularInline):
    model = MatrixRow
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["code", "survey", "page", "position", "type", "required", "classify"]
    list_filter = ["survey", "type", "classify"]
    search_fields = ["code"]
    inlines = [ChoiceInline, MatrixRowInline]


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    can_delete = False
    fields = ["question", "row", "choice", "choices", "number", "boolean", "text"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["public_id", "survey", "language", "status", "started_at", "submitted_at"]
    list_filter = ["survey", "status", "language"]
    search_fields = ["public_id"]
    readonly_fields = [
        "public_id",
        "survey",
        "language",
        "status",
        "started_at",
        "submitted_at",
        "current_page",
        "page_seconds",
    ]
    exclude = ["resume_hash", "resume_expires_at", "receipt_hash"]
    inlines = [AnswerInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["survey", "created_at", "used_at"]
    list_filter = ["survey"]
    readonly_fields = ["token_hash", "used_at"]
