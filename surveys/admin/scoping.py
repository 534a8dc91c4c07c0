"""Role scoping shared by every survey-owned model of the workbench, and the deletion guards.

A staff user's role on a survey (surveys.core.access), not Django's model permissions, decides what
they may see and do: owners everything including roles, editors the survey's content and its
opening and closing, viewers read only, coders nothing beyond the classifier's review queue.
Superusers act as owners of every survey.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import Http404, HttpRequest, HttpResponse

from surveys.core.access import has_permission, surveys_for
from surveys.core.i18n import translate
from surveys.definitions.selectors import choice_answer_count
from surveys.models import Answer, Page, Response, Survey

ADMIN_CSS = {"all": ["surveys/admin.css"]}


def is_staff(request: HttpRequest) -> bool:
    """The user may enter the workbench at all (what they see there depends on their roles)."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def english(texts: Any, survey: Survey | None = None) -> str:
    """A translation dict in English, else in the survey's default language."""
    return translate(texts, "en", survey.default_language if survey else "en")


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
        if not is_staff(request):
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
        return is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None and self.list_for_every_researcher:
            return is_staff(request)  # the list is narrowed by get_queryset
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
        if not is_staff(request):
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
            if not (self.can_delete and self._marked_for_deletion(form)) or not form.instance.pk:
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

    @staticmethod
    def _marked_for_deletion(form: forms.BaseForm) -> bool:
        # The test of Django's BaseFormSet._should_delete_form, which is not public API.
        return bool(form.cleaned_data.get(DELETION_FIELD_NAME, False))


class AnsweredChoiceGuard(forms.BaseInlineFormSet):
    """Keeps choices and matrix rows that respondents chose: no deleting them, no new code.

    Exports label every stored code with its choice, so an answered choice is hidden from new
    respondents instead (its "hidden" box); its label may still be reworded.
    """

    def clean(self) -> None:
        for form in self.forms:
            instance = form.instance
            if not instance.pk or not hasattr(form, "cleaned_data"):
                continue
            deleting = self.can_delete and AnsweredDeletionGuard._marked_for_deletion(form)
            recoded = "code" in form.changed_data
            unspecified = "is_other" in form.changed_data and not form.cleaned_data.get("is_other")
            if not (deleting or recoded or unspecified):
                continue
            original = type(instance).objects.get(pk=instance.pk)
            count = choice_answer_count(question=original.question, code=original.code)
            if count and unspecified and not (deleting or recoded):
                form.add_error(
                    "is_other",
                    f"“{original.code}” was chosen in {count} answer(s) that may have specified "
                    "it: it stays a please-specify choice, so exports keep those texts.",
                )
                continue
            if count and deleting:
                raise forms.ValidationError(
                    f"“{original.code}” cannot be deleted: {count} answer(s) chose it, and exports "
                    "label those answers with it. Tick “hidden” to stop offering it instead.",
                    code="answered",
                )
            if count:
                form.add_error(
                    "code",
                    f"“{original.code}” was chosen in {count} answer(s): its code cannot change "
                    "(the label can).",
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
            tests = Response.all_objects.filter(survey=obj, is_test=True).count()
            if tests:
                lines.append(
                    f"Survey “{obj.slug}” has {tests} test response(s): delete them on the "
                    "survey's page first."
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
