"""The hand-off from a submitted response to classified rows, and the task guarantees around it."""

from __future__ import annotations

from datetime import timedelta

import kombu.exceptions
import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError
from django.utils import timezone

from classifier.coding import services as coding_services
from classifier.models import Classification, Codebook, HumanLabel, Job, ModelVersion
from classifier.runs import services as runs_services
from classifier.runs import tasks
from classifier.training import jobs
from classifier.training import selectors as training_selectors
from classifier.training import services as training_services
from surveys.models import Answer
from surveys.respondent.services import response_withdraw

pytestmark = pytest.mark.django_db

Status = Classification.Status
Review = Classification.ReviewStatus


def test_submitted_response_is_classified_under_every_active_codebook(submitted, active_models):
    response, _ = submitted()
    rows = Classification.objects.filter(answer__response=response)
    assert rows.count() == 4  # two classify answers x two codebooks with an active model
    for row in rows:
        assert row.status == Status.DONE
        assert row.attempts == 1
        assert row.model_version == active_models[row.codebook.slug]
        assert row.model_version is not None
        assert row.confidence is not None
        assert 0 <= row.confidence <= 1
        assert row.source == Classification.Source.MODEL
        expected = Review.AUTO_CODED if row.auto_coded else Review.NEEDS_REVIEW
        assert row.review_status == expected
        assert row.auto_coded == (
            not row.review_reason and row.confidence >= row.model_version.threshold
        )
        assert row.labels == row.model_labels
    change = rows.get(answer__question__code="change_text", codebook__slug="displacement-risk")
    assert change.labels == ["displaced"]


def test_no_rows_without_an_active_model(default_survey, django_capture_on_commit_callbacks):
    from tests.classifier.conftest import submit

    with django_capture_on_commit_callbacks(execute=True):
        response, _ = submit(default_survey, {"change_text": "I lost my clients"})
    assert not Classification.objects.filter(answer__response=response).exists()


def test_codebook_question_codes_limit_what_it_codes(submitted):
    Codebook.objects.filter(slug="concerns").update(question_codes=["protect_text"])
    response, _ = submitted()
    pairs = set(
        Classification.objects.filter(answer__response=response).values_list(
            "codebook__slug", "answer__question__code"
        )
    )
    assert ("concerns", "change_text") not in pairs
    assert ("concerns", "protect_text") in pairs


def test_routing_follows_the_version_threshold(submitted, active_models):
    response, _ = submitted()
    row = Classification.objects.get(
        answer__response=response,
        codebook__slug="displacement-risk",
        answer__question__code="change_text",
    )
    assert row.confidence is not None
    version = active_models["displacement-risk"]
    for threshold, review in [
        (row.confidence, Review.AUTO_CODED),  # at the threshold is auto-coded
        (min(1.0, row.confidence + 1e-6), Review.NEEDS_REVIEW),
        (0.0, Review.AUTO_CODED),
    ]:
        ModelVersion.objects.filter(pk=version.pk).update(threshold=threshold)
        Classification.objects.filter(pk=row.pk).update(status=Status.PENDING, attempts=0)
        tasks.classify_batch([row.pk])
        row.refresh_from_db()
        assert row.review_status == review, threshold
        assert row.auto_coded == (review == Review.AUTO_CODED)


def test_receiver_is_idempotent(submitted):
    response, _ = submitted()
    ids = list(response.answers.values_list("pk", flat=True))
    before = list(Classification.objects.order_by("pk").values_list("pk", "attempts", "status"))
    runs_services.classifications_create(answer_ids=ids)
    after = list(Classification.objects.order_by("pk").values_list("pk", "attempts", "status"))
    assert before == after


def test_task_run_twice_leaves_one_result(submitted):
    response, _ = submitted()
    ids = list(
        Classification.objects.filter(answer__response=response).values_list("pk", flat=True)
    )
    Classification.objects.filter(pk__in=ids).update(status=Status.PENDING, attempts=0)
    first = tasks.classify_batch(ids)
    second = tasks.classify_batch(ids)
    assert first["done"] == len(ids)
    assert second == {"claimed": 0, "done": 0, "failed": 0}
    assert set(Classification.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}
    assert Classification.objects.count() == 4


