"""End to end on a real Celery worker: a submitted response ends classified in the database."""

from __future__ import annotations

import time

import pytest

from classifier.models import Classification
from tests.classifier.conftest import submit


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_submitted_response_is_classified_by_a_real_worker(
    celery_worker_process, shipped_codebooks, default_survey, active_models
):
    response, _ = submit(
        default_survey,
        {
            "change_text": "I lost my biggest client last year to AI generated video",
            "protect_text": "consent before cloning my voice",
        },
    )
    rows = Classification.objects.filter(answer__response=response)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if rows.count() == 4 and not rows.exclude(status=Classification.Status.DONE).exists():
            break
        time.sleep(0.25)
    states = list(rows.values_list("codebook__slug", "status", "error"))
    assert len(states) == 4, states
    assert all(status == "done" for _, status, _ in states), states
    for row in rows:
        assert row.model_version == active_models[row.codebook.slug]
        assert row.confidence is not None and row.review_status in {"auto_coded", "needs_review"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_draws_the_audit_sample_and_keeps_labels_provisional(
    celery_worker_process, shipped_codebooks, default_survey, active_models
):
    # The worker runs with the default settings: a survey's first EXPOSURE_AUDIT_MIN (100)
    # answers per codebook are all audit items, coded blind, none of them final.
    from classifier.models import SurveyAudit
    from classifier.training.codebooks import codebooks_install

    codebooks_install()  # each shipped codebook on its own question again
    response, _ = submit(default_survey, {"change_text": "the studio replaced my whole team"})
    rows = Classification.objects.filter(answer__response=response)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if rows.exists() and not rows.exclude(status=Classification.Status.DONE).exists():
            break
        time.sleep(0.25)
    states = list(rows.values_list("codebook__slug", "status", "audit", "review_status"))
    assert states == [("displacement-risk", "done", True, "needs_review")], states
    audit = SurveyAudit.objects.get(survey=default_survey, codebook__slug="displacement-risk")
    assert audit.salt and not audit.ready
