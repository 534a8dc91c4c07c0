"""New model versions are measured on the audit sample; activating a worse one asks first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from classifier.coding.services import classification_code
from classifier.models import Classification, Codebook, ModelVersion
from classifier.training.services import model_version_train

pytestmark = pytest.mark.django_db

VERSIONS = reverse("admin:classifier_modelversion_changelist")


def _measured(estimate: float) -> dict:
    part = {"n": 2, "estimate": estimate, "low": 0.0, "high": 1.0}
    return {"n": 2, "accuracy": part, "precision": part, "coverage": 1.0}


@pytest.fixture
def audited(settings, submitted, admin_user):
    """Two coded audit items per codebook (both codebooks code both questions here)."""
    settings.EXPOSURE_AUDIT_SHARE = 1.0
    submitted()
    for row in Classification.objects.all():
        classification_code(classification=row, coder=admin_user, labels=row.model_labels)


def test_a_new_version_reports_its_metrics_on_the_audit_sample(audited):
    book = Codebook.objects.get(slug="displacement-risk")
    version = model_version_train(codebook=book)
    audit = version.metrics["audit"]
    assert audit["n"] == 2
    assert 0 <= audit["accuracy"]["estimate"] <= 1
    assert audit["accuracy"]["low"] <= audit["accuracy"]["estimate"] <= audit["accuracy"]["high"]


def test_activating_a_worse_version_needs_confirmation(audited, active_models, admin_client):
    old = active_models["displacement-risk"]
    old.metrics = {**old.metrics, "audit": _measured(1.0)}
    old.save()
    worse = ModelVersion.objects.create(
        codebook=old.codebook,
        version=2,
        artifact_path=old.artifact_path,
        checksum=old.checksum,
        threshold=old.threshold,
        metrics={**old.metrics, "audit": _measured(0.5)},
    )
    action = {"action": "activate", "_selected_action": [worse.pk]}
    page = admin_client.post(VERSIONS, action)
    assert page.status_code == 200
    assert "does worse on the audit sample" in page.content.decode()
    assert "accuracy on the audit sample 0.500 &lt; 1.000" in page.content.decode()
    worse.refresh_from_db()
    assert not worse.is_active
    done = admin_client.post(VERSIONS, {**action, "confirm": "1"})
    assert done.status_code == 302
    worse.refresh_from_db()
    assert worse.is_active


def test_a_better_version_activates_without_asking(audited, active_models, admin_client):
    old = active_models["displacement-risk"]
    old.metrics = {**old.metrics, "audit": _measured(0.5)}
    old.save()
    better = ModelVersion.objects.create(
        codebook=old.codebook,
        version=2,
        artifact_path=old.artifact_path,
        checksum=old.checksum,
        threshold=old.threshold,
        metrics={**old.metrics, "audit": _measured(1.0)},
    )
    done = admin_client.post(VERSIONS, {"action": "activate", "_selected_action": [better.pk]})
    assert done.status_code == 302
    better.refresh_from_db()
    assert better.is_active


def test_reclassifying_rescores_the_coded_audit_with_the_active_model(
    audited, active_models, admin_user, django_capture_on_commit_callbacks
):
    from classifier.models import Job, SurveyAudit
    from classifier.training import jobs
    from classifier.training.services import model_version_activate

    book = Codebook.objects.get(slug="displacement-risk")
    coded = Classification.objects.filter(codebook=book, audit=True, source="coder")
    before = dict(coded.values_list("pk", "labels"))
    coded.update(confidence=0.01, model_labels=["uncodeable"])  # scores of an older model
    old = active_models["displacement-risk"]
    new = ModelVersion.objects.create(
        codebook=book,
        version=2,
        artifact_path=old.artifact_path,
        checksum=old.checksum,
        threshold=old.threshold,
        metrics=old.metrics,
    )
    model_version_activate(version=new)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_start(kind=Job.Kind.RECLASSIFY, codebook=book, user=admin_user)
    assert dict(coded.values_list("pk", "labels")) == before  # the human codes stay
    assert set(coded.values_list("model_version", flat=True)) == {new.pk}
    assert all(c > 0.01 for c in coded.values_list("confidence", flat=True))
    audit = SurveyAudit.objects.get(codebook=book)
    assert audit.audited == coded.count()