def test_a_retry_of_the_same_task_takes_over_its_claim(submitted):
    response, _ = submitted()
    row = Classification.objects.filter(answer__response=response).first()
    assert row is not None
    Classification.objects.filter(pk=row.pk).update(
        status=Status.RUNNING, claim_token="task-1", claimed_at=timezone.now(), attempts=1
    )
    assert runs_services.classification_run_batch(ids=[row.pk], token="another").claimed == 0
    assert runs_services.classification_run_batch(ids=[row.pk], token="task-1").done == 1


def test_human_label_is_never_overwritten(submitted, admin_user):
    response, _ = submitted()
    row = Classification.objects.get(
        answer__response=response,
        codebook__slug="displacement-risk",
        answer__question__code="change_text",
    )
    coding_services.classification_code(
        classification=row, coder=admin_user, labels=["augmentation"]
    )
    Classification.objects.filter(pk=row.pk).update(status=Status.PENDING)
    tasks.classify_batch([row.pk])
    job = jobs.job_start(kind=Job.Kind.RECLASSIFY, codebook=row.codebook, user=admin_user)
    tasks.reclassify_all(job.pk)
    row.refresh_from_db()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert row.labels == ["augmentation"]
    assert row.source == Classification.Source.CODER
    assert row.review_status == Review.REVIEWED
    assert row.model_labels == ["displaced"]  # the model's own output is kept beside it


def test_reclassify_all_reruns_model_rows_with_the_active_version(
    submitted, active_models, admin_user, django_capture_on_commit_callbacks
):
    _response, _ = submitted()
    codebook = Codebook.objects.get(slug="displacement-risk")
    old = active_models["displacement-risk"]
    new = ModelVersion.objects.create(
        codebook=codebook,
        version=2,
        artifact_path=old.artifact_path,
        checksum=old.checksum,
        threshold=0.0,
        metrics=old.metrics,
    )
    training_services.model_version_activate(version=new)
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_start(kind=Job.Kind.RECLASSIFY, codebook=codebook, user=admin_user)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.progress == 1.0
    rows = Classification.objects.filter(codebook=codebook)
    assert set(rows.values_list("model_version", flat=True)) == {new.pk}
    # A threshold of 0 auto-codes everything the model can read; the rest goes to review.
    for row in rows:
        expected = Review.NEEDS_REVIEW if row.review_reason else Review.AUTO_CODED
        assert row.review_status == expected


def test_transient_error_is_retried(submitted, monkeypatch):
    response, _ = submitted()
    ids = list(
        Classification.objects.filter(answer__response=response).values_list("pk", flat=True)
    )
    Classification.objects.filter(pk__in=ids).update(status=Status.PENDING, attempts=0)
    real = runs_services._predict
    calls = []

    def flaky(model, texts):
        calls.append(len(texts))
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(model, texts)

    monkeypatch.setattr(runs_services, "_predict", flaky)
    # throw=False: eager Celery re-raises a Retry instead of running it when errors propagate.
    result = tasks.classify_batch.apply(args=(ids,), throw=False)
    assert result.successful()
    assert len(calls) == 3  # the failed call, then both codebooks in the retry (same claim)
    assert set(Classification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.DONE
    }


def test_other_errors_are_not_retried(submitted, monkeypatch):
    response, _ = submitted()
    ids = list(
        Classification.objects.filter(answer__response=response).values_list("pk", flat=True)
    )
    calls = []

    def broken(**kwargs):
        calls.append(kwargs)
        raise ValueError("a bug")

    monkeypatch.setattr(runs_services, "classification_run_batch", broken)
    result = tasks.classify_batch.apply(args=(ids,), throw=False)
    assert result.failed() and isinstance(result.result, ValueError)
    assert len(calls) == 1


def test_a_bad_text_fails_alone_after_bounded_attempts(submitted, monkeypatch, settings, sweep):
    response, _ = submitted()
    rows = Classification.objects.filter(answer__response=response, codebook__slug="concerns")
    ids = list(rows.values_list("pk", flat=True))
    rows.update(status=Status.PENDING, attempts=0)
    bad = rows.get(answer__question__code="change_text")
    model_type = type(training_selectors.codebook_model(codebook=bad.codebook)[0])
    real_predict = model_type.predict

    def predict(self, texts):
        if bad.answer.text in texts:
            raise ValueError("cannot tokenise this text")
        return real_predict(self, texts)

    monkeypatch.setattr(model_type, "predict", predict)
    tasks.classify_batch(ids)
    for _ in range(settings.EXPOSURE_CLASSIFY_MAX_ATTEMPTS + 2):
        sweep()
    bad.refresh_from_db()
    assert bad.status == Status.FAILED
    assert bad.attempts == settings.EXPOSURE_CLASSIFY_MAX_ATTEMPTS
    assert "cannot tokenise this text" in bad.error
    good = Classification.objects.get(pk__in=ids, answer__question__code="protect_text")
    assert good.status == Status.DONE and good.attempts == 1 and good.error == ""


