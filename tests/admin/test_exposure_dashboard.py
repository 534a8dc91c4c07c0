"""The dashboard's task-exposure table: respondents' means by occupation beside the reference."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.admin.conftest import answer, make_responses

pytestmark = pytest.mark.django_db


def _code_tasks(responses, codes: list[str]) -> None:  # type: ignore[no-untyped-def]
    from classifier.models import Classification, Codebook
    from classifier.training.codebooks import codebooks_install

    codebooks_install()
    book = Codebook.objects.get(slug="task-exposure")
    for response in responses:
        for row, code in enumerate(codes, start=1):
            line = answer(response, "main_tasks", row=str(row), text=f"task {row}")
            Classification.objects.create(
                answer=line, codebook=book, status="done", labels=[code], confidence=0.9
            )


def test_dashboard_shows_exposure_beside_the_reference(survey, accounts):  # type: ignore[no-untyped-def]
    responses = make_responses(survey, 30)  # ten each: actors, graphic designers, directors
    _code_tasks(responses, ["E1", "E2", "E0", "E0"])
    page = accounts.client("viewer").get(reverse("admin:surveys_dashboard", args=[survey.pk]))
    assert page.status_code == 200
    exposure = page.context["data"].exposure
    groups = {group["code"]: group for group in exposure["groups"]}
    actors = groups["2655"]
    assert actors["respondents"]["beta"]["mean"] == pytest.approx((1 + 0.5) / 4)
    assert actors["respondents"]["alpha"]["n"] == 10
    assert actors["reference"]["gamma"] == pytest.approx(0.1875)  # 27-2011.00 Actors
    body = page.content.decode()
    assert "Task exposure to language models, by occupation" in body
    assert '0.38 <span class="ci">' in body  # beta = 0.375, rounded half up


def test_without_coded_tasks_every_group_shows_only_its_reference(survey, accounts):  # type: ignore[no-untyped-def]
    make_responses(survey, 3)
    page = accounts.client("viewer").get(reverse("admin:surveys_dashboard", args=[survey.pk]))
    assert page.status_code == 200
    groups = page.context["data"].exposure["groups"]
    assert groups and all(g["respondents"]["beta"]["mean"] is None for g in groups)
    assert all(g["reference"] is not None for g in groups if g["code"] != "other")


def test_dashboard_flags_provisional_codes_and_shows_the_audit_corrected_means(survey, accounts):  # type: ignore[no-untyped-def]
    from classifier.models import Classification, Codebook
    from classifier.training.codebooks import codebooks_install
    from tests.classifier.factories import ModelVersionFactory

    codebooks_install()
    book = Codebook.objects.get(slug="task-exposure")
    version = ModelVersionFactory(codebook=book, threshold=0.8, is_active=True)
    for n, response in enumerate(make_responses(survey, 30)):
        for row, code in enumerate(["E1", "E2", "E0", "E0"], start=1):
            line = answer(response, "main_tasks", row=str(row), text=f"task {row}")
            audited = row == 3  # the audit: a coder says E1 for half of these E0 tasks
            human = "E1" if n % 2 == 0 else "E0"
            Classification.objects.create(
                answer=line,
                codebook=book,
                status="done",
                model_version=version,
                model_labels=[code],
                labels=[human if audited else code],
                confidence=0.9,
                audit=audited,
                source="coder" if audited else "model",
                review_status="reviewed" if audited else "provisional",
            )
    page = accounts.client("viewer").get(reverse("admin:surveys_dashboard", args=[survey.pk]))
    exposure = page.context["data"].exposure
    # Model alpha 1/4 per respondent, corrected by the audit's mean error of +0.5.
    assert exposure["corrected"]["alpha"]["mean"] == pytest.approx(0.75)
    assert exposure["overall"]["alpha"]["mean"] == pytest.approx((0.5 + 0.25) / 2)
    actors = next(group for group in exposure["groups"] if group["code"] == "2655")
    assert actors["corrected"]["alpha"]["mean"] == pytest.approx(0.75)
    assert actors["provisional"] == {"share": pytest.approx(0.75), "any": True}
    body = page.content.decode()
    assert "75% of the coded tasks carry a <strong>provisional</strong> code" in body
    assert "Audit-corrected means" in body and "audited=10" in body
