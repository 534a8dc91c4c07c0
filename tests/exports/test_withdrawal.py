"""A withdrawn response leaves no export behind: files written before it are deleted."""

from __future__ import annotations

from django.test import Client

from surveys.models import ExportJob, Page
from surveys.respondent import services
from tests.exports.conftest import ENGLISH_ANSWERS, client_for, downloaded, unzip


def _respond_with_receipt(survey, answers):  # type: ignore[no-untyped-def]
    response, _token = services.response_start(survey=survey, language="en")
    for page in Page.objects.filter(survey=survey).order_by("position"):
        codes = set(page.questions.values_list("code", flat=True))
        values = {code: services.PageValue(v) for code, v in answers.items() if code in codes}
        if values:
            response = services.response_save_page(
                response=response, page=page, values=values, seconds=30
            )
    return services.response_complete(response=response)


def _withdraw(receipt: str, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        page = Client(REMOTE_ADDR="2001:db8::77").post(
            "/withdraw/", {"receipt": receipt, "confirm": "on"}
        )
    assert page.status_code == 200, page.content[:300]
    assert b"cannot be recalled" in page.content


def test_withdrawal_deletes_export_files_written_before(  # type: ignore[no-untyped-def]
    population, people, run_export, export_dir, django_capture_on_commit_callbacks
):
    receipt = _respond_with_receipt(population.survey, ENGLISH_ANSWERS)
    job = run_export(people.viewer, population.survey, format="csv")
    assert job.status == ExportJob.Status.DONE, job.error
    path = export_dir / job.file
    assert path.is_file()
    assert unzip(downloaded(client_for(people.viewer).get(f"/exports/{job.pk}/download/")))

    _withdraw(receipt, django_capture_on_commit_callbacks)

    assert not path.exists()
    job.refresh_from_db()
    assert job.status == ExportJob.Status.WITHDRAWN and job.file == ""
    answer = client_for(people.viewer).get(f"/exports/{job.pk}/download/")
    assert answer.status_code == 410
    assert answer["Content-Type"].startswith("text/plain")
    assert (
        "withdrew" in answer.content.decode() and "request a new export" in answer.content.decode()
    )
    # A new export is written without the withdrawn response.
    again = run_export(people.viewer, population.survey, format="csv")
    assert again.status == ExportJob.Status.DONE and again.rows_done == 2


def test_withdrawal_page_says_what_cannot_be_recalled(client):  # type: ignore[no-untyped-def]
    page = client.get("/withdraw/")
    assert b"cannot be recalled" in page.content
    chinese = client.get("/withdraw/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "无法收回".encode() in chinese.content


def test_a_withdrawal_during_a_run_leaves_no_file(  # type: ignore[no-untyped-def]
    population, people, export_dir, django_capture_on_commit_callbacks
):
    from surveys.exports import jobs as export_jobs
    from surveys.exports import services as export_services

    receipt = _respond_with_receipt(population.survey, ENGLISH_ANSWERS)
    job = export_services.export_request(user=people.viewer, survey=population.survey, format="sav")
    assert export_jobs._claim(job_id=job.pk, token="writer") is not None
    _withdraw(receipt, django_capture_on_commit_callbacks)
    # The run that read the rows before the withdrawal lost its claim: it keeps no file.
    assert export_services.export_run(job_id=job.pk, token="writer") is None
    job.refresh_from_db()
    assert job.status == ExportJob.Status.WITHDRAWN
    assert not export_dir.exists() or list(export_dir.iterdir()) == []
