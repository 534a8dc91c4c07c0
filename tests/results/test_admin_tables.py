"""Choosing the public results page's tables in the survey builder (owners only)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.admin.forms import ResultsTablesField, SurveyAdminForm
from surveys.models import Survey, SurveyRole


def _form(survey: Survey, tables: str) -> SurveyAdminForm:
    data = {
        "slug": survey.slug,
        "title_en": "T",
        "title_zh-hans": "T",
        "consent_text_en": "C",
        "consent_text_zh-hans": "C",
        "languages": ["en", "zh-hans"],
        "default_language": "en",
        "min_cell_size": "10",
        "public_statistics": "on",
        "results_tables": tables,
    }
    form = SurveyAdminForm(data=data, instance=survey)
    return form


@pytest.mark.django_db
def test_lines_become_tables_and_read_back(default_survey):
    form = _form(default_survey, "lost_work\n\nlost_work by employment_type\n")
    assert form.is_valid(), form.errors
    survey = form.save()
    assert survey.results_tables == [
        {"variable": "lost_work"},
        {"variable": "lost_work", "by": "employment_type"},
    ]
    assert survey.results_published
    shown = SurveyAdminForm(instance=survey)["results_tables"].value()
    assert shown == "lost_work\nlost_work by employment_type"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tables", "complaint"),
    [
        ("no_such_variable", "Unknown variable"),
        ("change_text", "text variable"),
        ("years_experience", "not categorical"),
        ("lost_work by lost_work", "different variable"),
        ("lost_work\nlost_work", "listed twice"),
        ("lost_work per country", "one variable"),
    ],
)
def test_tables_the_statistics_cannot_count_are_refused(default_survey, tables, complaint):
    form = _form(default_survey, tables)
    assert not form.is_valid()
    assert complaint in " ".join(str(error) for error in form.errors["results_tables"])


@pytest.mark.django_db
def test_only_owners_choose_the_tables(default_survey, django_user_model, client):
    editor = django_user_model.objects.create_user("ed", password="x" * 20, is_staff=True)
    SurveyRole.objects.create(survey=default_survey, user=editor, role="editor")
    client.force_login(editor)
    page = client.get(f"/admin/surveys/survey/{default_survey.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Public results page" in html
    assert 'name="results_tables"' not in html  # read-only for editors


NAME = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True).filter(lambda n: n != "by")


@given(st.lists(st.tuples(NAME, st.one_of(st.none(), NAME)), max_size=6))
def test_the_lines_read_back_as_written(tables: list[tuple[str, str | None]]) -> None:
    field = ResultsTablesField(required=False)
    stored = [{"variable": v, **({"by": b} if b else {})} for v, b in tables]
    assert field.to_python(field.prepare_value(stored)) == stored
