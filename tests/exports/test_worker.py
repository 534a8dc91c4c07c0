"""End to end on a real Celery worker (serving the "exports" queue): an XLSX export is written."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings

from surveys.exports import services as export_services
from surveys.models import ExportJob
from tests.exports.conftest import FORMULA, client_for, downloaded


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_xlsx_export_on_a_real_worker(celery_worker_process, population, people):  # type: ignore[no-untyped-def]
    job = export_services.export_request(
        user=people.viewer, survey=population.survey, format="xlsx", labels=False
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in {ExportJob.Status.DONE, ExportJob.Status.FAILED}:
            break
        time.sleep(0.25)
    assert job.status == ExportJob.Status.DONE, (job.status, job.error)
    path = Path(settings.EXPORT_DIR) / job.file
    try:
        assert job.rows_done == 2 and job.attempts == 1
        assert path.is_file() and path.stat().st_size == job.size
        result = client_for(people.viewer).get(f"/exports/{job.pk}/download/")
        assert result.status_code == 200
        sheets = pd.read_excel(io.BytesIO(downloaded(result)), sheet_name=None, engine="openpyxl")
        assert len(sheets["data"]) == 2
        assert "'" + FORMULA in sheets["data"]["change_text"].tolist()
        assert "cls_change_text_displacement_risk" in sheets["data"].columns
        assert not sheets["codebook"].empty
    finally:
        path.unlink(missing_ok=True)
