"""A batch's results are stored together, under the claim's guards, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from classifier.coding import services as coding_services
from classifier.models import Classification, Codebook
from classifier.pipeline import UNREADABLE
from classifier.runs import services as runs_services
from classifier.runs import tasks
from classifier.training import selectors as training_selectors
from surveys.models import Question
from tests.factories import AnswerFactory, ResponseFactory

pytestmark = pytest.mark.django_db

Status = Classification.Status
Review = Classification.ReviewStatus

TEXTS = [
    "I lost my biggest client last year to AI generated video",
    "consent before cloning my voice",
    "the tools can already do the core of my job and rates will fall",
    "I use these tools every day for previs and they speed me up",
    "they trained on my portfolio without asking",
    "no idea",
    "my craft is hand built puppets and physical sets",
    'it\'s "fine"; the carbon footprint of data centres worries me',
]


def _pending(survey, count: int) -> list[int]:
    """Pending rows (answers x active codebooks) for `count` submitted answers, not yet run."""
    questions = list(Question.objects.filter(page__survey=survey, classify=True).order_by("pk"))
    answer_ids = [
        AnswerFactory.create(
            response=ResponseFactory(survey=survey, complete=True),
            question=questions[n % len(questions)],
            text=TEXTS[n % len(TEXTS)],
        ).pk
        for n in range(count)
    ]
    # Created outside any on-commit capture: the queued tasks never run, the rows stay pending.
    return runs_services.classifications_create(answer_ids=answer_ids)


def test_every_row_of_a_batch_gets_its_own_prediction(default_survey, active_models):
    ids = _pending(default_survey, 12)
    assert len(ids) == 24  # two codebooks
    result = tasks.classify_batch(ids)
    assert result == {"claimed": 24, "done": 24, "failed": 0}
    models = {
        slug: training_selectors.model_version_load(version=version)
        for slug, version in active_models.items()
    }
    rows = Classification.objects.filter(pk__in=ids).select_related("answer", "codebook")
    for row in rows:
        expected = models[row.codebook.slug].predict([row.answer.text])[0]
        version = active_models[row.codebook.slug]
        assert row.status == Status.DONE and row.error == "" and row.claim_token == ""
        assert row.labels == row.model_labels == list(expected.labels)
        assert row.confidence == pytest.approx(expected.confidence)
        assert row.model_version_id == version.pk
        # The guard's reason (a text the model cannot read) holds whatever the threshold.
        assert row.review_reason == (expected.reason if expected.reason in UNREADABLE else "")
        assert row.auto_coded == (not row.review_reason and row.confidence >= version.threshold)
        assert row.review_status == (Review.AUTO_CODED if row.auto_coded else Review.NEEDS_REVIEW)
        assert row.attempts == 1


def test_rows_changed_during_the_prediction_are_not_overwritten(
    default_survey, active_models, admin_user, monkeypatch
):
    ids = _pending(default_survey, 4)
    rows = Classification.objects.filter(pk__in=ids, codebook__slug="displacement-risk")
    coded, taken, *others = list(rows.order_by("pk"))
    model_type = type(training_selectors.model_version_load(version=active_models["concerns"]))
    real_predict = model_type.predict

    def predict(self, texts):
        # While the batch predicts, a coder codes one row and another delivery takes over one.
        if not Classification.objects.filter(pk=coded.pk, source="coder").exists():
            coding_services.classification_code(
                classification=coded, coder=admin_user, labels=["augmentation"]
            )
            Classification.objects.filter(pk=taken.pk).update(claim_token="another-delivery")
        return real_predict(self, texts)

    monkeypatch.setattr(model_type, "predict", predict)
    tasks.classify_batch(ids)
    coded.refresh_from_db()
    taken.refresh_from_db()
    assert coded.labels == ["augmentation"] and coded.source == Classification.Source.CODER
    assert coded.review_status == Review.REVIEWED and coded.model_version is None
    assert taken.status == Status.RUNNING and taken.claim_token == "another-delivery"
    assert taken.confidence is None  # left to the delivery that holds the claim
    for row in others:
        row.refresh_from_db()
        assert row.status == Status.DONE and row.confidence is not None


def test_failed_texts_keep_their_own_errors_beside_the_done_ones(
    default_survey, active_models, monkeypatch
):
    ids = _pending(default_survey, 8)
    model_type = type(training_selectors.model_version_load(version=active_models["concerns"]))
    real_predict = model_type.predict
    bad = {TEXTS[0]: "first broken text", TEXTS[1]: "second broken text"}

    def predict(self, texts):
        for text in texts:
            if text in bad:
                raise ValueError(bad[text])
        return real_predict(self, texts)

    monkeypatch.setattr(model_type, "predict", predict)
    result = tasks.classify_batch(ids)
    assert result == {"claimed": 16, "done": 12, "failed": 4}
    failed = Classification.objects.filter(pk__in=ids, status=Status.FAILED)
    assert {(row.answer.text, row.error) for row in failed} == {
        (text, f"ValueError: {message}") for text, message in bad.items()
    }
    assert set(failed.values_list("claim_token", flat=True)) == {""}
    assert Classification.objects.filter(pk__in=ids, status=Status.DONE).count() == 12


def test_a_batch_delivered_twice_is_stored_once(default_survey, active_models):
    ids = _pending(default_survey, 6)
    first = tasks.classify_batch(ids)
    stored = list(Classification.objects.filter(pk__in=ids).values_list("pk", "updated_at"))
    second = tasks.classify_batch(ids)
    assert first["done"] == 12 and second == {"claimed": 0, "done": 0, "failed": 0}
    assert list(Classification.objects.filter(pk__in=ids).values_list("pk", "updated_at")) == (
        stored
    )


def test_the_sweep_sends_a_pending_row_again_only_once_per_grace_period(
    default_survey, active_models, settings, monkeypatch, django_capture_on_commit_callbacks
):
    ids = _pending(default_survey, 3)
    sent: list[list[int]] = []
    # A broker that accepts and keeps the tasks (a backlog): the rows stay pending meanwhile.
    monkeypatch.setattr(
        tasks.classify_batch, "apply_async", lambda args, **kwargs: sent.append(args[0])
    )
    old = timezone.now() - timedelta(seconds=settings.EXPOSURE_CLASSIFY_PENDING_GRACE + 5)
    Classification.objects.filter(pk__in=ids).update(updated_at=old)

    def sweep() -> list[int]:
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            runs_services.classifications_sweep()
        return sorted(pk for batch in sent for pk in batch)

    assert sweep() == sorted(ids)  # lost on the way to the broker: sent again
    assert sweep() == []  # just sent: the queue holds them, the next sweeps leave them
    assert sweep() == []
    settings.EXPOSURE_CLASSIFY_PENDING_GRACE = 0  # the grace since that send has run out
    assert sweep() == sorted(ids)
    assert set(Classification.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.PENDING
    }


def test_rows_of_a_codebook_without_an_active_model_fail_together(default_survey, active_models):
    ids = _pending(default_survey, 3)
    active_models["concerns"].is_active = False
    active_models["concerns"].save()
    result = tasks.classify_batch(ids)
    assert result == {"claimed": 6, "done": 3, "failed": 3}
    failed = Classification.objects.filter(pk__in=ids, status=Status.FAILED)
    assert set(failed.values_list("codebook__slug", flat=True)) == {"concerns"}
    assert all("no active model" in error for error in failed.values_list("error", flat=True))
    assert (
        Codebook.objects.get(slug="concerns").classifications.filter(status=Status.DONE).count()
        == 0
    )


def test_a_batch_moves_its_surveys_statistics_on(default_survey, active_models):
    from surveys.analytics.selectors import statistics_version
    from surveys.statistics.guarded import statistics_publish
    from surveys.statistics.requests import statistics_request_build

    ids = _pending(default_survey, 12)
    variable = "cls_change_text_displacement_risk"
    request = statistics_request_build(survey=default_survey, variable=variable, k=5)
    before = statistics_publish(request=request, exact=True)  # cached, nothing coded yet
    version = statistics_version(survey_id=default_survey.pk)
    tasks.classify_batch(ids)
    assert statistics_version(survey_id=default_survey.pk) > version
    after = statistics_publish(request=request, exact=True)
    assert after != before  # computed again: the categories are there now
