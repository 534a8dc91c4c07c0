"""Template tags of the researchers' workbench: the role model on the admin's first screen."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from surveys.core import access

register = template.Library()

Role = access.Role

# What each role allows, in words (the rules themselves: access.PERMISSIONS).
ROLE_SUMMARIES = [
    (Role.OWNER, _("everything an editor can, and give or take away roles on the survey")),
    (
        Role.EDITOR,
        _(
            "build and change the survey, open and close it, read responses and the dashboard, "
            "code answers, export"
        ),
    ),
    (Role.VIEWER, _("read responses, the dashboard and statistics, export")),
    (Role.CODER, _("code the answers assigned to them in the review queue; see statistics")),
]


@register.simple_tag
def workbench_roles(user: Any) -> dict[str, Any]:
    """The signed-in user's surveys with their role, and what each role may do."""
    labels = dict(Role.choices)
    held = [
        {
            "slug": survey.slug,
            "title": survey.text("title", translation.get_language() or survey.default_language),
            "role": labels[role],
            "url": reverse("admin:surveys_survey_change", args=[survey.pk]),
        }
        for survey, role in access.roles_of(user=user)
    ]
    summaries = [{"role": labels[role], "can": can} for role, can in ROLE_SUMMARIES]
    return {"held": held, "summaries": summaries, "superuser": bool(user.is_superuser)}
