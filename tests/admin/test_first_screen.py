"""What a researcher sees first: the site's own name, their surveys and roles, the role model."""

from __future__ import annotations

import html
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from surveys.core import access
from surveys.models import AuditEntry, SurveyRole


def _researcher(tmp_path) -> tuple[object, str]:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("create_researcher", "--credentials-file", str(tmp_path / "c.txt"), stdout=out)
    password = re.search(r"password '([^']+)'", out.getvalue())
    assert password, out.getvalue()
    return get_user_model().objects.get(username="researcher"), password.group(1)


@pytest.mark.django_db
def test_the_researcher_account_owns_the_default_survey_and_is_no_superuser(
    tmp_path, default_survey
):
    user, _password = _researcher(tmp_path)
    assert user.is_staff and not user.is_superuser
    assert access.role_of(user=user, survey=default_survey) == SurveyRole.Role.OWNER
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ROLE)
    assert "researcher account set up" in entry.summary
    # Again (make run is idempotent): no second role, no second audit entry.
    _researcher(tmp_path)
    assert SurveyRole.objects.filter(user=user).count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ROLE).count() == 1


@pytest.mark.django_db
def test_an_earlier_superuser_researcher_becomes_an_owner(tmp_path, default_survey):
    get_user_model().objects.create_superuser("researcher", password="old-password-1")
    user, _password = _researcher(tmp_path)
    assert not user.is_superuser
    assert access.role_of(user=user, survey=default_survey) == SurveyRole.Role.OWNER


@pytest.mark.django_db
def test_without_the_default_survey_the_account_is_still_created(tmp_path):
    user, _password = _researcher(tmp_path)
    assert user.is_staff and not SurveyRole.objects.exists()


@pytest.mark.django_db
def test_an_unknown_survey_is_a_command_error(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No survey with the slug 'nope'"):
        call_command(
            "create_researcher", "--owner-of", "nope", "--credentials-file", str(tmp_path / "c")
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "header", "roles"),
    [
        ("en", "Exposure research workbench", "What each role may do"),
        ("zh-hans", "Exposure 研究工作台", "各角色可以做什么"),
    ],
)
def test_the_first_screen(tmp_path, default_survey, language, header, roles):
    _user, password = _researcher(tmp_path)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username="researcher", password=password)
    page = client.get("/admin/")
    assert page.status_code == 200
    body = html.unescape(page.content.decode())
    assert header in body
    assert "Django administration" not in body and "Django 管理" not in body
    assert roles in body
    # Their survey and role, above the models; no account administration for a researcher.
    assert default_survey.slug in body
    assert body.index("workbench-roles") < body.index('class="app-surveys')
    assert "/admin/auth/user/" not in body and "/admin/authtoken/" not in body


@pytest.mark.django_db
def test_the_researcher_manages_codebooks_and_models_through_its_group(tmp_path):
    user, password = _researcher(tmp_path)
    assert user.groups.filter(name="Researchers").exists()
    client = Client()
    assert client.login(username="researcher", password=password)
    for url in ["/admin/classifier/codebook/", "/admin/classifier/modelversion/"]:
        assert client.get(url).status_code == 200, url
    # Accounts stay with operators (a superuser made with createsuperuser).
    assert client.get("/admin/auth/user/").status_code == 403
