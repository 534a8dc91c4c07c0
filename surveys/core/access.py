"""Who may do what with a survey: roles (owner, editor, coder, viewer) and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as UserModel
from django.db import transaction
from django.db.models import QuerySet

from surveys.models import AuditEntry, Survey, SurveyRole

Role = SurveyRole.Role

# What each role allows. Coders see only the answers assigned to them (the review queue).
PERMISSIONS: dict[str, set[str]] = {
    "view": {Role.OWNER, Role.EDITOR, Role.VIEWER},
    "export": {Role.OWNER, Role.EDITOR, Role.VIEWER},
    "statistics": {Role.OWNER, Role.EDITOR, Role.VIEWER, Role.CODER},
    "code": {Role.OWNER, Role.EDITOR, Role.CODER},
    "edit": {Role.OWNER, Role.EDITOR},
    "manage_roles": {Role.OWNER},
}

# The project keeps Django's default user model (no AUTH_USER_MODEL), as request.user is typed.
User = UserModel | AnonymousUser


class PermissionDenied(Exception):
    """The user has no role on the survey that allows this."""


def role_of(*, user: User, survey: Survey) -> str | None:
    """The user's role on `survey` (superusers act as owners), or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.OWNER
    role = SurveyRole.objects.filter(survey=survey, user=user).values_list("role", flat=True)
    return role.first()


def roles_of(*, user: User) -> list[tuple[Survey, str]]:
    """(survey, role) for every survey the user holds a role on (superusers: owner of all)."""
    if not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return [(survey, Role.OWNER) for survey in Survey.objects.order_by("slug")]
    held = SurveyRole.objects.filter(user=user).select_related("survey").order_by("survey__slug")
    return [(role.survey, role.role) for role in held]


def has_permission(*, user: User, survey: Survey, permission: str) -> bool:
    """True when the user's role on `survey` allows `permission` (see PERMISSIONS)."""
    role = role_of(user=user, survey=survey)
    return role is not None and role in PERMISSIONS[permission]


def reads_raw_answers(*, user: User, survey: Survey) -> bool:
    """True when the user may read `survey`'s raw responses, and so gets exact statistics.

    Everyone else (anonymous callers, coders, any role without "view") gets statistics under
    the rules that stop differencing (`surveys.statistics.differencing`).
    """
    return has_permission(user=user, survey=survey, permission="view")


def surveys_for(*, user: User, permission: str = "view") -> QuerySet[Survey]:
    """The surveys on which the user's role allows `permission`."""
    if not user.is_authenticated or not user.is_active:
        return Survey.objects.none()
    if user.is_superuser:
        return Survey.objects.all()
    return Survey.objects.filter(
        roles__user=user, roles__role__in=PERMISSIONS[permission]
    ).distinct()


def audit_record(
    *,
    actor: User | None,
    action: str,
    summary: str,
    survey: Survey | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry (who did what to which survey)."""
    real_actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=real_actor,
        actor_name=real_actor.get_username() if real_actor else "",
        survey=survey,
        survey_slug=survey.slug if survey else "",
        action=action,
        summary=summary[:300],
        details=details or {},
    )


@transaction.atomic
def role_set(*, actor: User, survey: Survey, user: UserModel, role: str | None) -> None:
    """Give `user` `role` on `survey` (None removes it); only owners may; audited.

    Raises PermissionDenied, or ValueError for an unknown role or removing the last owner.
    """
    if not has_permission(user=actor, survey=survey, permission="manage_roles"):
        raise PermissionDenied("Only the survey's owners can change its roles.")
    if role is not None and role not in Role.values:
        raise ValueError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    current = SurveyRole.objects.select_for_update().filter(survey=survey, user=user).first()
    owners = SurveyRole.objects.filter(survey=survey, role=Role.OWNER)
    if current and current.role == Role.OWNER and role != Role.OWNER and owners.count() == 1:
        raise ValueError("A survey needs at least one owner: add another owner first.")
    if role is None:
        if current:
            current.delete()
    else:
        SurveyRole.objects.update_or_create(survey=survey, user=user, defaults={"role": role})
    before = current.role if current else None
    audit_record(
        actor=actor,
        action=AuditEntry.Action.ROLE,
        survey=survey,
        summary=f"{user.get_username()}: {before or 'none'} → {role or 'none'}",
        details={"user": user.get_username(), "from": before, "to": role},
    )
