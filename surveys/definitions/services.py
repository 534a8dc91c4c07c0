"""Researchers' changes to whole surveys: ownership, duplication, opening and closing (audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from surveys.analytics.services import analytics_ensure
from surveys.core import access
from surveys.definitions.transfer import (
    survey_export_definition,
    survey_import,
    validate_definition,
)
from surveys.models import AuditEntry, Page, Question, Survey, SurveyRole

Role = SurveyRole.Role
_SLUG_MAX = Survey._meta.get_field("slug").max_length or 80


def audit_survey_change(
    *, actor: Any, survey: Survey, summary: str, details: dict[str, Any] | None = None
) -> AuditEntry:
    """Record a change to a survey (settings, status, duplication) in the audit log."""
    return access.audit_record(
        actor=actor,
        action=AuditEntry.Action.SURVEY,
        survey=survey,
        summary=summary,
        details=details,
    )


def survey_make_owner(*, survey: Survey, user: Any, reason: str = "created the survey") -> None:
    """Make `user` an owner of `survey`: its creator, or the set-up's researcher (audited)."""
    SurveyRole.objects.update_or_create(survey=survey, user=user, defaults={"role": Role.OWNER})
    access.audit_record(
        actor=user,
        action=AuditEntry.Action.ROLE,
        survey=survey,
        summary=f"{user.get_username()}: none → owner ({reason})",
        details={"user": user.get_username(), "from": None, "to": Role.OWNER},
    )


def survey_problems(*, survey: Survey) -> list[str]:
    """What would stop `survey` from being a valid definition (empty when it can be opened)."""
    return validate_definition(survey_export_definition(survey=survey))


def _copy_slug(slug: str) -> str:
    n = 1
    while True:
        suffix = "-copy" if n == 1 else f"-copy-{n}"
        candidate = slug[: _SLUG_MAX - len(suffix)] + suffix
        if not Survey.objects.filter(slug=candidate).exists():
            return candidate
        n += 1


@transaction.atomic
def survey_duplicate(*, survey: Survey, actor: Any) -> Survey:
    """A draft copy of `survey`'s questionnaire and settings (no responses), owned by `actor`.

    Raises DefinitionError when the survey's definition is not importable.
    """
    definition = survey_export_definition(survey=survey)
    definition["slug"] = _copy_slug(survey.slug)
    definition["status"] = Survey.Status.DRAFT
    copy = survey_import(definition=definition)
    copy.min_cell_size = survey.min_cell_size
    copy.save(update_fields=["min_cell_size"])
    survey_make_owner(survey=copy, user=actor)
    audit_survey_change(
        actor=actor,
        survey=copy,
        summary=f"Duplicated {survey.slug} as {copy.slug}",
        details={"source": survey.slug},
    )
    return copy


class StatusError(ValueError):
    """The survey cannot move to that status; `problems` says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@transaction.atomic
def survey_set_status(*, survey: Survey, actor: Any, status: str) -> Survey:
    """Open or close `survey` (audited); opening needs a definition without problems."""
    if status not in (Survey.Status.OPEN, Survey.Status.CLOSED):
        raise StatusError([f"Unknown status {status!r}."])
    survey = Survey.objects.select_for_update().get(pk=survey.pk)
    if survey.status == status:
        raise StatusError([f"The survey is {survey.get_status_display().lower()} already."])
    if status == Survey.Status.OPEN and (problems := survey_problems(survey=survey)):
        raise StatusError(problems)
    before = survey.status
    survey.status = status
    survey.save(update_fields=["status", "updated_at"])
    if status == Survey.Status.OPEN:
        analytics_ensure(survey=survey)  # its store, so that statistics skip the answers table
    verb = "Opened" if status == Survey.Status.OPEN else "Closed"
    audit_survey_change(
        actor=actor,
        survey=survey,
        summary=f"{verb} survey {survey.slug}",
        details={"from": before, "to": status},
    )
    return survey


class MoveError(ValueError):
    """A page or question that cannot move that way (already first or last, or not found)."""


@transaction.atomic
def survey_move(*, survey: Survey, kind: str, pk: int, direction: str) -> None:
    """Swap a page of `survey` (or a question within its page) with its neighbour up or down.

    Raises MoveError when there is no such item or no neighbour in that direction.
    """
    siblings: QuerySet[Any]
    if kind == "page":
        siblings = Page.objects.filter(survey=survey)
    elif kind == "question":
        question = Question.objects.filter(survey=survey, pk=pk).first()
        if question is None:
            raise MoveError("There is no such question in this survey.")
        siblings = Question.objects.filter(page_id=question.page_id)
    else:
        raise MoveError("Move a page or a question.")
    before = set(survey_problems(survey=survey))
    _swap(list(siblings.select_for_update().order_by("position")), kind, pk, direction)
    broken = [p for p in survey_problems(survey=survey) if p not in before]
    if broken:  # raised inside the transaction: the swap is undone
        raise MoveError(f"The {kind} was not moved: skip logic would break: {broken[0]}")


def _swap(ordered: list[Any], kind: str, pk: int, direction: str) -> None:
    index = next((i for i, item in enumerate(ordered) if item.pk == pk), None)
    if index is None:
        raise MoveError(f"There is no such {kind} in this survey.")
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(ordered):
        raise MoveError(f"The {kind} is already the {'first' if direction == 'up' else 'last'}.")
    first, second = ordered[index], ordered[other]
    # Positions are unique: park one past the end while the two change places.
    parked, target = ordered[-1].position + 1, second.position
    second.position = parked
    second.save(update_fields=["position"])
    second.position, first.position = first.position, target
    first.save(update_fields=["position"])
    second.save(update_fields=["position"])
