"""Exports have a queue and a worker of their own: a long export never holds up classification."""

from __future__ import annotations

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from surveys.exports import services as export_services
from surveys.models import ExportJob, SurveyRole
from tests.faults.conftest import wait_until
from tests.faults.helpers import assert_each_classified_once, respond, settled

pytestmark = pytest.mark.worker

ROWS = 4  # two classify answers x two codebooks with an active model
# Long exports may run longer than the fault tests' 30 s visibility timeout allows.
EXPORTER = {"CELERY_VISIBILITY_TIMEOUT": "600", "EXPOSURE_EXPORT_TIME_LIMIT": "300"}


def _export_waiting_on_its_row() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            ["%surveys_exportjob%"],
        )
        return bool(cursor.fetchone()[0])


def test_a_long_export_does_not_hold_up_classification(
    cluster, fault_db, probe_models, default_survey
):
    probe = probe_models()
    classifier = cluster.worker("classify", queues="default")
    earlier = [respond(default_survey, n) for n in range(3)]
    wait_until(lambda: settled(earlier, per_response=ROWS), what="the first answers", logs=cluster)
    viewer = get_user_model().objects.create_user("faults-viewer", password="a long pass phrase 1")
    SurveyRole.objects.create(survey=default_survey, user=viewer, role=SurveyRole.Role.VIEWER)
    job = export_services.export_request(user=viewer, survey=default_survey, format="csv")
    # The export's job row is held by another transaction: the exports worker takes the task and
    # then waits for as long as the test wants, which stands in for an export of hours.
    with psycopg.connect(fault_db) as holder:
        holder.execute("SELECT id FROM surveys_exportjob WHERE id = %s FOR UPDATE", [job.pk])
        exporter = cluster.worker("exporter", queues="exports", extra=EXPORTER)
        wait_until(_export_waiting_on_its_row, what="the export is under way", logs=cluster)
        later = [respond(default_survey, n) for n in range(3, 9)]
        wait_until(
            lambda: settled(later, per_response=ROWS),
            what="answers classified while the export runs",
            logs=cluster,
        )
        job.refresh_from_db()
        assert job.status == ExportJob.Status.PENDING  # still in its worker's hands
        holder.rollback()
    wait_until(
        lambda: ExportJob.objects.get(pk=job.pk).status == ExportJob.Status.DONE,
        what="the export finishes once released",
        logs=cluster,
    )
    assert_each_classified_once([*earlier, *later], probe.predictions(), per_response=ROWS)
    assert set(probe.workers()) == {"classify"}
    # Which worker ran what ("name[task id] received"; the start-up banner lists names only).
    assert "surveys.tasks.export_run[" in exporter.text()
    assert "classifier.tasks.classify_batch[" not in exporter.text()
    assert "surveys.tasks.export_run[" not in classifier.text()