def test_missing_artifact_fails_rows_with_the_reason(submitted, active_models):
    response, _ = submitted()
    ModelVersion.objects.filter(pk=active_models["concerns"].pk).update(
        artifact_path="/nonexistent/concerns.joblib", checksum="x"
    )
    row = Classification.objects.filter(answer__response=response, codebook__slug="concerns")[0]
    Classification.objects.filter(pk=row.pk).update(status=Status.PENDING)
    tasks.classify_batch([row.pk])
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert "not found" in row.error


def test_sweep_requeues_pending_stuck_and_missing(submitted, settings, sweep):
    response, _ = submitted()
    rows = list(Classification.objects.filter(answer__response=response).order_by("pk"))
    old = timezone.now() - timedelta(seconds=settings.EXPOSURE_CLASSIFY_STALE_SECONDS + 5)
    lost, stuck, fresh, deleted = rows
    Classification.objects.filter(pk=lost.pk).update(status=Status.PENDING, updated_at=old)
    Classification.objects.filter(pk=stuck.pk).update(
        status=Status.RUNNING, claimed_at=old, claim_token="dead-worker"
    )
    Classification.objects.filter(pk=fresh.pk).update(
        status=Status.PENDING, updated_at=timezone.now()
    )
    Classification.objects.filter(pk=deleted.pk).delete()  # e.g. the broker was down at submit
    result = sweep()
    assert result["missing"] == 1 and result["pending"] == 1 and result["stuck"] == 1
    statuses = dict(Classification.objects.values_list("pk", "status"))
    assert statuses[lost.pk] == statuses[stuck.pk] == Status.DONE
    assert statuses[fresh.pk] == Status.PENDING  # younger than the grace period: still in flight
    assert Classification.objects.filter(answer__response=response).count() == 4


def test_broker_down_at_submit_does_not_fail_the_submit(
    default_survey, active_models, monkeypatch, django_capture_on_commit_callbacks, sweep
):
    from tests.classifier.conftest import submit

    def down(*args, **kwargs):
        raise kombu.exceptions.OperationalError(
            "Error 111 connecting to redis. Connection refused."
        )

    monkeypatch.setattr(tasks.classify_batch, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = submit(default_survey, {"change_text": "I lost my clients"})
    rows = Classification.objects.filter(answer__response=response)
    assert rows.count() == 2 and set(rows.values_list("status", flat=True)) == {Status.PENDING}
    monkeypatch.undo()
    rows.update(updated_at=timezone.now() - timedelta(minutes=5))
    sweep()
    assert set(rows.values_list("status", flat=True)) == {Status.DONE}


def test_withdrawal_deletes_classifications_and_labels(submitted, admin_user):
    response, receipt = submitted()
    row = Classification.objects.filter(answer__response=response).first()
    assert row is not None
    coding_services.classification_code(
        classification=row, coder=admin_user, labels=row.labels or []
    )
    coding_services.coding_assignments_create(classification_ids=[row.pk], coders=[admin_user])
    response_withdraw(receipt_code=receipt)
    assert not Answer.objects.filter(response_id=response.pk).exists()
    assert not Classification.objects.exists()
    assert not HumanLabel.objects.exists()


def test_coding_validates_codes(submitted):
    from classifier.errors import CodingError

    response, _ = submitted()
    coder = get_user_model().objects.create_user("coder", password="x")
    single = Classification.objects.filter(
        answer__response=response, codebook__slug="displacement-risk"
    ).first()
    assert single is not None
    with pytest.raises(CodingError):
        coding_services.classification_code(classification=single, coder=coder, labels=["nonsense"])
    with pytest.raises(CodingError):
        coding_services.classification_code(
            classification=single, coder=coder, labels=["displaced", "augmentation"]
        )
    multi = Classification.objects.filter(answer__response=response, codebook__slug="concerns")[0]
    coding_services.classification_code(
        classification=multi, coder=coder, labels=["skills", "income", "skills"]
    )
    multi.refresh_from_db()
    assert multi.labels == ["income", "skills"]  # codebook order, once each
